/**
 * Cuts credentials out of text a server sent back (error pages, WAF block pages, error descriptions) and out of
 * URLs, before that text goes into an error message, an item or a log: an error page may echo the request path
 * (an inbound webhook's secret code) or the whole URI with its query (an access token, a session ID).
 */

export const REDACTED = '***';

/** The forms a secret may take in a URL or a form body: as it is, percent-encoded (either hex case), form-encoded. */
function formsOf(secret: string): string[] {
	const encoded = encodeURIComponent(secret);
	const forms = [secret, encoded, encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()), new URLSearchParams({ s: secret }).toString().slice(2)];
	return [...new Set(forms)];
}

/**
 * Replaces every non-empty secret of `secrets` (and its URL-encoded forms) in `text` with `***`. Longer secrets go
 * first, so a secret that contains another one is cut whole.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
	let out = String(text ?? '');
	if (!out) return out;
	const forms = new Set<string>();
	for (const secret of secrets) if (typeof secret === 'string' && secret !== '') for (const form of formsOf(secret)) forms.add(form);
	for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(REDACTED);
	return out;
}
