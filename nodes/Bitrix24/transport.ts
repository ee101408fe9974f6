import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';
import { crmApiError, crmCodeOf, settle, UnknownOutcomeError } from '../common/errors';
import { encodePhpForm } from '../common/formBody';
import type { CrmContext, HttpCall, HttpReply, HttpSend } from '../common/http';
import { normalizeBaseUrl, sendWith } from '../common/http';
import { parseJson } from '../common/json';
import type { RateLimit } from '../common/rateLimiter';
import { rateLimiterFor, shareOf } from '../common/rateLimiter';
import { redactSecrets } from '../common/redact';
import { isConnectionDropped, isConnectionRefused, withRetry } from '../common/retry';

/**
 * The only code that speaks HTTP to Bitrix24: inbound-webhook and OAuth addressing, the
 * `{result,total,next,time}` envelope, `{error,error_description}` errors, `batch`, the portal's leaky
 * bucket shared by every node and execution in the process, and retries that are safe.
 */

export type Bitrix24Authentication = 'webhook' | 'oAuth2';

export function credentialTypeOf(authentication: Bitrix24Authentication): string {
	return authentication === 'oAuth2' ? 'bitrix24OAuth2Api' : 'bitrix24WebhookApi';
}

/**
 * Bitrix24's documented leaky bucket per portal is 2 requests/s drain, 50 burst (Enterprise: 5/s, 250). Our
 * bucket keeps 10% of the burst free: the portal's bucket is also filled by other apps and by clock skew
 * between its counting and ours (without the margin, the benchmark saw a 503 at the exact bound).
 */
export const BITRIX24_RATES: Record<string, RateLimit> = {
	standard: { perSecond: 2, burst: 45 },
	enterprise: { perSecond: 5, burst: 225 },
};

/** The most commands one `batch` call may carry. */
export const BATCH_LIMIT = 50;

/** Rows per page of every Bitrix24 list method. */
export const PAGE_SIZE = 50;

/** How long a method's spent time budget (429 OPERATION_TIME_LIMIT) is waited out before giving up. */
const MAX_TIME_LIMIT_WAIT_MS = 60_000;

export interface Bitrix24Reply<T = unknown> {
	result: T;
	total?: number;
	next?: number;
	time?: IDataObject;
}

export interface BatchCommand {
	method: string;
	params?: IDataObject;
	/** A ready query string (lets user-given commands carry `$result[...]` references untouched). */
	query?: string;
}

export interface BatchCommandError {
	error: string;
	error_description: string;
}

export interface BatchReply {
	result: Record<string, unknown>;
	errors: Record<string, BatchCommandError>;
	total: Record<string, number>;
	next: Record<string, number>;
	/** Each command's `time` block (its method's `operating`, `operating_reset_at`…). */
	time: Record<string, IDataObject>;
}

const WEBHOOK_URL = /^(https?:\/\/[^?#]+?)\/rest\/(\d+)\/([A-Za-z0-9_-]+)\/?$/;

export interface Bitrix24Endpoint {
	authentication: Bitrix24Authentication;
	/** Where method names are appended: `https://portal/rest/1/code/` or `https://portal/rest/`. */
	restBase: string;
	/** The portal's origin; identifies the rate-limit bucket. */
	portal: string;
	rate: RateLimit;
}

export function bitrix24Endpoint(authentication: Bitrix24Authentication, raw: ICredentialDataDecryptedObject): Bitrix24Endpoint {
	const rate = shareOf(BITRIX24_RATES[String(raw.plan ?? 'standard')] ?? BITRIX24_RATES.standard, raw.processes);
	if (authentication === 'webhook') {
		const url = String(raw.webhookUrl ?? '').trim();
		const match = WEBHOOK_URL.exec(url);
		if (!match) {
			throw new Error('The Bitrix24 webhook URL must look like https://yourcompany.bitrix24.com/rest/1/abc123def456/ (portal, "rest", user ID, code)');
		}
		const portal = normalizeBaseUrl(match[1]);
		return { authentication, restBase: `${portal}/rest/${match[2]}/${match[3]}/`, portal, rate };
	}
	const portal = normalizeBaseUrl(String(raw.portalUrl ?? ''));
	return { authentication, restBase: `${portal}/rest/`, portal, rate };
}

/** Errors Bitrix24 gives before doing anything: safe to wait out and send again, also for writes. */
const REFUSED_BEFORE_ACTING = new Set(['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT']);

/**
 * How long to wait for a method's operating-time window. `operating_reset_at` is a Unix time in whole seconds
 * (cut, not rounded): the window moves on within the second after it, so the wait lasts to that second's end.
 * Without it, 10 s; always 1 s to MAX_TIME_LIMIT_WAIT_MS.
 */
function operatingWaitMs(resetAt: number | undefined): number {
	if (resetAt === undefined || !Number.isFinite(resetAt)) return 10_000;
	const until = (Number.isInteger(resetAt) ? resetAt + 1 : resetAt) * 1000;
	return Math.min(MAX_TIME_LIMIT_WAIT_MS, Math.max(1000, until - Date.now()));
}

/** A batch command refused before acting (nothing done): safe to resend after waiting, also a write. */
export function isRefusedCommand(error: Partial<BatchCommandError> | undefined): boolean {
	return !!error && REFUSED_BEFORE_ACTING.has(String(error.error ?? ''));
}

const BATCH_REFERENCE = /\$result/i;

/**
 * Bitrix24 replaces `$result[key]…` (and `$result_error`, `$result_total`… ) references inside `batch` commands
 * after decoding their parameters; there is no escape. A command whose method name, keys or values contain such
 * text must be sent as a direct call, or its values are silently rewritten.
 */
export function breaksInBatch(value: unknown, depth = 0): boolean {
	if (typeof value === 'string') return BATCH_REFERENCE.test(value);
	if (depth > 32 || value === null || typeof value !== 'object') return false;
	if (Array.isArray(value)) return value.some((item) => breaksInBatch(item, depth + 1));
	return Object.entries(value as IDataObject).some(([key, item]) => BATCH_REFERENCE.test(key) || breaksInBatch(item, depth + 1));
}

/**
 * How many times refused commands are waited out and resent while no command gets through (like the transport's 6
 * attempts of a refused request); then the refusals are the commands' errors. Any progress starts the count anew.
 */
const MAX_REFUSED_ROUNDS = 5;

/**
 * Errors built from a Bitrix24 REST envelope (`{error, error_description}`), with the envelope's words: only
 * these are Bitrix24's own answers (a web server's 404 page saying "Not Found" is not).
 */
const envelopeErrors = new WeakMap<object, { code: string; description: string }>();

/** Method/event "not found" is about the call, not about a record. */
const CALL_NOT_FOUND = /METHOD_NOT_FOUND|EVENT_NOT_FOUND/i;

/** Did Bitrix24 itself answer that a record was not found (`"error": ""` / `NOT_FOUND`, "Not found")? */
export function isNotFoundAnswer(error: unknown): boolean {
	const envelope = error && typeof error === 'object' ? envelopeErrors.get(error) : undefined;
	if (!envelope || CALL_NOT_FOUND.test(envelope.code)) return false;
	return envelope.code.toUpperCase() === 'NOT_FOUND' || /not found/i.test(envelope.description);
}

class RetryableReply extends Error {
	constructor(
		readonly reply: HttpReply,
		readonly code: string,
		readonly afterMs?: number,
	) {
		super(code);
	}
}

function httpStatusOf(error: unknown): number | undefined {
	let current: unknown = error;
	for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
		const candidate = current as { httpCode?: unknown; statusCode?: unknown; response?: { status?: unknown } };
		const status = Number(candidate.httpCode ?? candidate.statusCode ?? candidate.response?.status);
		if (Number.isFinite(status) && status > 0) return status;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

/** The URL of the request that failed, as axios keeps it in the error chain (n8n wraps the axios error). */
function requestUrlOf(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
		const url = (current as { config?: { url?: unknown } }).config?.url;
		if (typeof url === 'string') return url;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

const originOf = (url: string | undefined) => (url && URL.canParse(url) ? new URL(url).origin : undefined);

export class Bitrix24Client {
	constructor(
		private readonly ctx: CrmContext | undefined,
		private readonly send: HttpSend,
		readonly endpoint: Bitrix24Endpoint,
		private readonly node: INode,
	) {
		// The inbound webhook's code is part of every request path.
		if (endpoint.authentication === 'webhook') this.addSecrets(/\/rest\/\d+\/([^/]+)\/$/.exec(endpoint.restBase)?.[1]);
	}

	static async fromContext(ctx: CrmContext, authentication?: Bitrix24Authentication): Promise<Bitrix24Client> {
		const auth = authentication ?? ((ctx.getNodeParameter('authentication', 0, 'webhook') as Bitrix24Authentication) || 'webhook');
		const raw = await ctx.getCredentials(credentialTypeOf(auth));
		const client = new Bitrix24Client(ctx, sendWith(ctx), bitrix24Endpoint(auth, raw), ctx.getNode());
		const tokens = raw.oauthTokenData as IDataObject | undefined;
		if (auth === 'oAuth2') client.addSecrets(raw.clientSecret, tokens?.access_token, tokens?.refresh_token);
		return client;
	}

	/** Calls one REST method. `writes` decides what may be resent after a failure (see retry rules). */
	async call<T = unknown>(method: string, params: IDataObject = {}, writes = false): Promise<Bitrix24Reply<T>> {
		const reply = await this.exchange(method, params, writes);
		return reply.body as Bitrix24Reply<T>;
	}

	/** Up to 50 commands in one request, counted once by the bucket; `halt=false` runs all of them. */
	async batch(commands: Record<string, BatchCommand>, writes: boolean, halt = false): Promise<BatchReply> {
		const keys = Object.keys(commands);
		if (keys.length > BATCH_LIMIT) throw new Error(`A Bitrix24 batch takes at most ${BATCH_LIMIT} commands (got ${keys.length})`);
		const cmd: Record<string, string> = {};
		for (const key of keys) {
			const { method, params, query } = commands[key];
			const encoded = query ?? encodePhpForm(params ?? {});
			cmd[key] = encoded ? `${method}?${encoded}` : method;
		}
		const { result } = await this.call<IDataObject>('batch', { halt: halt ? 1 : 0, cmd }, writes);
		// PHP sends an object whose keys are 0..n as a JSON array: keys "0", "1" must keep their results.
		const asRecord = <V>(value: unknown): Record<string, V> =>
			Array.isArray(value) ? Object.fromEntries(value.map((v, i) => [String(i), v as V])) : value && typeof value === 'object' ? (value as Record<string, V>) : {};
		return {
			result: asRecord(result?.result),
			errors: asRecord(result?.result_error),
			total: asRecord(result?.result_total),
			next: asRecord(result?.result_next),
			time: asRecord(result?.result_time),
		};
	}

	/** A batch command's error as the node shows it. */
	commandError(method: string, error: { error?: unknown; error_description?: unknown }) {
		return this.envelopeError(error.error, error.error_description, 'ERROR', 'the command failed', undefined, ` (${method})`);
	}

	/**
	 * Waits out commands a batch refused before acting (429 OPERATION_TIME_LIMIT: the method's time budget is
	 * spent; nothing was done, so resending is safe, also for writes), as `exchange` does for a refused request:
	 * until the method's window moves on (`operating_reset_at` of its other commands in the reply, or the last one
	 * seen, bounded by MAX_TIME_LIMIT_WAIT_MS). `wait` returns false instead of waiting once MAX_REFUSED_ROUNDS
	 * resends in a row got nothing through: the refusals are then the commands' errors.
	 */
	refusalWaiter() {
		const resetAt = new Map<string, number>();
		let idleRounds = 0;
		return {
			wait: async (commands: Record<string, BatchCommand>, reply: BatchReply, refused: string[], progressed: boolean): Promise<boolean> => {
				if (!refused.length) return false;
				idleRounds = progressed ? 0 : idleRounds + 1;
				if (idleRounds > MAX_REFUSED_ROUNDS) return false;
				for (const [key, command] of Object.entries(commands)) {
					const at = Number(reply.time[key]?.operating_reset_at);
					const method = command.method.toLowerCase();
					if (Number.isFinite(at) && at > 0 && at > (resetAt.get(method) ?? 0)) resetAt.set(method, at);
				}
				let ms = 0;
				for (const key of refused) {
					const code = String(reply.errors[key]?.error ?? '');
					const method = commands[key]?.method.toLowerCase() ?? '';
					ms = Math.max(ms, code === 'QUERY_LIMIT_EXCEEDED' ? 1000 : operatingWaitMs(resetAt.get(method)));
				}
				await sleep(ms);
				return true;
			},
		};
	}

	/** Server text with every credential this client knows (webhook code, OAuth tokens, client secret) cut out. */
	redact(text: string): string {
		return redactSecrets(text, [...this.secrets]);
	}

	/** An error from a REST envelope; its words are Bitrix24's (see isNotFoundAnswer). */
	private envelopeError(code: unknown, description: unknown, fallbackCode: string, fallbackDescription: string, httpCode?: number, suffix = '') {
		const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? this.redact(String(value)) : '');
		const envelope = { code: text(code), description: text(description) };
		const error = crmApiError(this.node, {
			crm: 'Bitrix24',
			code: envelope.code || fallbackCode,
			message: `${envelope.description || fallbackDescription}${suffix}`,
			httpCode,
		});
		envelopeErrors.set(error, envelope);
		return error;
	}

	/** Credentials that must never appear in an error: the webhook code, and the OAuth tokens and client secret seen. */
	private readonly secrets = new Set<string>();

	/** Adds credentials to cut from server text (OAuth tokens, as they are read and refreshed). */
	addSecrets(...values: unknown[]): void {
		for (const value of values) if (typeof value === 'string' && value.trim()) this.secrets.add(value.trim());
	}

	private url(method: string): string {
		return `${this.endpoint.restBase}${method}.json`;
	}

	private async exchange(method: string, params: IDataObject, writes: boolean): Promise<HttpReply> {
		const limiter = rateLimiterFor('bitrix24', this.endpoint.portal, this.endpoint.rate);
		const outcome = await settle(
			withRetry(
				async () => {
					const slot = await limiter.acquire();
					const reply = await this.sendOnce({ method: 'POST', url: this.url(method), json: params }).finally(() => slot.done());
					const code = String((reply.body as IDataObject | undefined)?.error ?? '');
					if (REFUSED_BEFORE_ACTING.has(code)) {
						const afterMs = code === 'QUERY_LIMIT_EXCEEDED' ? 1000 : this.timeLimitWait(reply);
						limiter.pause(afterMs);
						throw new RetryableReply(reply, code, afterMs);
					}
					if (reply.statusCode >= 500) throw new RetryableReply(reply, `HTTP_${reply.statusCode}`);
					return reply;
				},
				(error) => {
					if (error instanceof RetryableReply) {
						if (REFUSED_BEFORE_ACTING.has(error.code)) return { retry: true, afterMs: error.afterMs };
						return writes ? { retry: false } : { retry: true };
					}
					if (isConnectionRefused(error)) return { retry: true };
					return !writes && isConnectionDropped(error) ? { retry: true } : { retry: false };
				},
				{ attempts: 6, baseDelayMs: 500, maxDelayMs: 8000 },
			),
		);
		if (!outcome.ok) {
			const error = outcome.error;
			if (error instanceof RetryableReply) {
				if (writes && !REFUSED_BEFORE_ACTING.has(error.code)) throw new UnknownOutcomeError(`Bitrix24 ${method} (HTTP ${error.reply.statusCode})`, error.code);
				return this.unwrap(method, error.reply);
			}
			if (writes && isConnectionDropped(error)) throw new UnknownOutcomeError(`Bitrix24 ${method}`, error);
			// Our own errors (the portal answered, or the OAuth2 token could not be refreshed) as they are.
			if (crmCodeOf(error) !== undefined) throw error;
			// Network errors of n8n's helper may carry the request URL, which holds the webhook code: keep only the code.
			const code = (error as { code?: unknown }).code;
			const reason = typeof code === 'string' ? code : String((error as Error)?.message ?? '').split('\n')[0] || 'network error';
			throw crmApiError(this.node, {
				crm: 'Bitrix24',
				code: typeof code === 'string' ? code : 'NETWORK_ERROR',
				message: `could not reach the portal ${this.endpoint.portal} (${this.redact(reason)})`,
			});
		}
		return this.unwrap(method, outcome.value);
	}

	/** 429 OPERATION_TIME_LIMIT says when the method's budget resets; wait until then (bounded). */
	private timeLimitWait(reply: HttpReply): number {
		const time = (reply.body as { time?: { operating_reset_at?: number } } | undefined)?.time;
		const resetAt = Number(time?.operating_reset_at);
		return operatingWaitMs(Number.isFinite(resetAt) && resetAt > 0 ? resetAt : undefined);
	}

	private unwrap(method: string, reply: HttpReply): HttpReply {
		const body = reply.body as IDataObject | undefined;
		if (body && typeof body === 'object' && 'result' in body && reply.statusCode < 400) return reply;
		if (body && typeof body === 'object' && 'error' in body) {
			throw this.envelopeError(body.error, body.error_description, `HTTP_${reply.statusCode}`, 'the portal reported an error without a description', reply.statusCode);
		}
		// Not Bitrix24's envelope (a web server's or a proxy's page): it may echo the request URI, so credentials
		// are cut from the whole text before a part of it is shown.
		throw crmApiError(this.node, {
			crm: 'Bitrix24',
			code: `HTTP_${reply.statusCode}`,
			message: `"${method}" did not answer with a REST envelope: ${this.redact(reply.text).slice(0, 200) || 'empty body'}`,
			httpCode: reply.statusCode,
		});
	}

	/**
	 * One request. With OAuth, n8n core adds the Bearer token and refreshes it on a 401 (once, for every
	 * execution sharing the credential); Bitrix24 also reads the token from `auth`, which is re-read from
	 * the credential and the request sent once more after such a refresh.
	 */
	private async sendOnce(call: HttpCall): Promise<HttpReply> {
		if (this.endpoint.authentication === 'webhook' || !this.ctx) return await this.send(call);
		const ctx = this.ctx;
		const type = credentialTypeOf('oAuth2');
		const tokenOf = async () => {
			const tokens = (await ctx.getCredentials(type)).oauthTokenData as IDataObject | undefined;
			this.addSecrets(tokens?.access_token, tokens?.refresh_token);
			return typeof tokens?.access_token === 'string' ? tokens.access_token : '';
		};
		const attempt = async (token: string, ignoreAll: boolean) => {
			const response = (await ctx.helpers.httpRequestWithAuthentication.call(ctx, type, {
				method: call.method,
				url: call.url,
				qs: { ...(call.qs ?? {}), auth: token },
				body: call.json === undefined ? undefined : JSON.stringify(call.json),
				headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
				json: false,
				encoding: 'text',
				returnFullResponse: true,
				ignoreHttpStatusErrors: ignoreAll ? true : { ignore: true, except: [401] },
			})) as { statusCode: number; headers: IDataObject; body: unknown };
			const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
			const parsed = parseJson(text);
			return { statusCode: response.statusCode, headers: response.headers ?? {}, body: parsed.ok ? parsed.value : undefined, text };
		};
		const used = await tokenOf();
		const first = await settle(attempt(used, false));
		if (first.ok) return first.value;
		if (httpStatusOf(first.error) !== 401) {
			// Every answer of the portal but a 401 comes back as a reply (ignoreHttpStatusErrors): what is thrown is
			// either the network, or n8n core failing to refresh the token after the portal's 401.
			if (isConnectionRefused(first.error) || isConnectionDropped(first.error)) {
				// The portal's 401 came, then the token endpoint (another host) could not be reached.
				const failed = originOf(requestUrlOf(first.error));
				if (!failed || failed === originOf(call.url)) throw first.error;
				// (No network code such as ECONNREFUSED in the text: n8n's NodeApiError replaces such messages with its own.)
				throw this.refreshFailed(new Error(`could not reach the token service ${new URL(failed).host}`), used);
			}
			throw this.refreshFailed(first.error, used);
		}
		const renewed = await tokenOf();
		if (renewed === used) {
			throw crmApiError(this.node, {
				crm: 'Bitrix24',
				code: 'expired_token',
				message: 'the access token was refused and could not be refreshed; reconnect the Bitrix24 OAuth2 credential',
				httpCode: 401,
			});
		}
		return await attempt(renewed, true);
	}

	/**
	 * n8n core could not get a new access token after the portal refused the old one (the token endpoint refused the
	 * refresh token — rotated out by another process, revoked — or failed): the portal was reached, the credential
	 * is the problem. Nothing was done by the refused request.
	 */
	private refreshFailed(error: unknown, usedToken: string) {
		const reason = this.redact(String((error as Error | undefined)?.message ?? error ?? '').split('\n')[0]).replace(/[\s.]+$/, '');
		if (!usedToken) {
			return crmApiError(this.node, {
				crm: 'Bitrix24',
				code: 'NO_AUTH_FOUND',
				message: `the Bitrix24 OAuth2 credential has no access token${reason ? ` (${reason})` : ''}; connect the credential`,
			});
		}
		return crmApiError(this.node, {
			crm: 'Bitrix24',
			code: 'expired_token',
			message:
				`the access token expired and could not be refreshed${reason ? `: ${reason}` : ''}. ` +
				'Reconnect the Bitrix24 OAuth2 credential, or retry later if the token service was unavailable',
			httpCode: 401,
		});
	}
}
