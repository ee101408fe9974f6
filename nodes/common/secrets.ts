import { createHash, randomBytes, timingSafeEqual } from 'crypto';

/** Compares two secrets in constant time (also when their lengths differ). */
export function secretsEqual(given: string | undefined | null, expected: string | undefined | null): boolean {
	if (typeof given !== 'string' || typeof expected !== 'string' || expected === '') return false;
	const a = createHash('sha256').update(given).digest();
	const b = createHash('sha256').update(expected).digest();
	return timingSafeEqual(a, b);
}

/** An unguessable URL-safe secret (for webhook paths). */
export function newSecret(bytes = 24): string {
	return randomBytes(bytes).toString('base64url');
}

/** A stable, non-reversible fingerprint of a secret, for cache keys (never the secret itself). */
export function fingerprint(...parts: string[]): string {
	return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
