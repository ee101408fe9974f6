/**
 * Test-side controls for the reliability suite. Nothing here changes node code; each control stands in for
 * something a test cannot wait for in real time.
 */
import * as path from 'path';
import type { INodeExecutionData } from 'n8n-workflow';
import * as rateLimiterModule from '../../nodes/common/rateLimiter';
import type { RateLimit } from '../../nodes/common/rateLimiter';
import { FAULT_HEADER } from './faultProxy';
import type { FaultProxy, SeenRequest } from './faultProxy';

// n8n's HTTP layer (every helpers.httpRequest / httpRequestWithAuthentication of a node ends in this function).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const n8nRequest = require(path.join(path.dirname(require.resolve('@n8n/backend-network')), 'http', 'axios', 'request.js')) as {
	httpRequest: (options: N8nRequestOptions, ssrf?: unknown) => Promise<unknown>;
};

/** Is `url` on the server `origin` (http://host:port), and not on one whose port merely starts the same? */
const onOrigin = (url: string, origin: string) => url === origin || url.startsWith(`${origin}/`) || url.startsWith(`${origin}\u0000`);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const qs = require('qs') as { stringify: (value: unknown, options?: { arrayFormat?: string }) => string };

interface N8nRequestOptions {
	url?: string;
	method?: string;
	qs?: Record<string, unknown>;
	body?: unknown;
	headers?: Record<string, unknown>;
	timeout?: number;
	arrayFormat?: string;
}

const proxies = new Map<string, { proxy: FaultProxy; hangMs: number }>();
let requestSpy: jest.SpyInstance | undefined;

/** The request as the proxy will see it: method, path with query, body text. */
function viewOf(options: N8nRequestOptions, index: number): SeenRequest {
	const url = new URL(String(options.url));
	const query = [url.search.slice(1), options.qs && Object.keys(options.qs).length ? qs.stringify(options.qs, { arrayFormat: options.arrayFormat ?? 'brackets' }) : ''].filter(Boolean).join('&');
	const body = options.body;
	const text = typeof body === 'string' ? body : body instanceof URLSearchParams ? body.toString() : body === undefined || body === null ? '' : JSON.stringify(body);
	return { method: String(options.method ?? 'GET').toUpperCase(), url: `${url.pathname}${query ? `?${query}` : ''}`, body: text, index };
}

/**
 * Plans the faults of `proxy` where requests leave n8n (every helpers.httpRequest / httpRequestWithAuthentication of
 * a node ends in @n8n/backend-network's httpRequest, spied on here) and tells the proxy in FAULT_HEADER.
 *
 * A request that will hang gets a timeout of `hangMs`: the node's own timeout is not configurable (Vtiger asks n8n
 * for 60 s, the others use n8n's default of 300 s) and cannot be waited out in a test. The node then sees the very
 * error a real timeout gives (axios ECONNABORTED "timeout of N ms exceeded"), just sooner; every other request keeps
 * the node's own timeout, so a slow machine cannot turn a normal answer into a timeout. Returns the detach function.
 */
export function attachFaultPlan(proxy: FaultProxy, hangMs = 300): () => void {
	proxies.set(proxy.url, { proxy, hangMs });
	if (!requestSpy) {
		const original = n8nRequest.httpRequest;
		requestSpy = jest.spyOn(n8nRequest, 'httpRequest').mockImplementation(async (options, ssrf) => {
			const url = String(options.url ?? '');
			const attached = [...proxies.values()].find(({ proxy: p }) => onOrigin(url, p.url));
			if (!attached) return await original(options, ssrf);
			const { proxy: p, hangMs: ms } = attached;
			const fault = p.plan?.(viewOf(options, p.next())) || undefined;
			const hangs = fault === 'hangAfter' || fault === 'hangBefore';
			return await original({ ...options, headers: { ...(options.headers ?? {}), [FAULT_HEADER]: fault ?? 'none' }, ...(hangs ? { timeout: ms } : {}) }, ssrf);
		});
	}
	return () => {
		proxies.delete(proxy.url);
		if (!proxies.size) {
			requestSpy?.mockRestore();
			requestSpy = undefined;
		}
	};
}

const paces = new Map<string, RateLimit>();
let paceSpy: jest.SpyInstance | undefined;

/**
 * Runs the client-side limiter of a CRM account on `origin` at `limit` instead of the node's (the limiter is keyed by account,
 * and each test that uses this has an emulator of its own, so no other test shares that bucket). Used by the
 * 10,000-item runs only, so that they fit the time budget (amoCRM's 7 requests/s alone would need 29 s for
 * 200 requests); the CRM's own refusals (503/429) are still injected and still waited out by the node. Pacing
 * itself is tested in test/common/rateLimiter.test.ts and the per-CRM parallel-run tests.
 */
export function paceAccount(crm: string, origin: string, limit: RateLimit): void {
	paces.set(`${crm}\u0000${origin}`, limit);
	if (paceSpy) return;
	const original = rateLimiterModule.rateLimiterFor;
	paceSpy = jest.spyOn(rateLimiterModule, 'rateLimiterFor').mockImplementation((name, account, nodeLimit) => {
		for (const [key, pace] of paces) {
			const [paceCrm, paceOrigin] = key.split('\u0000');
			if (paceCrm === name && onOrigin(account, paceOrigin)) return original(name, account, pace);
		}
		return original(name, account, nodeLimit);
	});
}

/** The 0-based item index an output item is paired with. */
export const pairedIndex = (item: INodeExecutionData): number => (item.pairedItem as { item: number }).item;

/** The values that occur more than once. */
export function duplicates<T>(values: T[]): T[] {
	const seen = new Set<T>();
	const twice = new Set<T>();
	for (const value of values) (seen.has(value) ? twice : seen).add(value);
	return [...twice];
}

/** The item error of a write whose outcome is unknown (common/errors.ts UnknownOutcomeError, named by errorForItem). */
export const UNKNOWN_OUTCOME = /did not confirm ".+": the request may or may not have been carried out\. It was not sent again; check the CRM before re-running this item\. \[item (\d+)\]$/;

/** 0, 1, …, n-1. */
export function range(n: number): number[] {
	return Array.from({ length: n }, (_, i) => i);
}
