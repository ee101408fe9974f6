/**
 * Test-side controls for the reliability suite. Nothing here changes node code; each control stands in for
 * something a test cannot wait for in real time.
 */
import * as path from 'path';
import type { INodeExecutionData } from 'n8n-workflow';
import * as rateLimiterModule from '../../nodes/common/rateLimiter';
import type { RateLimit } from '../../nodes/common/rateLimiter';
import { FAULT_HEADER, startFaultProxy } from './faultProxy';
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

/** The item indexes of chunk `c` of a bulk write. */
export const chunkItems = (c: number, size = 50): number[] => range(size).map((i) => c * size + i);

/** 0, 1, …, n-1. */
export function range(n: number): number[] {
	return Array.from({ length: n }, (_, i) => i);
}

/**
 * What a bulk write run under faults must show, in every CRM: one output item per input item, in order; the
 * items of the chunks whose outcome is unknown say so, each naming itself, and no other item failed; every
 * other item was created once, and the CRM stored it with its own value. Returns the created items.
 */
export function expectBulkWriteOutcome(
	items: INodeExecutionData[],
	expected: {
		count: number;
		unknownChunks: number[];
		chunkSize?: number;
		/** The created record's ID in an output item. */
		idOf: (json: INodeExecutionData['json']) => unknown;
		/** What the CRM stored for that ID (e.g. its title), and what the input item asked for. */
		stored: (id: unknown) => unknown;
		wanted: (itemIndex: number) => unknown;
	},
): INodeExecutionData[] {
	const { count, unknownChunks, chunkSize = 50, idOf, stored, wanted } = expected;
	expect(items).toHaveLength(count);
	expect(items.map(pairedIndex)).toEqual(range(count));
	const failed = items.filter((item) => item.json.error);
	for (const item of failed) expect(String(item.json.error)).toMatch(UNKNOWN_OUTCOME);
	expect(failed.map((item) => Number(UNKNOWN_OUTCOME.exec(String(item.json.error))![1]))).toEqual(failed.map(pairedIndex));
	expect(failed.map(pairedIndex)).toEqual(unknownChunks.flatMap((c) => chunkItems(c, chunkSize)));
	const created = items.filter((item) => idOf(item.json) !== undefined);
	expect(created).toHaveLength(count - unknownChunks.length * chunkSize);
	for (const item of created) expect(stored(idOf(item.json))).toBe(wanted(pairedIndex(item)));
	expect(duplicates(created.map((item) => idOf(item.json)))).toEqual([]);
	return created;
}

/**
 * The rig of one describe block: started before its tests and stopped after them; before each test the emulator
 * is reset and the proxy forgets its plan and log. The returned object is filled in by `beforeAll`.
 */
export function rigPerBlock<R extends { emulator: { reset(): void }; proxy: FaultProxy; stop(): Promise<void> }>(start: () => Promise<R>): R {
	const r = {} as R;
	beforeAll(async () => void Object.assign(r, await start()));
	afterAll(async () => await r.stop());
	beforeEach(() => {
		r.emulator.reset();
		r.proxy.plan = undefined;
		r.proxy.log.length = 0;
	});
	return r;
}

/**
 * A fault proxy in front of an emulator, with the fault plan attached. `start` gets the proxy's URL (for emulators
 * that write absolute links); `stop` stops all three.
 */
export async function behindFaultProxy<S extends { emulator: { stop(): Promise<void> }; baseUrl: string }>(
	start: (proxyUrl: string) => Promise<S>,
): Promise<S & { proxy: FaultProxy; stop: () => Promise<void> }> {
	const proxy = await startFaultProxy();
	const started = await start(proxy.url);
	proxy.target = started.baseUrl;
	const detach = attachFaultPlan(proxy);
	return {
		...started,
		proxy,
		stop: async () => {
			detach();
			await proxy.stop();
			await started.emulator.stop();
		},
	};
}
