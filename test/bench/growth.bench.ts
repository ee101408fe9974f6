/**
 * How Return All grows from 100 to 100,000 records, per CRM, against the emulators with zero latency and the
 * documented rate limits on: HTTP calls, wall time, and the node's own overhead — its wall time beyond the rate
 * limiter's waits and beyond an engine floor that sends the same requests through n8n's helper in the same engine
 * (see FLOOR_TYPE). Writes docs/images/bench-growth.svg (calls versus records, log-log). Run with `npm run bench`
 * (node --expose-gc, so that every run starts from a collected heap).
 */
import axios from 'axios';
import { fork } from 'child_process';
import * as dc from 'diagnostics_channel';
import * as fs from 'fs';
import { PerformanceObserver } from 'perf_hooks';
import * as path from 'path';
import { ClientRequest } from 'http';
import type { IncomingMessage } from 'http';
import { totalLimiterWaitMs } from '../../nodes/common/rateLimiter';
import { clearVtigerSessions } from '../../nodes/Vtiger/transport';
import type { IDataObject, IExecuteFunctions, IHttpRequestOptions, INodeExecutionData, INodeType } from 'n8n-workflow';
import type { CredentialStore, NodeSpec } from '../harness/n8n';
import { registerNodeType, runNodes } from '../harness/n8n';

/** Every HTTP request this process sends, with its round trip (request start → last byte of the answer). */
interface Sent {
	method: string;
	url: string;
	headers: Record<string, string>;
	body: Buffer[];
	t0: number;
	t1?: number;
}
const sent: Sent[] = [];
/** Request bodies, kept so the same requests can be replayed by a minimal client. */
const bodies = new WeakMap<object, Buffer[]>();
function bodyOf(request: object): Buffer[] {
	let body = bodies.get(request);
	if (!body) bodies.set(request, (body = []));
	return body;
}
const { write, end } = ClientRequest.prototype;
ClientRequest.prototype.write = function (this: ClientRequest, chunk: unknown, ...rest: unknown[]) {
	if (chunk && typeof chunk !== 'function') bodyOf(this).push(Buffer.from(chunk as string));
	return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
} as ClientRequest['write'];
ClientRequest.prototype.end = function (this: ClientRequest, chunk?: unknown, ...rest: unknown[]) {
	if (chunk && typeof chunk !== 'function') bodyOf(this).push(Buffer.from(chunk as string));
	return (end as (...a: unknown[]) => ClientRequest).call(this, chunk, ...rest);
} as ClientRequest['end'];
const bySocket = new WeakMap<object, Sent>();
dc.subscribe('http.client.request.start', (message) => {
	const { request } = message as { request: ClientRequest };
	const entry: Sent = { method: request.method, url: `${request.protocol}//${String(request.getHeader('host') ?? request.host)}${request.path}`, headers: {}, body: [], t0: performance.now() };
	for (const [k, v] of Object.entries(request.getHeaders())) if (!['host', 'connection', 'content-length'].includes(k.toLowerCase())) entry.headers[k] = String(v);
	entry.body = bodyOf(request);
	bySocket.set(request, entry);
	sent.push(entry);
});
dc.subscribe('http.client.response.finish', (message) => {
	const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
	const entry = bySocket.get(request);
	response.once('end', () => entry && (entry.t1 = performance.now()));
});
const trips = () => sent.filter((s) => s.t1 !== undefined).map((s) => [s.t0, s.t1!] as [number, number]);

/**
 * The bare-client floors: the same requests sent one after another outside n8n by a minimal client that parses each
 * JSON answer — `fetch` (undici), and axios as n8n's `httpRequest` helper drives it (responseType text). What the
 * engine floor takes beyond them is what n8n's engine and helper cost, which every n8n node pays.
 */
async function replay(requests: Sent[], client: 'fetch' | 'axios'): Promise<number> {
	const started = performance.now();
	for (const r of requests) {
		const data = r.body.length ? Buffer.concat(r.body) : undefined;
		const text =
			client === 'fetch'
				? await (await fetch(r.url, { method: r.method, headers: r.headers, body: data })).text()
				: String((await axios.request({ method: r.method, url: r.url, headers: r.headers, data, responseType: 'text', validateStatus: () => true })).data);
		try {
			JSON.parse(text);
		} catch {
			// not JSON (an empty 204, an HTML error page): the node would not parse it either
		}
	}
	return performance.now() - started;
}

/**
 * The engine floor: a node that does nothing but send the same requests through the n8n helper the node uses
 * (`httpRequest`, or `httpRequestWithAuthentication` where n8n applies the credential), parse each text answer
 * once, and hand the records on as items paired with the input item, as every node should, in the same engine.
 * What our node takes beyond it is its own overhead; what the engine floor takes beyond a bare client is n8n's.
 */
const FLOOR_TYPE = 'bench.floor';
let floorJob: { requests: Sent[]; records: (answer: IDataObject) => unknown[]; authenticatedAs?: string } = { requests: [], records: () => [] };
registerNodeType(FLOOR_TYPE, {
	description: {
		displayName: 'Floor',
		name: 'floor',
		group: ['transform'],
		version: 1,
		description: '',
		defaults: {},
		inputs: ['main'],
		outputs: ['main'],
		properties: [],
		credentials: ['salesManApi', 'amoCrmApi'].map((name) => ({ name, required: false })),
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items: INodeExecutionData[] = [];
		for (const r of floorJob.requests) {
			const options: IHttpRequestOptions = {
				method: r.method as 'GET',
				url: r.url,
				headers: r.headers,
				body: r.body.length ? Buffer.concat(r.body).toString() : undefined,
				json: false,
				encoding: 'text',
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
			};
			const { authenticatedAs } = floorJob;
			const answer = (await (authenticatedAs ? this.helpers.httpRequestWithAuthentication.call(this, authenticatedAs, options) : this.helpers.httpRequest(options))) as { body: string };
			let parsed: unknown;
			try {
				parsed = JSON.parse(answer.body);
			} catch {
				continue;
			}
			if (parsed && typeof parsed === 'object') for (const json of floorJob.records(parsed as IDataObject)) items.push({ json: json as IDataObject, pairedItem: { item: 0 } });
		}
		return [items];
	},
} as unknown as INodeType);

/** Total time covered by at least one round trip (parallel requests count once). */
function busyMs(spans: Array<[number, number]>): number {
	const sorted = [...spans].sort((a, b) => a[0] - b[0]);
	let total = 0;
	let [start, end] = sorted[0] ?? [0, 0];
	for (const [s, e] of sorted.slice(1)) {
		if (s > end) {
			total += end - start;
			[start, end] = [s, e];
		} else end = Math.max(end, e);
	}
	return total + (end - start);
}

interface Crm {
	name: string;
	/** The emulator's name in test/emulators/. */
	emulator: string;
	spec: NodeSpec;
	/** The records in one answer, for the engine floor. */
	records: (answer: IDataObject) => unknown[];
}

/** The credential type whose `authenticate` n8n applies to each request (nodes that send through httpRequestWithAuthentication). */
const authenticatedAs = (crm: Crm): string | undefined => (['SalesMan', 'amoCRM'].includes(crm.name) ? crm.spec.credentialType : undefined);

const arrayOr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const CRMS: Crm[] = [
	{ name: 'Vtiger', emulator: 'vtiger', spec: { parameters: { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true } }, records: (a) => arrayOr(a.result) },
	{
		name: 'Bitrix24',
		emulator: 'bitrix24',
		spec: { type: 'n8n-nodes-crm-suite.bitrix24', credentialType: 'bitrix24WebhookApi', parameters: { authentication: 'webhook', resource: 'lead', operation: 'getMany', returnAll: true } },
		// crm.lead.list answers an array; a batch answers { result: { result: { cmd: [...] } } }.
		records: (a) => (Array.isArray(a.result) ? a.result : Object.values(((a.result as IDataObject)?.result as IDataObject) ?? {}).flatMap(arrayOr)),
	},
	{
		name: 'amoCRM',
		emulator: 'amocrm',
		spec: { type: 'n8n-nodes-crm-suite.amoCrm', credentialType: 'amoCrmApi', parameters: { authentication: 'longLivedToken', resource: 'lead', operation: 'getMany', returnAll: true } },
		records: (a) => arrayOr((a._embedded as IDataObject)?.leads),
	},
	{
		name: 'SalesMan',
		emulator: 'salesman',
		spec: { type: 'n8n-nodes-crm-suite.salesMan', credentialType: 'salesManApi', parameters: { resource: 'client', operation: 'getMany', returnAll: true } },
		records: (a) => arrayOr(a.data),
	},
];

/** The emulator, seeded, in a child process (its CPU and GC stay out of the node's figures). */
async function startEmulator(crm: Crm, records: number, latencyMs: number) {
	const child = fork(path.join(process.cwd(), 'test/bench/emulator-child.js'), { stdio: 'inherit' });
	const credentials = await new Promise<CredentialStore>((resolve, reject) => {
		child.once('message', (message) => resolve((message as { credential: CredentialStore }).credential));
		child.once('exit', (code) => reject(new Error(`the ${crm.name} emulator exited (${code})`)));
		child.send({ crm: crm.emulator, records, latencyMs });
	});
	return { credentials, stop: () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.disconnect(); }) };
}

const ONLY = process.env.GROWTH_CRMS?.split(',');
const SIZES = (process.env.GROWTH_SIZES ?? '100,1000,10000,100000').split(',').map(Number);

/** Alternate runs of the node and of the engine floor; the fastest of each counts (a run a GC pause or the
 * machine slowed is noise, not overhead). */
const REPEATS = Number(process.env.GROWTH_REPEATS ?? 5);
/** Time spent in garbage collection, in total (PerformanceObserver 'gc' entries). */
let gcMs = 0;
new PerformanceObserver((list) => {
	for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * One run through n8n's engine, timed from a collected heap. Its items are counted and dropped, so that the next
 * run does not start with them alive (a heap that is already large is collected less often, which would flatter
 * whichever run comes second).
 */
async function timedRun(credentials: CredentialStore, spec: NodeSpec) {
	collectGarbage();
	const [cpuBefore, gcBefore, waitedBefore] = [process.cpuUsage(), gcMs, totalLimiterWaitMs()];
	const started = performance.now();
	const { items, error } = await runNodes(credentials, [spec]);
	const wallMs = performance.now() - started;
	const cpu = process.cpuUsage(cpuBefore);
	return { wallMs, limiterMs: totalLimiterWaitMs() - waitedBefore, cpuMs: (cpu.user + cpu.system) / 1000, gcMs: gcMs - gcBefore, count: items.length, error };
}

async function measure(crm: Crm, records: number, latencyMs = 0) {
	const { credentials, stop } = await startEmulator(crm, records, latencyMs);
	let requests: Sent[] = [];
	let best = { wallMs: Infinity, limiterMs: 0, httpMs: 0, cpuMs: 0, gcMs: 0 };
	let floorBest = { wallMs: Infinity, cpuMs: 0, gcMs: 0, httpMs: 0 };
	const repeats = records > 10_000 ? Math.min(2, REPEATS) : REPEATS;
	for (let round = 0; round < repeats; round++) {
		clearVtigerSessions();
		sent.length = 0;
		const run = await timedRun(credentials, crm.spec);
		if (run.error) throw run.error;
		if (run.count !== records) throw new Error(`${crm.name}: ${run.count} items for ${records} records`);
		if (run.wallMs - run.limiterMs < best.wallMs - best.limiterMs) best = { ...run, httpMs: busyMs(trips()) };
		// The first round is the cold one: a metadata read cached for later runs (Vtiger describe) counts here.
		if (round === 0) requests = [...sent];

		floorJob = { requests, records: crm.records, authenticatedAs: authenticatedAs(crm) };
		sent.length = 0;
		const floor = await timedRun(credentials, { type: FLOOR_TYPE, parameters: {}, credentialType: crm.spec.credentialType });
		if (floor.error) throw floor.error;
		if (floor.count !== records) throw new Error(`${crm.name}: the floor got ${floor.count} items for ${records} records`);
		if (floor.wallMs < floorBest.wallMs) floorBest = { ...floor, httpMs: busyMs(trips()) };
	}
	const floorMs = await replay(requests, 'fetch');
	const helperFloorMs = await replay(requests, 'axios');
	await stop();
	const { wallMs, limiterMs, httpMs } = best;
	const floorEngineMs = floorBest.wallMs;
	const share = (floor: number) => `${((Math.max(0, wallMs - limiterMs - floor) / wallMs) * 100).toFixed(1)}`;
	return {
		crm: crm.name,
		records,
		'latency ms': latencyMs,
		calls: requests.length,
		'wall s': (wallMs / 1000).toFixed(2),
		'HTTP s node/floor': `${(httpMs / 1000).toFixed(2)}/${(floorBest.httpMs / 1000).toFixed(2)}`,
		'limiter s': (limiterMs / 1000).toFixed(2),
		'engine floor s': (floorEngineMs / 1000).toFixed(2),
		'node overhead %': share(floorEngineMs),
		'CPU s node/floor': `${(best.cpuMs / 1000).toFixed(2)}/${(floorBest.cpuMs / 1000).toFixed(2)}`,
		'GC s node/floor': `${(best.gcMs / 1000).toFixed(2)}/${(floorBest.gcMs / 1000).toFixed(2)}`,
		'fetch floor s': (floorMs / 1000).toFixed(2),
		'axios floor s': (helperFloorMs / 1000).toFixed(2),
		'beyond fetch %': share(floorMs),
		'items/s': Math.round(records / (wallMs / 1000)),
	};
}

/** A small log-log line chart: one line per CRM, HTTP calls against records. */
function svg(rows: Array<{ crm: string; records: number; calls: number }>): string {
	const W = 560;
	const H = 320;
	const m = { l: 60, r: 110, t: 20, b: 45 };
	const xs = rows.map((r) => r.records);
	const ys = rows.map((r) => r.calls);
	const lx = (v: number) => Math.log10(v);
	const [x0, x1] = [lx(Math.min(...xs)), lx(Math.max(...xs))];
	const [y0, y1] = [0, Math.ceil(lx(Math.max(...ys)))];
	const X = (v: number) => m.l + ((lx(v) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
	const Y = (v: number) => H - m.b - ((lx(Math.max(1, v)) - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
	const colors: Record<string, string> = { Vtiger: '#1f77b4', Bitrix24: '#2ca02c', amoCRM: '#d62728', SalesMan: '#9467bd' };
	const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
	for (let e = Math.ceil(x0); e <= x1; e++) parts.push(`<line x1="${X(10 ** e)}" y1="${m.t}" x2="${X(10 ** e)}" y2="${H - m.b}" stroke="#eee"/><text x="${X(10 ** e)}" y="${H - m.b + 15}" text-anchor="middle">${(10 ** e).toLocaleString('en')}</text>`);
	for (let e = y0; e <= y1; e++) parts.push(`<line x1="${m.l}" y1="${Y(10 ** e)}" x2="${W - m.r}" y2="${Y(10 ** e)}" stroke="#eee"/><text x="${m.l - 6}" y="${Y(10 ** e) + 4}" text-anchor="end">${(10 ** e).toLocaleString('en')}</text>`);
	parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">records read with Return All (log)</text>`, `<text x="14" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})" text-anchor="middle">HTTP calls (log)</text>`);
	for (const crm of Object.keys(colors)) {
		const line = rows.filter((r) => r.crm === crm);
		if (!line.length) continue;
		parts.push(`<polyline fill="none" stroke="${colors[crm]}" stroke-width="2" points="${line.map((r) => `${X(r.records).toFixed(1)},${Y(r.calls).toFixed(1)}`).join(' ')}"/>`);
		for (const r of line) parts.push(`<circle cx="${X(r.records).toFixed(1)}" cy="${Y(r.calls).toFixed(1)}" r="3" fill="${colors[crm]}"/>`);
		const last = line[line.length - 1];
		parts.push(`<text x="${X(last.records) + 8}" y="${Y(last.calls) + 4}" fill="${colors[crm]}">${crm} (${last.calls})</text>`);
	}
	parts.push('</svg>');
	return parts.join('\n');
}

async function main() {
	const rows = [];
	// First runs load modules lazily and warm the JIT: not part of any figure.
	for (const crm of CRMS) await measure(crm, 100);
	for (const crm of CRMS.filter((c) => !ONLY || ONLY.includes(c.name))) for (const records of SIZES) rows.push(await measure(crm, records));
	// With a network between n8n and the CRM (20 ms per answer, a near cloud CRM) the same overhead is a small share.
	const withLatency = [];
	for (const crm of CRMS.filter((c) => !ONLY || ONLY.includes(c.name))) withLatency.push(await measure(crm, 10_000, 20));
	console.table(rows);
	console.table(withLatency);
	if (SIZES.length > 1) {
		const file = path.join(process.cwd(), 'docs/images/bench-growth.svg');
		fs.writeFileSync(file, svg(rows));
		console.log(`wrote ${path.relative(process.cwd(), file)}`);
	}
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
