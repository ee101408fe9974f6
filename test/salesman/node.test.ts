import type { IDataObject } from 'n8n-workflow';
import { loadOptions, runNodes, webhookTrigger } from '../harness/n8n';
import { startSalesMan } from './setup';
import type { SalesManEmulator } from './setup';

let emulator: SalesManEmulator;
let credentials: Awaited<ReturnType<typeof startSalesMan>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startSalesMan()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	emulator.reset();
	emulator.knobs.failNext.length = 0;
});

const node = (parameters: IDataObject, extra: { continueOnFail?: boolean } = {}) => ({ type: 'n8n-nodes-crm-suite.salesMan', credentialType: 'salesManApi', parameters, ...extra });
const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });
const calls = (action?: string) => emulator.requests.filter((r) => !action || r.action === action);

describe('reads', () => {
	it('Return All pages 200 rows by page number to the end, with the key in headers only', async () => {
		const ids = emulator.seed('client', 450);
		emulator.clearRequests();
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true, filters: { first: 'old' } })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(450);
		expect(new Set(items.map((item) => item.json.clid))).toEqual(new Set(ids));
		expect(calls('list').map((r) => r.params.offset)).toEqual([0, 1, 2]);
		expect(calls().every((r) => r.authStyle === 'headers' && !JSON.stringify(r.params).includes(emulator.apiKey))).toBe(true);
	});

	it('an empty lead list (SalesMan error 404) is no items; tasks are listed with active set', async () => {
		const leads = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true })]);
		expect(leads.error).toBeUndefined();
		expect(leads.items).toEqual([]);
		emulator.seed('task', 3);
		await runNodes(credentials, [node({ resource: 'task', operation: 'create', fields: mapped({ title: 'Next year', datum: '2099-01-15' }) })]);
		emulator.clearRequests();
		const tasks = await runNodes(credentials, [node({ resource: 'task', operation: 'getMany', returnAll: true })]);
		// SalesMan alone would list today's tasks only.
		expect(tasks.items).toHaveLength(4);
		expect(calls('list')[0].params).toMatchObject({ active: 'yes', dateStart: '2000-01-01', dateEnd: '2099-12-31' });
	});

	it('deal stages and close statuses come from the deal method, in the picker and as guides', async () => {
		const steps = (await loadOptions(credentials, { resource: 'deal', operation: 'changeStage' }, 'loadOptions', 'getDealSteps', 'n8n-nodes-crm-suite.salesMan', 'salesManApi')) as Array<{ value: string }>;
		expect(steps.map((s) => s.value)).toEqual(expect.arrayContaining(['20', '100']));
		const statuses = await runNodes(credentials, [node({ resource: 'guide', operation: 'execute', guide: 'statusclose' })]);
		expect(statuses.error).toBeUndefined();
		expect(statuses.items.map((item) => item.json.title)).toContain('Победа полная');
		expect(calls().map((r) => [r.methodName, r.action])).toEqual([['deal', 'steplist'], ['deal', 'statusclose']]);
	});

	it('Get Fields shows custom inputN fields with their labels', async () => {
		const { items } = await runNodes(credentials, [node({ resource: 'client', operation: 'getFields' })]);
		expect(items.find((item) => item.json.name === 'input1')?.json).toEqual({ name: 'input1', label: 'Отрасль', custom: true });
	});
});

describe('writes', () => {
	it('creates a client; a duplicate is reported as such with the existing ID', async () => {
		const first = await runNodes(credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ title: 'Acme Trading', phone: '+7 900 111 22 33' }) })]);
		expect(first.error).toBeUndefined();
		const clid = Number(first.items[0].json.clid);
		expect(emulator.getRecord('client', clid)?.title).toBe('Acme Trading');
		const again = await runNodes(credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ title: 'Acme Trading' }) }, { continueOnFail: true })]);
		expect(again.items[0].json).toMatchObject({ code: '304' });
		expect(again.items[0].json.error).toMatch(new RegExp(`^SalesMan error 304: duplicate found \\(existing ID ${clid}\\)`));
	});

	it('Create Many sends 50 clients per add.list and maps each answer back, errors included', async () => {
		const input = Array.from({ length: 120 }, (_, i) => ({ title: i === 7 ? '' : `Bulk client ${i}` }));
		const { items } = await runNodes(credentials, [node({ resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}' }) }, { continueOnFail: true })], input);
		expect(items).toHaveLength(120);
		// The item without a title is refused by name before sending; the others go out 50 at a time.
		expect(calls('add.list').map((r) => (r.params.client as unknown[]).length)).toEqual([50, 50, 19]);
		expect(items[0].json.clid).toBeDefined();
		expect(items[7].json).toMatchObject({ error: 'Field "fields.title": is mandatory to create a SalesMan client [item 7]', field: 'fields.title' });
		expect(emulator.count('client')).toBe(119);
	});

	it('a person add that saves but answers a PHP fatal page is reported as an unknown outcome and not resent', async () => {
		const [clid] = emulator.seed('client', 1);
		emulator.clearRequests();
		const { items } = await runNodes(credentials, [node({ resource: 'person', operation: 'create', fields: mapped({ person: 'Ivan Petrov', clid: String(clid) }) }, { continueOnFail: true })]);
		expect(items[0].json.error).toMatch(/did not confirm "SalesMan person add": the request may or may not have been carried out/);
		expect(calls('add')).toHaveLength(1);
		expect(emulator.count('person')).toBe(1);
	});

	it('a person update reads the person first and sends it whole (SalesMan blanks what is not sent)', async () => {
		emulator.knobs.personFatalError = false;
		const [clid] = emulator.seed('client', 1);
		const [pid] = emulator.seed('person', 1, { clids: [clid] });
		const before = emulator.getRecord('person', pid)!;
		emulator.clearRequests();
		const { error } = await runNodes(credentials, [node({ resource: 'person', operation: 'update', recordId: String(pid), fields: mapped({ ptitle: 'CEO' }) })]);
		expect(error).toBeUndefined();
		expect(calls().map((r) => r.action)).toEqual(['info', 'update']);
		const after = emulator.getRecord('person', pid)!;
		expect(after.ptitle).toBe('CEO');
		expect(after.person).toBe(before.person);
		expect(after.tel).toBe(before.tel);
		emulator.knobs.personFatalError = true;
	});

	it('Get reads a deal from its list (SalesMan answers deal info with null fields); an unknown deal is named', async () => {
		const [clid] = emulator.seed('client', 1);
		const dids = emulator.seed('deal', 15, { clids: [clid] });
		const did = dids[3];
		emulator.clearRequests();
		const { items, error } = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: String(did) })]);
		expect(error).toBeUndefined();
		expect(items[0].json).toMatchObject({ did, title: emulator.getRecord('deal', did)?.title, clid });
		expect(calls().map((r) => [r.action, r.params.filter, r.params.order])).toEqual([['list', { did }, 'did']]);
		const missing = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: '999999' }, { continueOnFail: true })]);
		expect(missing.items[0].json).toMatchObject({ code: '403' });
	});

	it('a task update sends the task whole (SalesMan rewrites what is not sent); a deal update keeps marga and pid', async () => {
		const [clid] = emulator.seed('client', 1);
		const made = await runNodes(credentials, [node({ resource: 'task', operation: 'create', fields: mapped({ title: 'Call back', clid: String(clid), datum: '2030-01-15', totime: '10:00', des: 'Agenda', priority: '2' }) })]);
		expect(made.error).toBeUndefined();
		const tid = Number(made.items[0].json.id);
		emulator.clearRequests();
		const updated = await runNodes(credentials, [node({ resource: 'task', operation: 'update', recordId: String(tid), fields: mapped({ title: 'Call back later' }) })]);
		expect(updated.error).toBeUndefined();
		expect(calls().map((r) => r.action)).toEqual(['info', 'update']);
		expect(emulator.getRecord('task', tid)).toMatchObject({ title: 'Call back later', des: 'Agenda', priority: '2' });

		const deal = await runNodes(credentials, [node({ resource: 'deal', operation: 'create', fields: mapped({ title: 'Keep', clid: String(clid), marga: '700' }) })]);
		const did = String(deal.items[0].json.did);
		emulator.clearRequests();
		const renamed = await runNodes(credentials, [node({ resource: 'deal', operation: 'update', recordId: did, fields: mapped({ title: 'Kept' }) })]);
		expect(renamed.error).toBeUndefined();
		expect(calls('update')[0].params).toMatchObject({ did: Number(did), title: 'Kept', marga: 700 });
		const stage = await runNodes(credentials, [node({ resource: 'deal', operation: 'update', recordId: did, fields: mapped({ step: '60' }) }, { continueOnFail: true })]);
		expect(stage.items[0].json.error).toBe('Field "fields.step": SalesMan deal update ignores the stage: use the Change Stage operation [item 0]');
	});

	it('history: Create names the missing client/person/deal; Create Many maps saved items right after a refused one', async () => {
		const [clid] = emulator.seed('client', 1);
		const none = await runNodes(credentials, [node({ resource: 'history', operation: 'create', fields: mapped({ content: 'Called' }) }, { continueOnFail: true })]);
		expect(none.items[0].json).toMatchObject({ field: 'fields.clid' });
		expect(none.items[0].json.error).toMatch(/^Field "fields.clid": give one of clid, pid, did/);
		const many = await runNodes(
			credentials,
			[node({ resource: 'history', operation: 'createMany', fields: mapped({ content: '={{ $json.content }}', clid: '={{ $json.clid }}', datum: '2031-02-04 00:00:00' }) }, { continueOnFail: true })],
			[{ content: 'First', clid: String(clid) }, { clid: String(clid) }, { content: 'Third', clid: String(clid) }],
		);
		expect(many.items.map((item) => Boolean(item.json.error))).toEqual([false, true, false]);
		// SalesMan reuses one result object per add.list: item 1 carries item 0's ID, item 2 item 1's error.
		expect(many.items.map((item) => item.json.id)).toEqual([1, undefined, 2]);
		expect(many.items[1].json.error).toMatch(/^SalesMan error \d+: .+\[item 1\]$/);
	});

	it('moves a deal to another stage, closes it, and hands it over', async () => {
		const [clid] = emulator.seed('client', 1);
		const created = await runNodes(credentials, [node({ resource: 'deal', operation: 'create', fields: mapped({ title: 'Big deal', clid: String(clid) }) })]);
		const did = String(created.items[0].json.did);
		const stage = await runNodes(credentials, [node({ resource: 'deal', operation: 'changeStage', recordId: did, step: '20' })]);
		expect(stage.error).toBeUndefined();
		const same = await runNodes(credentials, [node({ resource: 'deal', operation: 'changeStage', recordId: did, step: '20' }, { continueOnFail: true })]);
		expect(same.items[0].json).toMatchObject({ code: '302' });
		const closed = await runNodes(credentials, [node({ resource: 'deal', operation: 'close', recordId: did, closeStatus: 'Победа', sum: 5000, comment: 'Signed' })]);
		expect(closed.error).toBeUndefined();
		expect(calls('change.close')[0].params).toMatchObject({ did: Number(did), status_close: 'Победа', kol_fact: 5000, des_fact: 'Signed' });
		expect(emulator.getRecord('deal', Number(did))?.close).toBe('yes');
	});

	it('errors in the envelope become node errors with the code; a missing ID is named', async () => {
		const missing = await runNodes(credentials, [node({ resource: 'client', operation: 'get', recordId: '999999' }, { continueOnFail: true })]);
		expect(missing.items[0].json).toMatchObject({ code: '403' });
		const bad = await runNodes(credentials, [node({ resource: 'deal', operation: 'get', recordId: 'abc' })]);
		expect(bad.error?.message).toMatch(/Field "recordId": "abc" is not a SalesMan ID/);
		const wrongKey = await runNodes({ salesManApi: { ...credentials.salesManApi, apiKey: 'wrongKey42' } }, [node({ resource: 'client', operation: 'getMany', limit: 1 })]);
		expect(wrongKey.error?.message).toMatch(/^SalesMan error 40[01]: /);
		expect(wrongKey.error?.message).not.toContain('wrongKey42');
	});
});

describe('SalesMan Trigger', () => {
	const secret = 's3cr3t-value-long-enough-1234';

	it('runs for a delivery carrying the secret, refuses others, filters events and fetches the record', async () => {
		const trigger = await webhookTrigger(credentials, 'n8n-nodes-crm-suite.salesManTrigger', { secret, events: ['client.add'], fetchRecord: true }, 'salesManApi');
		try {
			await trigger.activate();
			emulator.addWebhook(`${trigger.url()}?secret=${secret}`);
			await runNodes(credentials, [node({ resource: 'client', operation: 'create', fields: mapped({ title: 'Hooked client' }) })]);
			await emulator.flushDeliveries();
			const runs = trigger.deliveries.filter((d) => d.items);
			expect(runs).toHaveLength(1);
			expect(runs[0].items![0]).toMatchObject({ event: 'client.add', entity: 'client', action: 'add', record: { title: 'Hooked client' } });
			const post = async (url: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clid: '1', event: 'client.add' }) })).status;
			expect(await post(trigger.url())).toBe(401);
			expect(await post(`${trigger.url()}?secret=guess`)).toBe(401);
			expect(await post(`${trigger.url()}?secret=${secret}`)).toBe(200);
			expect(trigger.deliveries.filter((d) => d.items)).toHaveLength(2);
		} finally {
			await trigger.close();
		}
	});

	it('refuses to activate with a short secret', async () => {
		const trigger = await webhookTrigger(credentials, 'n8n-nodes-crm-suite.salesManTrigger', { secret: 'short', events: ['client.add'] }, 'salesManApi');
		try {
			await expect(trigger.activate()).rejects.toThrow(/Secret: give at least 16 characters/);
		} finally {
			await trigger.close();
		}
	});
});
