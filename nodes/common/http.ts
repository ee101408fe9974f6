import type {
	ICredentialTestFunctions,
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	ILoadOptionsFunctions,
	IPollFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';
import { parseJson } from './json';

/** Every context a transport may be used from. */
export type CrmContext =
	| IExecuteFunctions
	| IPollFunctions
	| ILoadOptionsFunctions
	| IHookFunctions
	| IWebhookFunctions;

export interface HttpCall {
	method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
	url: string;
	qs?: IDataObject;
	/** Sent as application/x-www-form-urlencoded. */
	form?: Record<string, string>;
	/** Sent as application/json. */
	json?: unknown;
	headers?: IDataObject;
	timeoutMs?: number;
}

export interface HttpReply {
	statusCode: number;
	headers: IDataObject;
	/** The parsed JSON body; `undefined` when the body was empty or not JSON (see `text`). */
	body: unknown;
	text: string;
}

/** One way to send a request, so a transport works the same in nodes, triggers and credential tests. */
export type HttpSend = (call: HttpCall) => Promise<HttpReply>;

function parseBody(raw: unknown): { body: unknown; text: string } {
	if (raw === undefined || raw === null) return { body: undefined, text: '' };
	if (Buffer.isBuffer(raw)) raw = raw.toString('utf8');
	if (typeof raw !== 'string') return { body: raw, text: JSON.stringify(raw) };
	const text = raw;
	if (text.trim() === '') return { body: undefined, text };
	const parsed = parseJson(text);
	return { body: parsed.ok ? parsed.value : undefined, text };
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Sends through n8n's `httpRequest` helper (proxies, n8n's request logging and limits apply). */
export function sendWith(ctx: CrmContext): HttpSend {
	return async (call) => {
		const headers: IDataObject = { Accept: 'application/json', ...(call.headers ?? {}) };
		let body: URLSearchParams | string | undefined;
		if (call.form) body = new URLSearchParams(call.form);
		else if (call.json !== undefined) {
			body = JSON.stringify(call.json);
			headers['Content-Type'] = 'application/json';
		}
		const response = (await ctx.helpers.httpRequest({
			method: call.method,
			url: call.url,
			qs: call.qs,
			body,
			headers,
			json: false,
			encoding: 'text',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			timeout: call.timeoutMs ?? DEFAULT_TIMEOUT_MS,
		})) as { statusCode: number; headers: IDataObject; body: unknown };
		return { statusCode: response.statusCode, headers: response.headers ?? {}, ...parseBody(response.body) };
	};
}

/** Sends from a credential test, where n8n offers only its legacy `request` helper. */
export function sendWithCredentialTest(ctx: ICredentialTestFunctions): HttpSend {
	return async (call) => {
		const response = (await ctx.helpers.request({
			method: call.method,
			uri: call.url,
			qs: call.qs,
			form: call.form,
			body: call.json === undefined ? undefined : JSON.stringify(call.json),
			headers: {
				Accept: 'application/json',
				...(call.json === undefined ? {} : { 'Content-Type': 'application/json' }),
				...(call.headers ?? {}),
			},
			json: false,
			resolveWithFullResponse: true,
			simple: false,
			timeout: call.timeoutMs ?? DEFAULT_TIMEOUT_MS,
		})) as { statusCode: number; headers: IDataObject; body: unknown };
		return { statusCode: response.statusCode, headers: response.headers ?? {}, ...parseBody(response.body) };
	};
}

/** Trims a user-typed base URL and checks it is http(s); `strip` removes a pasted endpoint suffix. */
export function normalizeBaseUrl(value: string, strip?: RegExp): string {
	let url = String(value ?? '').trim();
	if (strip) url = url.replace(strip, '');
	url = url.replace(/\/+$/, '');
	if (!URL.canParse(url)) throw new Error(`The base URL "${url}" is not a valid URL; use the form https://crm.example.com`);
	const parsed = new URL(url);
	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new Error(`The base URL must start with http:// or https:// (got "${parsed.protocol}")`);
	}
	return url;
}
