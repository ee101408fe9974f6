// The Vtiger node and trigger, run in-process through n8n's engine, against the real Vtiger 8 of
// ../shared/real-crm (PHP 8.2, MariaDB). What the node did is checked with a separate raw webservice client.
import { pollingTrigger, runNodes } from '../harness/n8n';
import { clearVtigerSessions } from '../../nodes/Vtiger/transport';
import { assertReachable, credentials as direct, mapped, RawVtiger, recordingProxy, RUN, VTIGER } from './setup';

jest.setTimeout(180_000);

const vtiger = new RawVtiger();
const record = (operation: string, extra: Record<string, unknown> = {}, module = 'Accounts') => ({
	parameters: { resource: 'record', operation, module, ...extra },
});
const SEEDED = 260;
let seeded: string[] = [];
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
/** The node talks to the real Vtiger through a logging proxy, so the tests see every request it sent. */
let credentials: typeof direct;
const queries = () => proxy.seen.filter((r) => r.operation === 'query').map((r) => String(r.params.query));

/** Runs `task` over `inputs`, `width` at a time (seeding 260 records one by one would take half a minute). */
async function inParallel<T, R>(inputs: T[], width: number, task: (input: T) => Promise<R>): Promise<R[]> {
	const out: R[] = new Array(inputs.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: width }, async () => {
			while (next < inputs.length) {
				const i = next++;
				out[i] = await task(inputs[i]);
			}
		}),
	);
	return out;
}

beforeAll(async () => {
	await assertReachable(VTIGER.baseUrl, 'The real Vtiger');
	proxy = await recordingProxy(VTIGER.baseUrl);
	credentials = { vtigerApi: { ...direct.vtigerApi, baseUrl: proxy.url } };
	const names = Array.from({ length: SEEDED }, (_, i) => `${RUN} seed ${String(i).padStart(3, '0')}`);
	seeded = (await inParallel(names, 6, async (accountname) => await vtiger.create('Accounts', { accountname, industry: 'Banking' }))).map((r) => r.id);
});
afterAll(async () => await proxy?.close());
beforeEach(() => {
	clearVtigerSessions();
	proxy.clear();
});

describe('records on the real Vtiger', () => {
	it('Get Many Return All reads every account exactly once across 100-row pages, as count(*) says', async () => {
		const total = await vtiger.count('SELECT count(*) FROM Accounts;');
		expect(total).toBeGreaterThanOrEqual(SEEDED);
		const { items, error } = await runNodes(credentials, [record('getMany', { returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(total);
		expect(new Set(items.map((item) => item.json.id)).size).toBe(total);
		expect(items.map((item) => item.json.id)).toEqual(expect.arrayContaining(seeded));
		// One login, then 100-row pages in ID order until a short page (one empty page more at an exact multiple).
		expect(proxy.count('getchallenge')).toBe(1);
		expect(proxy.count('login')).toBe(1);
		const pages = Math.floor(total / 100) + 1;
		expect(queries()).toEqual(Array.from({ length: pages }, (_, i) => `SELECT * FROM Accounts ORDER BY id ASC LIMIT ${i ? `${i * 100}, ` : ''}100;`));
	});

	it('a filter and a limit across a page bound return exactly the matching records', async () => {
		const filtered = await runNodes(credentials, [
			record('getMany', { returnAll: true, filters: { conditions: [{ field: 'accountname', operator: 'like', value: `${RUN} seed %` }] } }),
		]);
		expect(filtered.error).toBeUndefined();
		expect(filtered.items.map((item) => item.json.id).sort()).toEqual([...seeded].sort());

		const limited = await runNodes(credentials, [
			record('getMany', { returnAll: false, limit: 150, filters: { conditions: [{ field: 'accountname', operator: 'like', value: `${RUN} seed %` }] } }),
		]);
		expect(limited.items).toHaveLength(150);
		expect(new Set(limited.items.map((item) => item.json.id)).size).toBe(150);
	});

	it('creates, gets, updates (only the given fields) and deletes an account', async () => {
		const created = await runNodes(credentials, [record('create', { fields: mapped({ accountname: `${RUN} crud`, phone: '+1 555 0100', industry: 'Banking', employees: 12 }) })]);
		expect(created.error).toBeUndefined();
		const id = String(created.items[0].json.id);
		expect(id).toMatch(/^11x\d+$/);
		expect(await vtiger.retrieve(id)).toMatchObject({ accountname: `${RUN} crud`, phone: '+1 555 0100', industry: 'Banking', employees: '12', assigned_user_id: VTIGER.userId });

		const got = await runNodes(credentials, [record('get', { recordId: id })]);
		expect(got.items[0].json).toMatchObject({ id, accountname: `${RUN} crud` });

		const updated = await runNodes(credentials, [record('update', { recordId: id, fields: mapped({ accountname: `${RUN} crud renamed` }) })]);
		expect(updated.error).toBeUndefined();
		expect(await vtiger.retrieve(id)).toMatchObject({ accountname: `${RUN} crud renamed`, phone: '+1 555 0100', industry: 'Banking' });

		const deleted = await runNodes(credentials, [record('delete', { recordId: id })]);
		expect(deleted.items[0].json).toEqual({ id, deleted: true });
		expect(await vtiger.tryRetrieve(id)).toBeNull();
	});

	it('Create of several items with continueOnFail writes the good ones and names the bad field per item', async () => {
		const { items } = await runNodes(
			credentials,
			[{ parameters: { resource: 'record', operation: 'create', module: 'Contacts', fields: mapped({ lastname: '={{ $json.lastname }}', leadsource: '={{ $json.source }}' }) }, continueOnFail: true }],
			[
				{ lastname: `${RUN} contact 1`, source: 'Web Site' },
				{ lastname: '', source: '' },
				{ lastname: `${RUN} contact 3`, source: 'Carrier Pigeon' },
			],
		);
		expect(items).toHaveLength(3);
		expect(items[0].json).toMatchObject({ lastname: `${RUN} contact 1`, leadsource: 'Web Site' });
		expect(items[1].json.error).toMatch(/Field "fields.lastname": is mandatory in Contacts \[item 1\]/);
		expect(items[2].json.error).toMatch(/Field "fields.leadsource": "Carrier Pigeon" is not a value of this picklist.*\[item 2\]/);
		expect(await vtiger.count(`SELECT count(*) FROM Contacts WHERE lastname LIKE '${RUN} contact %';`)).toBe(1);
		expect(proxy.count('create')).toBe(1);
	});
});

describe('bad input on the real Vtiger', () => {
	it('a wrong access key is refused with a clear message that does not contain the key', async () => {
		const { error } = await runNodes({ vtigerApi: { ...credentials.vtigerApi, accessKey: 'wrongAccessKey42' } }, [record('getMany', { limit: 1 })]);
		expect(error?.message).toMatch(/Login refused for user "admin"/);
		expect(JSON.stringify({ message: error?.message, description: error?.description, context: error?.context })).not.toContain('wrongAccessKey42');
	});

	it('a deleted and a never-existing ID are named as not found', async () => {
		const doomed = await vtiger.create('Accounts', { accountname: `${RUN} doomed` });
		await vtiger.delete(doomed.id);
		for (const id of [doomed.id, '11x99999999']) {
			const { error } = await runNodes(credentials, [record('get', { recordId: id })]);
			expect(error?.message).toMatch(new RegExp(`Field "recordId": record ${id} was not found, or this user may not access it`));
		}
		const wrongShape = await runNodes(credentials, [record('get', { recordId: 'Acme' })]);
		expect(wrongShape.error?.message).toMatch(/Field "recordId": "Acme" is not a Vtiger record ID/);
	});

	it("bad VTQL shows Vtiger's code and message on the item", async () => {
		const { items } = await runNodes(
			credentials,
			[{ parameters: { resource: 'query', operation: 'execute', query: '={{ $json.query }}' }, continueOnFail: true }],
			[{ query: 'SELECT * FROM Accounts WHERE' }, { query: "SELECT * FROM Accounts WHERE nosuch = 'x';" }],
		);
		expect(items.map((item) => [item.json.code, item.json.error])).toEqual([
			['QUERY_SYNTAX_ERROR', "Vtiger error QUERY_SYNTAX_ERROR: Syntax Error on line 1: token 'BY' Unexpected ORDERBY(BY), expected one of: COLUMNNAME [item 0]"],
			['ACCESS_DENIED', 'Vtiger error ACCESS_DENIED: Permission to access nosuch attribute denied. [item 1]'],
		]);
		// The token Vtiger names is in the paged text the node sent, which the details show.
		expect(items[0].json.details).toMatch(/the query was sent as: SELECT \* FROM Accounts WHERE ORDER BY id LIMIT 0, 100;$/);
	});

	it('a filter value with quotes and VTQL keywords is a value, not query text', async () => {
		const tricky = `${RUN} O'Brien \\ Sons' OR accountname LIKE '%`;
		const created = await vtiger.create('Accounts', { accountname: tricky });
		const { items, error } = await runNodes(credentials, [
			record('getMany', { returnAll: true, filters: { conditions: [{ field: 'accountname', operator: 'equals', value: tricky }] } }),
		]);
		expect(error).toBeUndefined();
		expect(items.map((item) => [item.json.id, item.json.accountname])).toEqual([[created.id, tricky]]);
	});
});

describe('queries, modules, relations, leads and custom operations on the real Vtiger', () => {
	it('a raw query without LIMIT is paged to the end; count(*) is sent once as written', async () => {
		const all = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: `SELECT accountname FROM Accounts WHERE accountname LIKE '${RUN} seed %'` } }]);
		expect(all.error).toBeUndefined();
		expect(all.items).toHaveLength(SEEDED);
		const counted = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: `SELECT count(*) FROM Accounts WHERE accountname LIKE '${RUN} seed %';` } }]);
		expect(counted.items.map((item) => item.json)).toEqual([{ count: String(SEEDED) }]);
	});

	it('lists the modules and describes one', async () => {
		const modules = await runNodes(credentials, [{ parameters: { resource: 'module', operation: 'getMany' } }]);
		expect(modules.items.map((item) => item.json.name)).toEqual(expect.arrayContaining(['Accounts', 'Contacts', 'Leads', 'Potentials', 'HelpDesk']));
		const described = await runNodes(credentials, [{ parameters: { resource: 'module', operation: 'describe', module: 'Potentials' } }]);
		expect((described.items[0].json.fields as Array<{ name: string }>).map((f) => f.name)).toEqual(expect.arrayContaining(['potentialname', 'sales_stage', 'related_to']));
	});

	it('relates a contact to an opportunity and lists the related contacts', async () => {
		const account = await vtiger.create('Accounts', { accountname: `${RUN} rel account` });
		const potential = await vtiger.create('Potentials', { potentialname: `${RUN} rel deal`, related_to: account.id, closingdate: '2026-12-31', sales_stage: 'Prospecting' });
		const contact = await vtiger.create('Contacts', { lastname: `${RUN} rel contact` });
		const added = await runNodes(credentials, [{ parameters: { resource: 'relation', operation: 'add', recordId: potential.id, relatedRecordId: contact.id } }]);
		expect(added.error).toBeUndefined();
		const listed = await runNodes(credentials, [{ parameters: { resource: 'relation', operation: 'getMany', recordId: potential.id, relatedModule: 'Contacts' } }]);
		expect(listed.error).toBeUndefined();
		expect(listed.items.map((item) => item.json.id)).toEqual([contact.id]);
	});

	it('calls any webservice operation through Custom', async () => {
		const account = await vtiger.create('Accounts', { accountname: `${RUN} custom` });
		const ok = await runNodes(credentials, [
			{ parameters: { resource: 'custom', operation: 'execute', webserviceOperation: 'retrieve', httpMethod: 'GET', parameters: JSON.stringify({ id: account.id }) } },
		]);
		expect(ok.items[0].json).toMatchObject({ id: account.id, accountname: `${RUN} custom` });
	});

	it('sync answers HTTP 500 on this server: a read is retried, then reported clearly', async () => {
		const { items } = await runNodes(credentials, [
			{ parameters: { resource: 'custom', operation: 'execute', webserviceOperation: 'sync', httpMethod: 'GET', parameters: JSON.stringify({ modifiedTime: 0, elementType: 'Accounts' }) }, continueOnFail: true },
		]);
		expect(items[0].json.error).toMatch(/HTTP 500.*\[item 0\]/);
		expect(proxy.count('sync')).toBeGreaterThan(1);
		expect(proxy.seen.filter((r) => r.operation === 'sync').every((r) => r.status === 500)).toBe(true);
	});

	it('convertlead answers HTTP 500 on this server: the outcome is unknown, said so, and it is not resent', async () => {
		const lead = await vtiger.create('Leads', { lastname: `${RUN} convert`, company: `${RUN} Lead Co` });
		const before = await vtiger.count(`SELECT count(*) FROM Accounts WHERE accountname = '${RUN} Lead Co';`);
		const { items } = await runNodes(credentials, [{ parameters: { resource: 'lead', operation: 'convert', recordId: lead.id, entities: ['Accounts', 'Contacts'] }, continueOnFail: true }]);
		expect(items[0].json.error).toMatch(/may or may not have been carried out.*\[item 0\]/);
		expect(proxy.seen.filter((r) => r.operation === 'convertlead').map((r) => r.status)).toEqual([500]);
		// Whatever the server did, it did it once: at most one organization came out of the lead.
		expect(await vtiger.count(`SELECT count(*) FROM Accounts WHERE accountname = '${RUN} Lead Co';`)).toBeLessThanOrEqual(before + 1);
	});
});

describe('Vtiger Trigger on the real Vtiger', () => {
	const ids = (rows: Array<Record<string, unknown>> | null) => (rows ?? []).map((row) => row.id);
	const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

	it('picks up records created and changed in Vtiger, each change once, across polls', async () => {
		const created = pollingTrigger(credentials, { module: 'Accounts', event: 'created' });
		const updated = pollingTrigger(credentials, { module: 'Accounts', event: 'updated' });
		expect(await created.poll()).toBeNull();
		expect(await updated.poll()).toBeNull();

		const a = await vtiger.create('Accounts', { accountname: `${RUN} trigger A` });
		const b = await vtiger.create('Accounts', { accountname: `${RUN} trigger B` });
		expect(ids(await created.poll())).toEqual([a.id, b.id]);
		expect(await created.poll()).toBeNull();
		expect(await updated.poll()).toBeNull();

		// modifiedtime has one-second resolution: change A in a later second than its creation.
		await sleep(1_100);
		await vtiger.revise({ id: a.id, phone: '+1 555 0199' });
		const changed = await updated.poll();
		expect(ids(changed)).toEqual([a.id]);
		expect(changed![0]).toMatchObject({ phone: '+1 555 0199' });
		expect(await updated.poll()).toBeNull();
		expect(await created.poll()).toBeNull();

		const c = await vtiger.create('Accounts', { accountname: `${RUN} trigger C` });
		expect(ids(await created.poll())).toEqual([c.id]);
		expect(await created.poll()).toBeNull();
	});
});
