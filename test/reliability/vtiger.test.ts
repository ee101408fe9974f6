/**
 * Vtiger under faults: HTTP 500, connections reset before and after Vtiger acted, answers that never come
 * (timeouts), and sessions expiring mid-run. Vtiger documents no rate limit and the emulator has no rate-limit
 * fault (a self-hosted Vtiger answers whatever it can), so there is no refusal to wait out here. Runs go through a
 * fault proxy (./faultProxy); the emulator's request log and stored records are the evidence.
 */
import type { IDataObject } from 'n8n-workflow';
import { runNodes } from '../harness/n8n';
import type { CredentialStore } from '../harness/n8n';
import { count, freshStart, queries, startVtiger } from '../vtiger/setup';
import type { VtigerEmulator } from '../vtiger/setup';
import { onNth } from './faultProxy';
import type { FaultProxy, SeenRequest } from './faultProxy';
import { behindFaultProxy, duplicates, pairedIndex, paceAccount, range, UNKNOWN_OUTCOME } from './support';

jest.setTimeout(30_000);

interface Rig {
	emulator: VtigerEmulator;
	proxy: FaultProxy;
	credentials: CredentialStore;
	stop: () => Promise<void>;
}

async function rig(): Promise<Rig> {
	const { emulator, proxy, credentials, stop } = await behindFaultProxy(() => startVtiger());
	return {
		emulator,
		proxy,
		credentials: { vtigerApi: { ...credentials.vtigerApi, baseUrl: proxy.url } },
		stop,
	};
}

const record = (operation: string, extra: IDataObject = {}, continueOnFail = false) => ({ parameters: { resource: 'record', operation, module: 'Accounts', ...extra }, continueOnFail });
const mapped = (value: IDataObject) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });
const isQuery = (request: SeenRequest) => request.method === 'GET' && /[?&]operation=query(&|$)/.test(request.url);
const isCreate = (request: SeenRequest) => request.method === 'POST' && /(^|&)operation=create(&|$)/.test(request.body);
const create = (r: Rig, input: IDataObject[], continueOnFail = true) =>
	runNodes(r.credentials, [record('create', { fields: mapped({ accountname: '={{ $json.name }}' }) }, continueOnFail)], input);
/** Create requests the emulator received, by the account name each carried. */
const createsByName = (emulator: VtigerEmulator) => emulator.requests.filter((r) => r.operation === 'create').map((r) => String((JSON.parse(r.params.element) as IDataObject).accountname));

describe('Vtiger: Return All under faults', () => {
	let r: Rig;
	let seeded: string[];
	beforeAll(async () => {
		r = await rig();
		seeded = r.emulator.seed('Accounts', 10_000);
	});
	afterAll(async () => await r.stop());
	beforeEach(() => {
		freshStart(r.emulator);
		r.proxy.plan = undefined;
		r.proxy.log.length = 0;
	});

	it('10,000 accounts with an HTTP 500, a drop, an expired session, a reset after the answer and a hung answer mid-run: every account exactly once', async () => {
		const arm = (fault: IDataObject) => () => void r.emulator.knobs.failNext.push({ ...fault, operation: 'query' });
		r.proxy.plan = onNth(isQuery, { 10: arm({ type: 'http500' }), 21: arm({ type: 'drop' }), 32: arm({ type: 'sessionExpired' }), 43: () => 'resetAfter', 54: () => 'hangAfter' });
		const { items, error } = await runNodes(r.credentials, [record('getMany', { returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(10_000);
		expect(new Set(items.map((item) => item.json.id)).size).toBe(10_000);
		expect(items.map((item) => item.json.id)).toEqual(seeded);
		// 100 full pages and an empty one, plus one resend per fault; the resend asked for the same page.
		const sent = queries(r.emulator);
		expect(sent).toHaveLength(101 + 5);
		for (const n of [10, 21, 32, 43, 54]) expect(sent[n - 1]).toBe(sent[n]);
		expect(new Set(sent).size).toBe(101);
		// The expired session cost one new login; the other faults none.
		expect(count(r.emulator, 'login')).toBe(2);
		expect(r.proxy.log.filter((e) => e.fault).map((e) => e.fault)).toEqual(['resetAfter', 'hangAfter']);
	});
});

describe('Vtiger: two executions share a session that expires mid-run', () => {
	let r: Rig;
	let seeded: string[];
	beforeAll(async () => {
		r = await rig();
		seeded = r.emulator.seed('Accounts', 2_000);
	});
	afterAll(async () => await r.stop());

	it('both renew it with one new login between them and read every account once', async () => {
		freshStart(r.emulator);
		// The 5th query deletes the shared session: the query that meets it, and the other run's next one, are refused.
		r.proxy.plan = onNth(isQuery, { 5: () => void r.emulator.knobs.failNext.push({ type: 'sessionExpired', operation: 'query' }) });
		const runs = await Promise.all([1, 2].map(async () => await runNodes(r.credentials, [record('getMany', { returnAll: true })])));
		for (const run of runs) {
			expect(run.error).toBeUndefined();
			expect(run.items.map((item) => item.json.id)).toEqual(seeded);
		}
		expect(count(r.emulator, 'login')).toBe(2);
		const sessions = new Set(r.emulator.requests.filter((q) => q.operation === 'query').map((q) => q.sessionName));
		expect(sessions.size).toBe(2);
	});
});

describe('Vtiger: writes under faults', () => {
	let r: Rig;
	beforeAll(async () => (r = await rig()));
	afterAll(async () => await r.stop());
	beforeEach(() => {
		freshStart(r.emulator);
		r.emulator.reset();
		r.proxy.plan = undefined;
		r.proxy.log.length = 0;
	});

	it('a create whose answer was lost after Vtiger acted is not resent: that item says the outcome is unknown, the others succeed', async () => {
		const input = range(5).map((i) => ({ name: `Acct ${i}` }));
		r.proxy.plan = onNth(isCreate, { 3: () => 'resetAfter' });
		const { items, error } = await create(r, input);
		expect(error).toBeUndefined();
		expect(items.map(pairedIndex)).toEqual(range(5));
		expect(String(items[2].json.error)).toMatch(/^The CRM did not confirm "Vtiger create": the request may or may not have been carried out\..*\[item 2\]$/);
		expect(items.filter((item) => item.json.id).map(pairedIndex)).toEqual([0, 1, 3, 4]);
		expect(createsByName(r.emulator)).toEqual(input.map((i) => i.name));
	});

	it('a session that expires mid-run is renewed and the refused create sent again: created once', async () => {
		const input = range(5).map((i) => ({ name: `Acct ${i}` }));
		r.proxy.plan = onNth(isCreate, { 3: () => void r.emulator.knobs.failNext.push({ type: 'sessionExpired', operation: 'create' }) });
		const { items, error } = await create(r, input, false);
		expect(error).toBeUndefined();
		expect(items.every((item) => item.json.id)).toBe(true);
		expect(createsByName(r.emulator)).toEqual(['Acct 0', 'Acct 1', 'Acct 2', 'Acct 2', 'Acct 3', 'Acct 4']);
		expect(r.emulator.requests.filter((q) => q.operation === 'create').map((q) => q.sessionName === r.emulator.requests.find((x) => x.operation === 'create')!.sessionName)).toEqual([true, true, true, false, false, false]);
		expect(count(r.emulator, 'login')).toBe(2);
	});

	it('without Continue On Fail a hung create stops the run naming the item; nothing is resent', async () => {
		const input = range(5).map((i) => ({ name: `Acct ${i}` }));
		r.proxy.plan = onNth(isCreate, { 2: () => 'hangAfter' });
		const { items, error } = await create(r, input, false);
		expect(items).toEqual([]);
		expect(error?.message).toMatch(/^The CRM did not confirm "Vtiger create".*\[item 1\]$/);
		expect(createsByName(r.emulator)).toEqual(['Acct 0', 'Acct 1']);
	});
});

describe('Vtiger: 1,000 creates (one request per item) with faults sprinkled in', () => {
	let r: Rig;
	beforeAll(async () => {
		r = await rig();
		paceAccount('vtiger', r.proxy.url, { perSecond: 1000, burst: 1000 });
	});
	afterAll(async () => await r.stop());

	it('every item ends created exactly once or with an error naming it; Vtiger holds exactly the created ones', async () => {
		const N = 1_000;
		const input = range(N).map((i) => ({ name: `Bulk ${i}` }));
		freshStart(r.emulator);
		const arm = (fault: IDataObject) => () => void r.emulator.knobs.failNext.push({ ...fault, operation: 'create' });
		// Numbers count create requests: the session refusal's resend takes a number of its own.
		r.proxy.plan = onNth(isCreate, {
			100: arm({ type: 'drop' }), // item 99: dropped before Vtiger acted; outcome unknown, nothing written
			200: arm({ type: 'http500' }), // item 199: HTTP 500; outcome unknown, nothing written
			300: () => 'resetAfter', // item 299: written, answer lost
			400: () => 'hangAfter', // item 399: written, answer never came
			500: arm({ type: 'sessionExpired' }), // item 499: refused, new session, resent
			700: arm({ type: 'drop' }), // item 698
		});
		const { items, error } = await create(r, input);
		expect(error).toBeUndefined();
		expect(items.map(pairedIndex)).toEqual(range(N));
		const failed = items.filter((item) => item.json.error);
		for (const item of failed) expect(String(item.json.error)).toMatch(UNKNOWN_OUTCOME);
		expect(failed.map((item) => Number(UNKNOWN_OUTCOME.exec(String(item.json.error))![1]))).toEqual(failed.map(pairedIndex));
		expect(failed.map(pairedIndex)).toEqual([99, 199, 299, 399, 698]);
		expect(String(items[199].json.error)).toMatch(/"Vtiger create \(HTTP 500\)"/);
		const created = items.filter((item) => item.json.id);
		expect(created).toHaveLength(N - 5);
		for (const item of created) expect(r.emulator.getRecord(String(item.json.id))?.accountname).toBe(input[pairedIndex(item)].name);

		// Each item reached Vtiger once; only the one refused for its session twice.
		const sent = createsByName(r.emulator);
		expect(duplicates(sent)).toEqual(['Bulk 499']);
		expect(new Set(sent)).toEqual(new Set(input.map((i) => i.name)));
		expect(sent).toHaveLength(N + 1);
		// Vtiger holds the created ones and the two whose answers were lost, each once.
		r.proxy.plan = undefined;
		const stored = await runNodes(r.credentials, [record('getMany', { returnAll: true, options: { fields: ['accountname'] } })]);
		const held = stored.items.map((item) => String(item.json.accountname));
		expect(held).toHaveLength(N - 3);
		expect(duplicates(held)).toEqual([]);
		expect(new Set(held)).toEqual(new Set([...created.map((item) => input[pairedIndex(item)].name), 'Bulk 299', 'Bulk 399']));
	});
});
