// The SalesMan node and trigger, run in-process through n8n's engine, against the real SalesMan CRM 2025.4 of
// ../shared/real-crm (PHP 8.2, MariaDB). The node talks through a logging proxy (what the CRM received); what
// SalesMan stored is read back with a raw API call, not with the node.
import type { IDataObject } from 'n8n-workflow';
import { loadOptions, runNodes, webhookTrigger } from '../harness/n8n';
import { assertReachable, credentials as direct, mapped, recordingProxy, registerSalesManWebhook, RUN, salesMan, SALESMAN } from './setup';

jest.setTimeout(180_000);

const TYPE = 'n8n-nodes-crm-suite.salesMan';
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let credentials: typeof direct;
const node = (parameters: IDataObject, extra: { continueOnFail?: boolean } = {}) => ({ type: TYPE, credentialType: 'salesManApi', parameters, ...extra });
const SEEDED = 260;

/** What SalesMan stored, read with a raw `info` call. */
async function info(method: string, id: number | string): Promise<IDataObject | undefined> {
	const idParam = { client: 'clid', person: 'pid', deal: 'did' }[method] ?? 'id';
	const answer = await salesMan(method, { action: 'info', [idParam]: Number(id) });
	return answer.json?.data;
}

async function total(method: string, extra: IDataObject = {}): Promise<number> {
	const answer = await salesMan(method, { action: 'list', offset: 0, ...extra });
	return Number(answer.json?.count ?? 0);
}

beforeAll(async () => {
	await assertReachable(SALESMAN.baseUrl, 'The real SalesMan');
	proxy = await recordingProxy(SALESMAN.baseUrl);
	credentials = { salesManApi: { ...direct.salesManApi, baseUrl: proxy.url } };
});
afterAll(async () => await proxy?.close());
beforeEach(() => proxy.clear());

describe('clients on the real SalesMan', () => {
	let created: number[] = [];

	it(`Create Many writes ${SEEDED} clients in add.list requests of 50, each item mapped to its clid`, async () => {
		const input = Array.from({ length: SEEDED }, (_, i) => ({ title: `${RUN} client ${String(i).padStart(3, '0')}` }));
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}', phone: '+7 900 000-00-00' }) })], input);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(SEEDED);
		created = items.map((item) => Number(item.json.clid));
		expect(created.every((clid) => clid > 0)).toBe(true);
		expect(new Set(created).size).toBe(SEEDED);
		expect(proxy.seen.filter((r) => r.operation === 'add.list').map((r) => (r.params.client as unknown[]).length)).toEqual([50, 50, 50, 50, 50, 10]);
		const sample = await info('client', created[137]);
		expect(sample).toMatchObject({ title: `${RUN} client 137`, phone: '+7 900 000-00-00' });
	});

	it('Get Many Return All reads every client exactly once across 200-row pages, as the list count says', async () => {
		const count = await total('client');
		expect(count).toBeGreaterThanOrEqual(SEEDED);
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(count);
		expect(new Set(items.map((item) => item.json.clid)).size).toBe(count);
		expect(items.map((item) => Number(item.json.clid))).toEqual(expect.arrayContaining(created));
		// Pages are numbered (offset 0, 1, …) and the node stops at the list's count.
		expect(proxy.seen.filter((r) => r.operation === 'list').map((r) => r.params.offset)).toEqual(Array.from({ length: Math.ceil(count / 200) }, (_, i) => i));
	});

	it('a search word and a limit across a page bound return exactly the matching clients', async () => {
		const found = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true, filters: { word: `${RUN} client` } })]);
		expect(found.error).toBeUndefined();
		expect(found.items.map((item) => Number(item.json.clid)).sort((a, b) => a - b)).toEqual([...created].sort((a, b) => a - b));
		const limited = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: false, limit: 230 })]);
		expect(limited.items).toHaveLength(230);
		expect(new Set(limited.items.map((item) => item.json.clid)).size).toBe(230);
	});

	it('creates, gets, updates (only the given fields) and deletes a client', async () => {
		const made = await runNodes(credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ title: `${RUN} crud`, phone: '+7 900 111-22-33', address: 'Moscow' }) })]);
		expect(made.error).toBeUndefined();
		const clid = Number(made.items[0].json.clid);
		expect(await info('client', clid)).toMatchObject({ title: `${RUN} crud`, phone: '+7 900 111-22-33', address: 'Moscow' });

		const got = await runNodes(credentials, [node({ resource: 'client', operation: 'get', recordId: String(clid) })]);
		expect(got.items[0].json).toMatchObject({ clid, title: `${RUN} crud` });

		const updated = await runNodes(credentials, [node({ resource: 'client', operation: 'update', recordId: String(clid), fields: mapped({ title: `${RUN} crud renamed` }) })]);
		expect(updated.error).toBeUndefined();
		expect(await info('client', clid)).toMatchObject({ title: `${RUN} crud renamed`, phone: '+7 900 111-22-33', address: 'Moscow' });

		const deleted = await runNodes(credentials, [node({ resource: 'client', operation: 'delete', recordId: String(clid) })]);
		expect(deleted.error).toBeUndefined();
		const gone = await runNodes(credentials, [node({ resource: 'client', operation: 'get', recordId: String(clid) }, { continueOnFail: true })]);
		expect(gone.items[0].json.error).toMatch(/^SalesMan error \d+: .+\[item 0\]$/);
	});

	it('Get Fields lists the standard and the enabled custom fields', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'getFields' })]);
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.name)).toEqual(expect.arrayContaining(['title', 'phone']));
	});
});

describe('persons, deals, tasks, history and leads on the real SalesMan', () => {
	let clid = 0;
	beforeAll(async () => {
		const answer = await salesMan('client', { action: 'add', title: `${RUN} owner` });
		clid = Number(answer.json.data);
	});

	it('person add saves but answers a PHP fatal page: reported as an unknown outcome, sent once, and it was saved', async () => {
		const name = `${RUN} Ivan Petrov`;
		const { items } = await runNodes(credentials, [node({ resource: 'person', operation: 'create', fields: mapped({ person: name, clid: String(clid) }) }, { continueOnFail: true })]);
		expect(items[0].json.error).toMatch(/did not confirm "SalesMan person add": the request may or may not have been carried out\. It was not sent again.*\[item 0\]$/);
		expect(proxy.seen.filter((r) => r.operation === 'add').map((r) => [r.path, r.status])).toEqual([['/developer/v2/person', 200]]);
		const listed = await salesMan('person', { action: 'list', word: name });
		expect((listed.json.data as IDataObject[]).map((p) => p.person)).toEqual([name]);
	});

	it('person update is read-then-written whole; SalesMan saves it, answers a fatal page, and the node says so once', async () => {
		const name = `${RUN} Olga Smirnova`;
		await salesMan('person', { action: 'add', person: name, clid, tel: '+7 900 555-00-11' });
		const pid = Number(((await salesMan('person', { action: 'list', word: name })).json.data as IDataObject[])[0].pid);
		proxy.clear();
		const { items } = await runNodes(credentials, [node({ resource: 'person', operation: 'update', recordId: String(pid), fields: mapped({ ptitle: 'CTO' }) }, { continueOnFail: true })]);
		expect(items[0].json.error).toMatch(/did not confirm "SalesMan person update": the request may or may not have been carried out\. It was not sent again.*\[item 0\]$/);
		expect(proxy.seen.map((r) => r.operation)).toEqual(['info', 'update']);
		// Sent whole, so nothing was blanked: the name and phone are kept, the title changed.
		expect(await info('person', pid)).toMatchObject({ pid, person: name, ptitle: 'CTO', tel: '+7 900 555-00-11' });
	});

	it('a deal is created, moved to another stage, closed with a sum, and its stages come from the live picker', async () => {
		const steps = (await loadOptions(credentials, { resource: 'deal', operation: 'changeStage' }, 'loadOptions', 'getDealSteps', TYPE, 'salesManApi')) as Array<{ name: string; value: string }>;
		expect(steps.length).toBeGreaterThan(1);
		const statuses = (await loadOptions(credentials, { resource: 'deal', operation: 'close' }, 'loadOptions', 'getCloseStatuses', TYPE, 'salesManApi')) as Array<{ name: string; value: string }>;
		expect(statuses.length).toBeGreaterThan(0);

		const made = await runNodes(credentials, [node({ resource: 'deal', operation: 'create', fields: mapped({ title: `${RUN} deal`, clid: String(clid) }) })]);
		expect(made.error).toBeUndefined();
		const did = String(made.items[0].json.did);
		const target = steps[steps.length - 1].value;
		const moved = await runNodes(credentials, [node({ resource: 'deal', operation: 'changeStage', recordId: did, step: target, comment: 'moved by n8n' })]);
		expect(moved.error).toBeUndefined();
		// deal info answers every plain field as null on this server: Get reads the deal from its list.
		expect(await info('deal', did)).toMatchObject({ did: null, title: null });
		const got = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: did })]);
		expect(got.error).toBeUndefined();
		expect(got.items[0].json).toMatchObject({ did: Number(did), clid, step: Number(target) });
		expect(String(got.items[0].json.title)).toMatch(new RegExp(`^СД\\d+: ${RUN} deal$`));
		const again = await runNodes(credentials, [node({ resource: 'deal', operation: 'changeStage', recordId: did, step: target }, { continueOnFail: true })]);
		expect(again.items[0].json.error).toMatch(/^SalesMan error \d+: .+\[item 0\]$/);

		const closed = await runNodes(credentials, [node({ resource: 'deal', operation: 'close', recordId: did, closeStatus: statuses[0].value, sum: 5000, comment: 'Signed' })]);
		expect(closed.error).toBeUndefined();
		const after = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: did })]);
		expect(after.items[0].json).toMatchObject({ close: 'yes', kol_fact: 5000, des_fact: 'Signed' });
	});

	it('tasks and history entries are created and listed', async () => {
		const task = await runNodes(credentials, [node({ resource: 'task', operation: 'create', fields: mapped({ title: `${RUN} call back`, clid: String(clid), datum: '2030-01-15', totime: '10:00' }) })]);
		expect(task.error).toBeUndefined();
		const tasks = await runNodes(credentials, [node({ resource: 'task', operation: 'getMany', returnAll: true })]);
		expect(tasks.items.map((item) => item.json.title)).toContain(`${RUN} call back`);

		const history = await runNodes(credentials, [node({ resource: 'history', operation: 'create', fields: mapped({ content: `${RUN} called`, clid: String(clid), tip: 'Исходящий звонок' }) })]);
		expect(history.error).toBeUndefined();
	});

	it('task update keeps what it does not change; deal update keeps marga and refuses the stage by name', async () => {
		const made = await runNodes(credentials, [node({ resource: 'task', operation: 'create', fields: mapped({ title: `${RUN} agenda task`, clid: String(clid), datum: '2030-02-01', totime: '11:00', des: 'Agenda', priority: '2' }) })]);
		expect(made.error).toBeUndefined();
		const tid = Number(made.items[0].json.id);
		const updated = await runNodes(credentials, [node({ resource: 'task', operation: 'update', recordId: String(tid), fields: mapped({ title: `${RUN} agenda task moved` }) })]);
		expect(updated.error).toBeUndefined();
		expect(await info('task', tid)).toMatchObject({ title: `${RUN} agenda task moved`, des: 'Agenda', priority: '2' });

		const deal = await runNodes(credentials, [node({ resource: 'deal', operation: 'create', fields: mapped({ title: `${RUN} margin deal`, clid: String(clid), marga: '700' }) })]);
		const did = String(deal.items[0].json.did);
		const renamed = await runNodes(credentials, [node({ resource: 'deal', operation: 'update', recordId: did, fields: mapped({ title: `${RUN} margin deal renamed` }) })]);
		expect(renamed.error).toBeUndefined();
		const after = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: did })]);
		expect(after.items[0].json).toMatchObject({ marga: 700 });
		expect(String(after.items[0].json.title)).toMatch(new RegExp(`${RUN} margin deal renamed$`));
		const stage = await runNodes(credentials, [node({ resource: 'deal', operation: 'update', recordId: did, fields: mapped({ step: '60' }) }, { continueOnFail: true })]);
		expect(stage.items[0].json.error).toMatch(/^Field "fields.step": .*Change Stage/);
	});

	it('history Create Many maps each item right although SalesMan reuses one result object', async () => {
		const { items } = await runNodes(
			credentials,
			[node({ resource: 'history', operation: 'createMany', fields: mapped({ content: '={{ $json.content }}', clid: String(clid), datum: '2031-02-04 00:00:00' }) }, { continueOnFail: true })],
			[{ content: `${RUN} history 1` }, {}, { content: `${RUN} history 3` }],
		);
		expect(items.map((item) => Boolean(item.json.error))).toEqual([false, true, false]);
		expect(items[0].json.id).not.toEqual(items[2].json.id);
	});

	it('the custom operation calls any method and action', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'custom', operation: 'execute', method: 'client', action: 'info', parameters: JSON.stringify({ clid }) })]);
		expect(error).toBeUndefined();
		expect(JSON.stringify(items[0].json)).toContain(`${RUN} owner`);
	});
});

describe('bad input on the real SalesMan', () => {
	it('a wrong API key is refused with a clear message that does not contain the key', async () => {
		const { error } = await runNodes({ salesManApi: { ...credentials.salesManApi, apiKey: 'wrongApiKey42wrongApiKey42' } }, [node({ resource: 'client', operation: 'getMany', limit: 1 })]);
		expect(error?.message).toMatch(/^SalesMan error 40[01]: /);
		expect(JSON.stringify({ message: error?.message, description: error?.description, context: error?.context })).not.toContain('wrongApiKey42');
	});

	it('a missing mandatory field, an unknown and a malformed ID are named per item', async () => {
		const { items } = await runNodes(
			credentials,
			[node({ resource: 'client', operation: 'get', recordId: '={{ $json.id }}' }, { continueOnFail: true })],
			[{ id: '99999999' }, { id: 'abc' }],
		);
		expect(items[0].json.error).toMatch(/^SalesMan error \d+: .+\[item 0\]$/);
		expect(items[1].json.error).toMatch(/Field "recordId": "abc" is not a SalesMan ID.*\[item 1\]/);
		expect(proxy.count('info')).toBe(1);

		const noTitle = await runNodes(credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ phone: '+7 900 000-00-01' }) }, { continueOnFail: true })]);
		expect(noTitle.items[0].json).toMatchObject({ error: 'Field "fields.title": is mandatory to create a SalesMan client [item 0]', field: 'fields.title' });
		expect(proxy.count('add')).toBe(0);
		// A deal without a client: SalesMan's own code and text on the item.
		const noClient = await runNodes(credentials, [node({ resource: 'deal', operation: 'create', fields: mapped({ title: `${RUN} orphan deal` }) }, { continueOnFail: true })]);
		expect(noClient.items[0].json.error).toEqual('SalesMan error 407: Клиент или Плательщик не найден. [item 0]');
	});
});

describe('SalesMan Trigger on the real SalesMan', () => {
	const secret = `realSalesManSecret-${RUN}`;

	afterAll(() => registerSalesManWebhook('http://127.0.0.1:9/unused', ['none']));

	it('runs for a real delivery from SalesMan with the fetched record, and refuses forged ones', async () => {
		const trigger = await webhookTrigger(credentials, 'n8n-nodes-crm-suite.salesManTrigger', { secret, events: ['client.add', 'deal.change.step'], fetchRecord: true }, 'salesManApi');
		try {
			await trigger.activate();
			registerSalesManWebhook(`${trigger.url()}?secret=${encodeURIComponent(secret)}`, ['client.add', 'client.edit', 'deal.change.step']);
			const title = `${RUN} hooked client`;
			const answer = await salesMan('client', { action: 'add', title });
			const clid = Number(answer.json.data);
			const runs = await waitFor(() => trigger.deliveries.filter((d) => d.items), 1);
			expect(runs[0].items![0]).toMatchObject({ event: 'client.add', entity: 'client', action: 'add', record: { clid, title } });
			// client.edit is delivered (registered in SalesMan) but not chosen in the trigger: answered, no run.
			await salesMan('client', { action: 'update', clid, title: `${title} edited` });
			await waitFor(() => trigger.deliveries, 2);
			expect(trigger.deliveries.filter((d) => d.items)).toHaveLength(1);

			// A deal moved to another stage in SalesMan: the fetched record is the whole deal (read from its list).
			const deal = await salesMan('deal', { action: 'add', title: `${RUN} hooked deal`, clid });
			const did = Number(deal.json.data);
			await salesMan('deal', { action: 'change.step', did, step: 60 });
			const dealRuns = await waitFor(() => trigger.deliveries.filter((d) => d.items), 2);
			expect(dealRuns[1].items![0]).toMatchObject({ event: 'deal.change.step', id: String(did), record: { did, clid, step: 60 } });
			expect(String((dealRuns[1].items![0].record as IDataObject).title)).toMatch(new RegExp(`${RUN} hooked deal$`));

			const forged = await fetch(trigger.url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clid: String(clid), event: 'client.add' }) });
			expect(forged.status).toBe(401);
			expect(trigger.deliveries.filter((d) => d.items)).toHaveLength(2);
		} finally {
			await trigger.close();
		}
	});
});

async function waitFor<T>(read: () => T[], n: number, timeoutMs = 15_000): Promise<T[]> {
	const until = Date.now() + timeoutMs;
	while (read().length < n) {
		if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${n}, have ${read().length}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return read();
}
