/**
 * SalesMan under faults: HTTP 500, connections reset before and after SalesMan acted, and answers that never come
 * (timeouts). SalesMan documents no rate limit and authenticates every request with its API key (no session or token
 * to expire), so those faults do not exist here. Runs go through a fault proxy (./faultProxy); the emulator's
 * request log and stored records are the evidence.
 */
import type { IDataObject } from 'n8n-workflow';
import { runNodes } from '../harness/n8n';
import type { CredentialStore } from '../harness/n8n';
import { startSalesMan } from '../salesman/setup';
import type { SalesManEmulator } from '../salesman/setup';
import { onNth } from './faultProxy';
import type { FaultProxy, SeenRequest } from './faultProxy';
import { behindFaultProxy, rigPerBlock, chunkItems, duplicates, expectBulkWriteOutcome, pairedIndex, paceAccount, range } from './support';

jest.setTimeout(30_000);

interface Rig {
	emulator: SalesManEmulator;
	proxy: FaultProxy;
	credentials: CredentialStore;
	stop: () => Promise<void>;
}

async function rig(): Promise<Rig> {
	const { emulator, proxy, credentials, stop } = await behindFaultProxy(() => startSalesMan());
	return {
		emulator,
		proxy,
		credentials: { salesManApi: { ...credentials.salesManApi, baseUrl: proxy.url } },
		stop,
	};
}

const node = (parameters: IDataObject, continueOnFail = true) => ({ type: 'n8n-nodes-crm-suite.salesMan', credentialType: 'salesManApi', parameters, continueOnFail });
const mapped = (value: IDataObject) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });
const action = (name: string) => (request: SeenRequest) => request.url.startsWith('/developer/v2/client') && (JSON.parse(request.body || '{}') as IDataObject).action === name;
const calls = (emulator: SalesManEmulator, name: string) => emulator.requests.filter((r) => r.methodName === 'client' && r.action === name);
/** Titles each add.list request carried. */
const titlesOf = (request: { params: IDataObject }) => ((request.params.client ?? []) as IDataObject[]).map((c) => String(c.title));
/** Every client the emulator holds, by title (ids are 1, 2, 3…). */
function storedTitles(emulator: SalesManEmulator, upTo: number): string[] {
	const titles: string[] = [];
	for (let clid = 1; clid <= upTo; clid++) {
		const client = emulator.getRecord('client', clid);
		if (client) titles.push(String(client.title));
	}
	return titles;
}

describe('SalesMan: Return All under faults', () => {
	const r = rigPerBlock(() => rig());

	it('5,000 clients with an HTTP 500, a drop, a reset after the answer and a hung answer mid-run: every client exactly once', async () => {
		const ids = r.emulator.seed('client', 5_000, { date_create: '2024-01-01 00:00:00', stepSeconds: 1 });
		r.emulator.clearRequests();
		const arm = (type: string) => () => void r.emulator.knobs.failNext.push({ type, action: 'list' });
		r.proxy.plan = onNth(action('list'), { 4: arm('http500'), 9: arm('drop'), 14: () => 'resetAfter', 19: () => 'hangAfter' });
		const { items, error } = await runNodes(r.credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true, filters: { first: 'old' } }, false)]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(5_000);
		expect(new Set(items.map((item) => item.json.clid)).size).toBe(5_000);
		expect(items.map((item) => item.json.clid)).toEqual(ids);
		// 25 pages of 200 (the count says where the list ends), plus one resend per fault, of the same page.
		const pages = calls(r.emulator, 'list').map((c) => c.params.offset);
		expect(pages).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 11, 12, 13, 14, 15, 15, ...range(9).map((i) => 16 + i)]);
		expect(r.proxy.log.filter((e) => e.fault).map((e) => e.fault)).toEqual(['resetAfter', 'hangAfter']);
	});
});

describe('SalesMan: writes under faults', () => {
	const r = rigPerBlock(() => rig());

	it('a client add whose answer was lost after SalesMan saved it is not resent: that item says the outcome is unknown, the others succeed', async () => {
		const input = range(5).map((i) => ({ title: `Client ${i}` }));
		r.proxy.plan = onNth(action('add'), { 2: () => 'resetAfter', 4: () => 'hangAfter' });
		const { items, error } = await runNodes(r.credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ title: '={{ $json.title }}' }) })], input);
		expect(error).toBeUndefined();
		expect(items.map(pairedIndex)).toEqual(range(5));
		expect(String(items[1].json.error)).toMatch(/^The CRM did not confirm "SalesMan client add": the request may or may not have been carried out\..*\[item 1\]$/);
		expect(String(items[3].json.error)).toMatch(/^The CRM did not confirm "SalesMan client add".*\[item 3\]$/);
		expect(items.filter((item) => item.json.clid).map(pairedIndex)).toEqual([0, 2, 4]);
		expect(calls(r.emulator, 'add').map((c) => c.params.title)).toEqual(input.map((i) => i.title));
		expect(storedTitles(r.emulator, 10)).toEqual(input.map((i) => i.title));
	});

	it('without Continue On Fail an add.list whose answer was lost stops the run; it names the item and the items written before', async () => {
		const input = range(120).map((i) => ({ title: `Client ${i}` }));
		r.proxy.plan = onNth(action('add.list'), { 2: () => 'resetAfter' });
		const { error } = await runNodes(r.credentials, [node({ resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}' }) }, false)], input);
		expect(error?.message).toMatch(/^The CRM did not confirm "SalesMan client add.list".*\[item 50\]$/);
		expect(error?.description).toContain(`Items ${range(50).join(', ')} were written before the node stopped`);
		expect(error?.description).toContain(`Items ${range(50).map((i) => 50 + i).join(', ')} were in the same request.`);
		expect(calls(r.emulator, 'add.list')).toHaveLength(2);
		expect(r.emulator.count('client')).toBe(100);
	});
});

describe('SalesMan: 10,000-item Create Many (add.list) with faults sprinkled in', () => {
	let r: Rig;
	beforeAll(async () => {
		r = await rig();
		paceAccount('salesman', r.proxy.url, { perSecond: 1000, burst: 1000 });
	});
	afterAll(async () => await r.stop());

	it('every item ends created exactly once or with an error naming it; SalesMan holds exactly the created ones', async () => {
		const N = 10_000;
		const input = range(N).map((i) => ({ title: `Bulk ${i}` }));
		r.emulator.reset();
		const arm = (type: string) => () => void r.emulator.knobs.failNext.push({ type, action: 'add.list' });
		r.proxy.plan = onNth(action('add.list'), {
			40: arm('http500'), // chunk 39 (items 1950-1999): HTTP 500, outcome unknown (nothing written)
			60: arm('drop'), // chunk 59: dropped before acting, outcome unknown (nothing written)
			80: () => 'resetAfter', // chunk 79: written, answer lost
			100: () => 'hangAfter', // chunk 99: written, answer never came
			150: arm('drop'), // chunk 149
		});
		const { items, error } = await runNodes(r.credentials, [node({ resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}' }) })], input);
		expect(error).toBeUndefined();
		const created = expectBulkWriteOutcome(items, {
			count: N,
			unknownChunks: [39, 59, 79, 99, 149],
			idOf: (json) => json.clid,
			stored: (id) => r.emulator.getRecord('client', Number(id))?.title,
			wanted: (i) => input[i].title,
		});

		// Every chunk was sent once; SalesMan holds the created ones and the two chunks whose answers were lost, once each.
		const sent = calls(r.emulator, 'add.list').flatMap(titlesOf);
		expect(sent).toHaveLength(N);
		expect(duplicates(sent)).toEqual([]);
		const held = storedTitles(r.emulator, N + 10);
		expect(held).toHaveLength(N - 150);
		expect(duplicates(held)).toEqual([]);
		expect(new Set(held)).toEqual(new Set([...created.map((item) => input[pairedIndex(item)].title), ...[...chunkItems(79), ...chunkItems(99)].map((i) => input[i].title)]));
	});
});
