import { createHash } from 'crypto';
import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';
import { crmApiError, crmCodeOf, settle, UnknownOutcomeError } from '../common/errors';
import type { CrmContext, HttpReply, HttpSend } from '../common/http';
import { normalizeBaseUrl, sendWith } from '../common/http';
import { parseJson } from '../common/json';
import { ExpiringCache, oneAtATime } from '../common/keyed';
import { rateLimiterFor } from '../common/rateLimiter';
import type { RateLimit } from '../common/rateLimiter';
import { redactSecrets } from '../common/redact';
import { isConnectionDropped, isConnectionRefused, withRetry } from '../common/retry';
import { fingerprint } from '../common/secrets';

/**
 * The only code that speaks HTTP to Vtiger's webservice endpoint: challenge/response login, a session
 * shared across items and executions, renewal on session errors, the `{success, result|error}` envelope,
 * rate limiting and retries that are safe.
 */

export interface VtigerCredentials {
	baseUrl: string;
	username: string;
	accessKey: string;
}

export interface VtigerSession {
	sessionName: string;
	userId: string;
	vtigerVersion?: string;
}

/** Vtiger reports these when a session is gone; the request did nothing, so log in again and retry once. */
const SESSION_ERRORS = new Set(['INVALID_SESSIONID', 'SESSION_EXPIRED', 'SESSION_LEFT_IDLE', 'AUTHENTICATION_REQUIRED']);

/** Operations that only read: safe to resend after a dropped connection or an HTTP 5xx. */
const READ_OPERATIONS = new Set([
	'getchallenge',
	'listtypes',
	'describe',
	'retrieve',
	'query',
	'query_related',
	'retrieve_related',
	'relatedtypes',
	'sync',
]);

/**
 * Vtiger sessions end after ~30 minutes idle and a day at most; we renew a little before the idle
 * timeout, and on any session error the server reports anyway.
 */
const SESSION_IDLE_MS = 25 * 60_000;

/**
 * Self-hosted Vtiger documents no rate limit. This bound only keeps many parallel executions from hammering a
 * small server (200 requests/s, 200 at once). One execution sends one request at a time and never reaches it:
 * at 50/s, 1,000 per-item creates took 18 s against 5.5 s for a plain HTTP Request loop (docs/benchmarks.md).
 */
export const VTIGER_RATE: RateLimit = { perSecond: 200, burst: 200 };

const sessions = new ExpiringCache<VtigerSession>();

export function vtigerCredentials(raw: ICredentialDataDecryptedObject): VtigerCredentials {
	return {
		baseUrl: normalizeBaseUrl(String(raw.baseUrl ?? ''), /\/webservice\.php$/i),
		username: String(raw.username ?? '').trim(),
		accessKey: String(raw.accessKey ?? '').trim(),
	};
}

export type VtigerMethod = 'GET' | 'POST';

export interface CallOptions {
	method?: VtigerMethod;
	/** Overrides the read/write classification by operation name (custom operations). */
	safeToRetry?: boolean;
}

export class VtigerClient {
	/** Cache key of this account's session: never reused by a credential with another access key. */
	private readonly sessionKey: string;

	/** Logins are serialized per server and user: a new getchallenge invalidates the previous token. */
	private readonly loginKey: string;

	constructor(
		private readonly send: HttpSend,
		readonly credentials: VtigerCredentials,
		private readonly node: INode,
	) {
		this.sessionKey = fingerprint('vtiger', credentials.baseUrl, credentials.username, credentials.accessKey);
		this.loginKey = `vtiger-login\u0000${credentials.baseUrl}\u0000${credentials.username}`;
	}

	static async fromContext(ctx: CrmContext): Promise<VtigerClient> {
		const credentials = vtigerCredentials(await ctx.getCredentials('vtigerApi'));
		return new VtigerClient(sendWith(ctx), credentials, ctx.getNode());
	}

	private get endpoint(): string {
		return `${this.credentials.baseUrl}/webservice.php`;
	}

	/** A cache key for data that belongs to this account (describe metadata and the like). */
	get accountKey(): string {
		return this.sessionKey;
	}

	/** Calls a webservice operation with a valid session; renews the session once if Vtiger says it is gone. */
	async call<T = unknown>(operation: string, params: IDataObject = {}, options: CallOptions = {}): Promise<T> {
		const method = options.method ?? (READ_OPERATIONS.has(operation) ? 'GET' : 'POST');
		const session = await this.session();
		const first = await settle(this.request<T>(operation, { ...params, sessionName: session.sessionName }, method, options));
		if (first.ok) return first.value;
		const code = crmCodeOf(first.error);
		if (!code || !SESSION_ERRORS.has(code)) throw first.error;
		// The session is gone and the request did nothing: log in again and send it once more.
		this.forget(session);
		const renewed = await this.session();
		return await this.request<T>(operation, { ...params, sessionName: renewed.sessionName }, method, options);
	}

	/** The current session, logging in when there is none. */
	async session(): Promise<VtigerSession> {
		const cached = sessions.get(this.sessionKey);
		if (cached) {
			sessions.set(this.sessionKey, cached, SESSION_IDLE_MS);
			return cached;
		}
		return await oneAtATime(this.loginKey, async () => {
			// Another execution may have logged in while this one waited.
			const fresh = sessions.get(this.sessionKey);
			if (fresh) return fresh;
			const session = await this.login();
			sessions.set(this.sessionKey, session, SESSION_IDLE_MS);
			return session;
		});
	}

	/** Drops a session Vtiger rejected, unless another execution has already replaced it. */
	private forget(session: VtigerSession): void {
		if (sessions.get(this.sessionKey)?.sessionName === session.sessionName) sessions.delete(this.sessionKey);
	}

	/**
	 * getchallenge + login. A login refused with INVALID_USER_CREDENTIALS is tried once more with a new
	 * challenge: another process (an n8n worker) may have asked for a challenge between our two calls.
	 */
	async login(): Promise<VtigerSession> {
		const { username, accessKey } = this.credentials;
		if (!username || !accessKey) {
			throw crmApiError(this.node, {
				crm: 'Vtiger',
				code: 'MISSING_CREDENTIALS',
				message: 'The Vtiger credential needs a user name and an access key',
			});
		}
		for (let attempt = 1; ; attempt++) {
			const challenge = await this.request<{ token: string }>('getchallenge', { username }, 'GET', {});
			const login = await settle(
				this.request<{ sessionName: string; userId: string; vtigerVersion?: string }>(
					'login',
					{ username, accessKey: createHash('md5').update(challenge.token + accessKey).digest('hex') },
					'POST',
					{ safeToRetry: true },
				),
			);
			if (login.ok) {
				const { sessionName, userId, vtigerVersion } = login.value;
				return { sessionName, userId, vtigerVersion };
			}
			const refused = crmCodeOf(login.error) === 'INVALID_USER_CREDENTIALS';
			if (!refused) throw login.error;
			if (attempt >= 2) {
				throw crmApiError(this.node, {
					crm: 'Vtiger',
					code: 'INVALID_USER_CREDENTIALS',
					message: `Login refused for user "${username}": check the user name and the access key (My Preferences → Access Key; it is not the password)`,
				});
			}
		}
	}

	/** One HTTP exchange with rate limiting and the retries that are safe for this operation. */
	private async request<T>(operation: string, params: IDataObject, method: VtigerMethod, options: CallOptions): Promise<T> {
		const isRead = options.safeToRetry ?? (method === 'GET' && READ_OPERATIONS.has(operation));
		const limiter = rateLimiterFor('vtiger', `${this.credentials.baseUrl}\u0000${this.credentials.username}`, VTIGER_RATE);
		const encoded: Record<string, string> = { operation };
		for (const [key, value] of Object.entries(params)) {
			if (value === undefined || value === null) continue;
			encoded[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
		}
		const sent = await settle(withRetry(
			async () => {
				const slot = await limiter.acquire();
				const response = await this.send(
					method === 'GET'
						? { method, url: this.endpoint, qs: encoded }
						: { method, url: this.endpoint, form: encoded },
				).finally(() => slot.done());
				if (response.statusCode >= 500) throw new VtigerHttpError(response);
				return response;
			},
			(error) => {
				if (isConnectionRefused(error)) return { retry: true };
				if (isRead && (isConnectionDropped(error) || error instanceof VtigerHttpError)) return { retry: true };
				return { retry: false };
			},
			{ attempts: 3, baseDelayMs: 300, maxDelayMs: 3000 },
		));
		// A server's page may echo the request URI (reads carry sessionName in the query): credentials are cut from
		// the whole text before a part of it is shown.
		const redact = (text: string) => redactSecrets(text, [encoded.sessionName, encoded.accessKey, this.credentials.accessKey]);
		const excerpt = (text: string) => redact(text).slice(0, 200);
		if (!sent.ok) {
			const error = sent.error;
			if (error instanceof VtigerHttpError) throw this.httpError(operation, error.reply, isRead, excerpt);
			if (!isRead && isConnectionDropped(error)) throw new UnknownOutcomeError(`Vtiger ${operation}`, error);
			throw error;
		}
		const reply = sent.value;
		return this.unwrap<T>(operation, reply, isRead, redact);
	}

	private unwrap<T>(operation: string, reply: HttpReply, isRead: boolean, redact: (text: string) => string): T {
		const excerpt = (text: string) => redact(text).slice(0, 200);
		const envelope = (reply.body ?? envelopeAfterNotices(reply.text)) as { success?: boolean; result?: T; error?: { code?: string; message?: string } } | undefined;
		if (!envelope || typeof envelope !== 'object' || typeof envelope.success !== 'boolean') {
			// A 4xx without an envelope (a proxy or firewall refusing) means the request was not carried out.
			if (!isRead && !(reply.statusCode >= 400 && reply.statusCode < 500)) throw new UnknownOutcomeError(`Vtiger ${operation}`, excerpt(reply.text));
			throw crmApiError(this.node, {
				crm: 'Vtiger',
				code: `HTTP_${reply.statusCode}`,
				message: `"${operation}" did not answer with a webservice envelope (HTTP ${reply.statusCode}): ${excerpt(reply.text) || 'empty body'}`,
				httpCode: reply.statusCode,
			});
		}
		if (envelope.success) return envelope.result as T;
		throw crmApiError(this.node, {
			crm: 'Vtiger',
			code: redact(String(envelope.error?.code ?? 'UNKNOWN_ERROR')),
			message: redact(String(envelope.error?.message ?? 'Vtiger reported an error without a message')),
			httpCode: reply.statusCode === 200 ? undefined : reply.statusCode,
		});
	}

	private httpError(operation: string, reply: HttpReply, isRead: boolean, excerpt: (text: string) => string): Error {
		if (!isRead) return new UnknownOutcomeError(`Vtiger ${operation} (HTTP ${reply.statusCode})`, excerpt(reply.text));
		return crmApiError(this.node, {
			crm: 'Vtiger',
			code: `HTTP_${reply.statusCode}`,
			message:
				`"${operation}" failed with HTTP ${reply.statusCode}` +
				(reply.text.trim() ? `: ${excerpt(reply.text)}` : ' and an empty body (Vtiger 8 on PHP 8 answers so for unknown or broken operations)'),
			httpCode: reply.statusCode,
		});
	}
}

/** PHP hosts with display_errors on print notices before the JSON; the envelope is still there. */
function envelopeAfterNotices(text: string): unknown {
	const start = text.indexOf('{"success"');
	if (start <= 0) return undefined;
	const parsed = parseJson(text.slice(start));
	return parsed.ok ? parsed.value : undefined;
}

class VtigerHttpError extends Error {
	constructor(readonly reply: HttpReply) {
		super(`HTTP ${reply.statusCode}`);
	}
}

/** Forgets every cached session (tests, and the credential test so it always performs a real login). */
export function clearVtigerSessions(): void {
	sessions.clear();
}
