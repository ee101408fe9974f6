import type { IDataObject, INode } from 'n8n-workflow';
import { crmApiError, settle, UnknownOutcomeError } from '../common/errors';
import type { CrmContext, HttpReply } from '../common/http';
import { normalizeBaseUrl } from '../common/http';
import { parseJson } from '../common/json';
import type { RateLimit } from '../common/rateLimiter';
import { rateLimiterFor } from '../common/rateLimiter';
import { isConnectionDropped, isConnectionRefused, withRetry } from '../common/retry';

/**
 * The only code that speaks HTTP to SalesMan CRM API v2: `POST {base}/developer/v2/{method}` with the action
 * in a JSON body and `login`/`apikey` headers (added by n8n from the credential). SalesMan answers HTTP 200
 * for everything: errors are an `error` object in the body (also wrapped in an array, with string codes),
 * and some PHP builds answer a write with an HTML fatal-error page after saving it.
 */

/**
 * SalesMan documents no rate limit. This guard only keeps many parallel executions from hammering a small server
 * (200 requests/s, 200 at once); one execution sends one request at a time and never reaches it (at 20/s, 1,000
 * per-item updates were bound by the guard, not by SalesMan: docs/benchmarks.md).
 */
export const SALESMAN_RATE: RateLimit = { perSecond: 200, burst: 200 };

/** Rows per list page (fixed by SalesMan); `offset` is the page number. */
export const PAGE_SIZE = 200;

class RetryableStatus extends Error {
	constructor(readonly reply: HttpReply) {
		super(`HTTP ${reply.statusCode}`);
	}
}

/** The error object of an envelope, in any of the shapes SalesMan uses, or undefined. */
export function envelopeError(body: unknown): { code: string; text: string; exists?: number } | undefined {
	const candidate = (Array.isArray(body) && body.length === 1 ? body[0] : body) as IDataObject | undefined;
	const error = candidate && typeof candidate === 'object' ? (candidate.error as IDataObject | undefined) : undefined;
	if (!error || typeof error !== 'object' || (error.code === undefined && error.text === undefined)) return undefined;
	// SalesMan sometimes leaves error.text empty and says why in `result` (deal update: 302 "Данные корректны, но
	// идентичны имеющимся."): show that instead of an empty message.
	const text = String(error.text ?? '').trim() || (typeof candidate?.result === 'string' && candidate.result !== 'Error' ? candidate.result : '') || 'no explanation given';
	const exists = Number(candidate?.exists ?? /\((?:clid|pid|did|id)\s*=\s*(\d+)\)/.exec(text)?.[1]);
	return { code: String(error.code ?? 'ERROR'), text, ...(Number.isFinite(exists) && exists > 0 ? { exists } : {}) };
}

export class SalesManClient {
	constructor(
		private readonly ctx: CrmContext,
		readonly baseUrl: string,
		private readonly login: string,
		readonly node: INode,
	) {}

	static async fromContext(ctx: CrmContext): Promise<SalesManClient> {
		const raw = await ctx.getCredentials('salesManApi');
		return new SalesManClient(ctx, normalizeBaseUrl(String(raw.baseUrl ?? ''), /\/developer\/v2\/?$/i), String(raw.login ?? ''), ctx.getNode());
	}

	/** Calls `{method}` with `action`; `writes` decides what may be resent after a failure. */
	async call<T = IDataObject>(method: string, action: string, params: IDataObject = {}, writes = false): Promise<T> {
		const limiter = rateLimiterFor('salesman', `${this.baseUrl}\u0000${this.login}`, SALESMAN_RATE);
		const operation = `${method} ${action}`;
		const sent = await settle(
			withRetry(
				async () => {
					const slot = await limiter.acquire();
					const reply = await this.sendOnce(method, { ...params, action }).finally(() => slot.done());
					if (reply.statusCode >= 500) throw new RetryableStatus(reply);
					return reply;
				},
				(error) => {
					if (isConnectionRefused(error)) return { retry: true };
					if (writes) return { retry: false };
					return error instanceof RetryableStatus || isConnectionDropped(error) ? { retry: true } : { retry: false };
				},
				{ attempts: 3, baseDelayMs: 300, maxDelayMs: 3000 },
			),
		);
		if (!sent.ok) {
			const error = sent.error;
			if (writes && (error instanceof RetryableStatus || isConnectionDropped(error))) throw new UnknownOutcomeError(`SalesMan ${operation}`, error);
			if (error instanceof RetryableStatus) {
				throw crmApiError(this.node, { crm: 'SalesMan', code: `HTTP_${error.reply.statusCode}`, message: `"${operation}" failed: ${error.reply.text.slice(0, 200) || 'empty body'}`, httpCode: error.reply.statusCode });
			}
			const code = (error as { code?: unknown }).code;
			throw crmApiError(this.node, { crm: 'SalesMan', code: typeof code === 'string' ? code : 'NETWORK_ERROR', message: `could not reach ${this.baseUrl}` });
		}
		const reply = sent.value;
		if (reply.body === undefined) {
			// An HTML page (a PHP fatal error) instead of JSON: for a write, SalesMan may well have saved it.
			if (writes) throw new UnknownOutcomeError(`SalesMan ${operation}`, reply.text.slice(0, 200));
			throw crmApiError(this.node, { crm: 'SalesMan', code: `HTTP_${reply.statusCode}`, message: `"${operation}" did not answer JSON: ${reply.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}` });
		}
		const error = envelopeError(reply.body);
		if (error) {
			const duplicate = error.code === '304';
			const apiError = crmApiError(this.node, {
				crm: 'SalesMan',
				code: error.code,
				message: duplicate ? `duplicate found${error.exists ? ` (existing ID ${error.exists})` : ''}: ${error.text}` : error.text,
			});
			if (error.exists) apiError.context.existingId = error.exists;
			throw apiError;
		}
		return reply.body as T;
	}

	private async sendOnce(method: string, body: IDataObject): Promise<HttpReply> {
		const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(this.ctx, 'salesManApi', {
			method: 'POST',
			url: `${this.baseUrl}/developer/v2/${method}`,
			// SalesMan reads the JSON body only when Content-Type is exactly application/json.
			headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
			body: JSON.stringify(body),
			json: false,
			encoding: 'text',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		})) as { statusCode: number; headers: IDataObject; body: unknown };
		const text = typeof response.body === 'string' ? response.body : response.body === undefined ? '' : JSON.stringify(response.body);
		const parsed = text.trim() ? parseJson(text) : { ok: false as const, message: '' };
		return { statusCode: response.statusCode, headers: response.headers ?? {}, body: parsed.ok ? parsed.value : undefined, text };
	}
}
