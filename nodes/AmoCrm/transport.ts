import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';
import { crmApiError, settle, UnknownOutcomeError } from '../common/errors';
import type { CrmContext, HttpReply } from '../common/http';
import { normalizeBaseUrl } from '../common/http';
import { parseJson } from '../common/json';
import type { RateLimit } from '../common/rateLimiter';
import { rateLimiterFor, shareOf } from '../common/rateLimiter';
import { isConnectionDropped, isConnectionRefused, withRetry } from '../common/retry';

/**
 * The only code that speaks HTTP to amoCRM / Kommo API v4: account addressing (only the account's own
 * domain, or an explicit base URL), Bearer auth through n8n (long-lived token or OAuth2 with n8n's refresh),
 * HAL lists with HTTP 204 for "empty", problem+json errors, and the 7 requests/s limit per account shared by
 * every node and execution in the process.
 */

export type AmoCrmAuthentication = 'longLivedToken' | 'oAuth2';

export function credentialTypeOf(authentication: AmoCrmAuthentication): string {
	return authentication === 'oAuth2' ? 'amoCrmOAuth2Api' : 'amoCrmApi';
}

/**
 * amoCRM allows 7 requests/s per integration, counted in a sliding one-second window; over it answers 429,
 * and sustained abuse blocks the IP. A token bucket with a burst of 7 lets more than 7 into one window (a test
 * saw 429s), so the limiter counts the way amoCRM does: at most 7 requests in any second, each holding its
 * place until a second after its answer, which makes the limit exact whatever the network delay.
 */
export const AMOCRM_RATE: RateLimit = { perSecond: 7, burst: 7, window: true };

/** Objects per write request: amoCRM recommends at most 50 (hard limit 250). */
export const WRITE_CHUNK = 50;

/** Rows per list page: the most amoCRM allows. */
export const PAGE_LIMIT = 250;

const ACCOUNT_DOMAIN = /^[a-z0-9][a-z0-9-]*\.(amocrm\.ru|amocrm\.com|kommo\.com)$/i;

export function amoCrmBaseUrl(raw: ICredentialDataDecryptedObject): string {
	const custom = String(raw.baseUrl ?? '').trim();
	if (custom) return normalizeBaseUrl(custom);
	const domain = String(raw.accountDomain ?? '')
		.trim()
		.replace(/^https?:\/\//i, '')
		.replace(/\/.*$/, '');
	if (!ACCOUNT_DOMAIN.test(domain)) {
		throw new Error(`The account domain "${domain}" is not an amoCRM or Kommo account; use {subdomain}.amocrm.ru, {subdomain}.amocrm.com or {subdomain}.kommo.com`);
	}
	return `https://${domain.toLowerCase()}`;
}

export interface AmoRequest {
	method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
	/** A path under /api/v4 (`/leads`), or an absolute `_links.next` URL of the same account. */
	path: string;
	qs?: IDataObject;
	body?: unknown;
	/** Decides what may be resent after a failure. */
	writes?: boolean;
	/** Return a 400 with `validation-errors` instead of throwing, so a bulk write can blame single items. */
	returnValidationErrors?: boolean;
}

export interface AmoReply<T = IDataObject> {
	status: number;
	/** `undefined` for HTTP 204 (amoCRM's empty list / missing record). */
	body: T | undefined;
}

class RetryableStatus extends Error {
	constructor(
		readonly reply: HttpReply,
		readonly afterMs?: number,
	) {
		super(`HTTP ${reply.statusCode}`);
	}
}

/** The errors an error wraps, outermost first (n8n wraps the HTTP client's error in NodeApiError's `cause`). */
function chainOf(error: unknown): object[] {
	const chain: object[] = [];
	let current: unknown = error;
	for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
		chain.push(current);
		current = (current as { cause?: unknown }).cause;
	}
	return chain;
}

const endpointOf = (url: string): string | undefined => (URL.canParse(url) ? `${new URL(url).origin}${new URL(url).pathname}` : undefined);

/**
 * With OAuth2, n8n answers a 401 by refreshing the token at the token endpoint and then resending the request.
 * When the refresh itself fails, the error is the token endpoint's, not the request's: the request was refused
 * (401) before amoCRM acted and was not resent. Says what the token endpoint did (`status`, or the network `code`),
 * or `undefined` when the error is the request's own (or does not say whose it is).
 */
function refreshFailureOf(error: unknown, requestUrl: string): { status?: number; code?: string; refused: boolean } | undefined {
	const own = endpointOf(requestUrl);
	for (const link of chainOf(error)) {
		const e = link as { config?: { url?: unknown }; response?: { status?: unknown }; code?: unknown; status?: unknown; body?: unknown; failure?: { cause?: unknown } };
		// n8n's own verdict on a refresh token the token endpoint revoked (invalid_grant).
		if (e.failure?.cause === 'credential-invalid') return { refused: true };
		// axios (n8n's HTTP client, and the OAuth2 client's) puts the request it made on its errors.
		if (e.config && typeof e.config.url === 'string') {
			if (endpointOf(e.config.url) === own) return undefined;
			const status = Number(e.response?.status);
			const code = typeof e.code === 'string' ? e.code : undefined;
			return Number.isFinite(status) && status > 0 ? { status, code, refused: status < 500 } : { code, refused: false };
		}
		// The OAuth2 client's own errors: a refusal (ESTATUS with the HTTP status, or EAUTH with an OAuth error body).
		if (e.code === 'ESTATUS' && typeof e.status === 'number') return { status: e.status, refused: e.status < 500 };
		if (e.code === 'EAUTH' && e.body !== undefined) return { refused: true };
	}
	return undefined;
}

function statusOf(error: unknown): number | undefined {
	let current: unknown = error;
	for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
		const c = current as { httpCode?: unknown; statusCode?: unknown; response?: { status?: unknown } };
		const status = Number(c.httpCode ?? c.statusCode ?? c.response?.status);
		if (Number.isFinite(status) && status > 0) return status;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

export class AmoCrmClient {
	constructor(
		private readonly ctx: CrmContext,
		readonly authentication: AmoCrmAuthentication,
		readonly baseUrl: string,
		readonly node: INode,
		private readonly rate: RateLimit = AMOCRM_RATE,
	) {}

	static async fromContext(ctx: CrmContext, authentication?: AmoCrmAuthentication): Promise<AmoCrmClient> {
		const auth = authentication ?? ((ctx.getNodeParameter('authentication', 0, 'longLivedToken') as AmoCrmAuthentication) || 'longLivedToken');
		const raw = await ctx.getCredentials(credentialTypeOf(auth));
		return new AmoCrmClient(ctx, auth, amoCrmBaseUrl(raw), ctx.getNode(), shareOf(AMOCRM_RATE, raw.processes));
	}

	url(path: string): string {
		if (/^https?:\/\//i.test(path)) {
			// `_links.next` is absolute: follow it only within this account.
			if (new URL(path).origin !== new URL(this.baseUrl).origin) throw new Error(`amoCRM answered with a link outside the account (${new URL(path).origin})`);
			return path;
		}
		return `${this.baseUrl}/api/v4${path.startsWith('/') ? path : `/${path}`}`;
	}

	async request<T = IDataObject>(request: AmoRequest): Promise<AmoReply<T>> {
		const writes = request.writes ?? request.method !== 'GET';
		const limiter = rateLimiterFor('amocrm', this.baseUrl, this.rate);
		const outcome = await settle(
			withRetry(
				async () => {
					const slot = await limiter.acquire();
					const reply = await this.sendOnce(request).finally(() => slot.done());
					if (reply.statusCode === 429) {
						limiter.pause(1000);
						throw new RetryableStatus(reply, 1000);
					}
					if (reply.statusCode >= 500) throw new RetryableStatus(reply);
					return reply;
				},
				(error) => {
					if (error instanceof RetryableStatus) return error.reply.statusCode === 429 ? { retry: true, afterMs: error.afterMs } : writes ? { retry: false } : { retry: true };
					if (isConnectionRefused(error)) return { retry: true };
					return !writes && isConnectionDropped(error) ? { retry: true } : { retry: false };
				},
				{ attempts: 6, baseDelayMs: 500, maxDelayMs: 8000 },
			),
		);
		if (!outcome.ok) {
			const error = outcome.error;
			if (error instanceof RetryableStatus) {
				if (writes && error.reply.statusCode !== 429) throw new UnknownOutcomeError(`amoCRM ${request.method} ${request.path} (HTTP ${error.reply.statusCode})`, error.reply.statusCode);
				throw this.errorFrom(error.reply);
			}
			// Only the request's own failure can leave a write's outcome unknown; a failed token refresh cannot.
			const refresh = this.authentication === 'oAuth2' ? refreshFailureOf(error, /^https?:\/\//i.test(request.path) ? request.path : this.url(request.path)) : undefined;
			if (refresh) throw refresh.refused ? this.unauthorized() : this.refreshFailed(refresh);
			if (writes && isConnectionDropped(error)) throw new UnknownOutcomeError(`amoCRM ${request.method} ${request.path}`, error);
			const status = statusOf(error);
			if (status === 401) throw this.unauthorized();
			const firstLine = String((error as Error).message ?? 'request failed').split('\n')[0];
			if (status !== undefined) {
				// Something answered: never "could not reach".
				throw crmApiError(this.node, { crm: 'amoCRM', code: `HTTP_${status}`, message: `the request failed with HTTP ${status} (${firstLine})`, httpCode: status });
			}
			const code = (error as { code?: unknown }).code;
			throw crmApiError(this.node, {
				crm: 'amoCRM',
				code: typeof code === 'string' ? code : 'NETWORK_ERROR',
				message: `could not reach ${this.baseUrl} (${typeof code === 'string' ? code : firstLine})`,
			});
		}
		const reply = outcome.value;
		if (reply.statusCode === 204) return { status: 204, body: undefined };
		if (reply.statusCode === 400 && request.returnValidationErrors && validationErrors(reply.body as IDataObject).length) {
			return { status: 400, body: reply.body as T };
		}
		if (reply.statusCode >= 400) throw this.errorFrom(reply);
		return { status: reply.statusCode, body: reply.body as T };
	}

	/** The problem+json of a refused request, or amoCRM's HTML pages (IP block), as a NodeApiError. */
	errorFrom(reply: HttpReply) {
		const body = (reply.body ?? {}) as IDataObject;
		if (reply.statusCode === 401) return this.unauthorized();
		if (reply.statusCode === 403 && !reply.body) {
			return crmApiError(this.node, {
				crm: 'amoCRM',
				code: 'IP_BLOCKED',
				message: 'amoCRM refused this server (HTTP 403 page): after too many requests it blocks the IP for a while. Wait, then run fewer workflows against this account at once',
				httpCode: 403,
			});
		}
		if (reply.statusCode === 402) {
			return crmApiError(this.node, { crm: 'amoCRM', code: 'PAYMENT_REQUIRED', message: 'the account is not paid; amoCRM refuses API calls until it is', httpCode: 402 });
		}
		const validation = validationErrors(body);
		const details = validation.map((v) => `${v.path}: ${v.detail}`).join('; ');
		return crmApiError(this.node, {
			crm: 'amoCRM',
			code: String(body.title ?? `HTTP_${reply.statusCode}`),
			message: [String(body.detail ?? reply.text.slice(0, 200) ?? ''), details].filter(Boolean).join(' — ') || `HTTP ${reply.statusCode}`,
			httpCode: reply.statusCode,
			field: validation[0]?.path,
		});
	}

	/** The token endpoint failed (5xx, or the connection to it broke) while n8n refreshed an expired access token. */
	private refreshFailed(failure: { status?: number; code?: string }) {
		// In words: n8n replaces a whole error message that contains a code like ECONNRESET with its generic text.
		const how: Record<string, string> = { ECONNRESET: 'was reset', EPIPE: 'was reset', ECONNABORTED: 'timed out', ETIMEDOUT: 'timed out', ESOCKETTIMEDOUT: 'timed out', ECONNREFUSED: 'was refused', ENOTFOUND: 'found no such host', EAI_AGAIN: 'found no such host' };
		const what = failure.status ? `the token endpoint answered HTTP ${failure.status}` : `the connection to the token endpoint ${how[failure.code ?? ''] ?? 'failed'}`;
		return crmApiError(this.node, {
			crm: 'amoCRM',
			code: 'TOKEN_REFRESH_FAILED',
			message: `the access token expired and could not be refreshed: ${what}. amoCRM refused the request (HTTP 401) before acting, so nothing was done and it was not sent again; reconnect the amoCRM OAuth2 credential or retry`,
			httpCode: 401,
		});
	}

	private unauthorized() {
		return crmApiError(this.node, {
			crm: 'amoCRM',
			code: 'UNAUTHORIZED',
			message:
				this.authentication === 'oAuth2'
					? 'the access token was refused and could not be refreshed (amoCRM refresh tokens work once; a broken chain cannot be repaired): reconnect the amoCRM OAuth2 credential'
					: 'the long-lived token was refused: check it, or create a new one in the integration settings',
			httpCode: 401,
		});
	}

	/**
	 * One exchange through n8n's authentication: the long-lived token as a Bearer header, or OAuth2 with
	 * n8n core refreshing on 401 (once, shared by every execution using the credential).
	 */
	private async sendOnce(request: AmoRequest): Promise<HttpReply> {
		const oauth = this.authentication === 'oAuth2';
		const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(this.ctx, credentialTypeOf(this.authentication), {
			method: request.method,
			url: this.url(request.path),
			qs: request.qs,
			body: request.body === undefined ? undefined : JSON.stringify(request.body),
			headers: { Accept: 'application/hal+json, application/json', ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
			json: false,
			encoding: 'text',
			returnFullResponse: true,
			ignoreHttpStatusErrors: oauth ? { ignore: true, except: [401] } : true,
			arrayFormat: 'indices',
		})) as { statusCode: number; headers: IDataObject; body: unknown };
		const text = typeof response.body === 'string' ? response.body : response.body === undefined ? '' : JSON.stringify(response.body);
		const parsed = text.trim() ? parseJson(text) : { ok: false as const, message: '' };
		return { statusCode: response.statusCode, headers: response.headers ?? {}, body: parsed.ok ? parsed.value : undefined, text };
	}
}

export interface ValidationError {
	requestId?: string;
	code?: string;
	path: string;
	detail: string;
}

/** amoCRM's `validation-errors`: one entry per refused object (by request_id), each with field paths. */
export function validationErrors(body: IDataObject | undefined): ValidationError[] {
	const groups = (body?.['validation-errors'] ?? []) as Array<{ request_id?: string; errors?: Array<{ code?: string; path?: string; detail?: string }> }>;
	return groups.flatMap((group) =>
		(group.errors ?? []).map((e) => ({ requestId: group.request_id === undefined ? undefined : String(group.request_id), code: e.code, path: String(e.path ?? ''), detail: String(e.detail ?? e.code ?? 'invalid') })),
	);
}
