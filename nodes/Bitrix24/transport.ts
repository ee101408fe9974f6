import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';
import { crmApiError, settle, UnknownOutcomeError } from '../common/errors';
import { encodePhpForm } from '../common/formBody';
import type { CrmContext, HttpCall, HttpReply, HttpSend } from '../common/http';
import { normalizeBaseUrl, sendWith } from '../common/http';
import { parseJson } from '../common/json';
import type { RateLimit } from '../common/rateLimiter';
import { rateLimiterFor, shareOf } from '../common/rateLimiter';
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

export interface BatchReply {
	result: Record<string, unknown>;
	errors: Record<string, { error: string; error_description: string }>;
	total: Record<string, number>;
	next: Record<string, number>;
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

export class Bitrix24Client {
	constructor(
		private readonly ctx: CrmContext | undefined,
		private readonly send: HttpSend,
		readonly endpoint: Bitrix24Endpoint,
		private readonly node: INode,
	) {}

	static async fromContext(ctx: CrmContext, authentication?: Bitrix24Authentication): Promise<Bitrix24Client> {
		const auth = authentication ?? ((ctx.getNodeParameter('authentication', 0, 'webhook') as Bitrix24Authentication) || 'webhook');
		const raw = await ctx.getCredentials(credentialTypeOf(auth));
		return new Bitrix24Client(ctx, sendWith(ctx), bitrix24Endpoint(auth, raw), ctx.getNode());
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
		};
	}

	/** A batch command's error as the node shows it. */
	commandError(method: string, error: { error?: string; error_description?: string }) {
		return crmApiError(this.node, {
			crm: 'Bitrix24',
			code: String(error.error || 'ERROR'),
			message: `${String(error.error_description || 'the command failed')} (${method})`,
		});
	}

	private url(method: string): string {
		return `${this.endpoint.restBase}${method}.json`;
	}

	private async exchange(method: string, params: IDataObject, writes: boolean): Promise<HttpReply> {
		const limiter = rateLimiterFor('bitrix24', this.endpoint.portal, this.endpoint.rate);
		const outcome = await settle(
			withRetry(
				async () => {
					await limiter.acquire();
					const reply = await this.sendOnce({ method: 'POST', url: this.url(method), json: params });
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
			// Network errors of n8n's helper may carry the request URL, which holds the webhook code: keep only the code.
			const code = (error as { code?: unknown }).code;
			throw crmApiError(this.node, {
				crm: 'Bitrix24',
				code: typeof code === 'string' ? code : 'NETWORK_ERROR',
				message: `could not reach the portal ${this.endpoint.portal} (${typeof code === 'string' ? code : (error as Error).message?.split('\n')[0] ?? 'network error'})`,
			});
		}
		return this.unwrap(method, outcome.value);
	}

	/** 429 OPERATION_TIME_LIMIT says when the method's budget resets; wait until then (bounded). */
	private timeLimitWait(reply: HttpReply): number {
		const time = (reply.body as { time?: { operating_reset_at?: number } } | undefined)?.time;
		const resetAt = Number(time?.operating_reset_at);
		const ms = Number.isFinite(resetAt) ? resetAt * 1000 - Date.now() : 10_000;
		return Math.min(MAX_TIME_LIMIT_WAIT_MS, Math.max(1000, ms));
	}

	private unwrap(method: string, reply: HttpReply): HttpReply {
		const body = reply.body as IDataObject | undefined;
		if (body && typeof body === 'object' && 'result' in body && reply.statusCode < 400) return reply;
		if (body && typeof body === 'object' && 'error' in body) {
			throw crmApiError(this.node, {
				crm: 'Bitrix24',
				code: String(body.error || `HTTP_${reply.statusCode}`),
				message: String(body.error_description || 'the portal reported an error without a description'),
				httpCode: reply.statusCode,
			});
		}
		throw crmApiError(this.node, {
			crm: 'Bitrix24',
			code: `HTTP_${reply.statusCode}`,
			message: `"${method}" did not answer with a REST envelope: ${reply.text.slice(0, 200) || 'empty body'}`,
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
		const tokenOf = async () => String(((await ctx.getCredentials(type)).oauthTokenData as IDataObject | undefined)?.access_token ?? '');
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
		if (httpStatusOf(first.error) !== 401) throw first.error;
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
}
