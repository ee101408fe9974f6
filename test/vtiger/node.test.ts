import { runNodes } from '../harness/n8n';
import { count, freshStart, queries, startVtiger } from './setup';
import type { VtigerEmulator } from './setup';

let emulator: VtigerEmulator;
let credentials: Awaited<ReturnType<typeof startVtiger>>['credentials'];
let accessKey: string;

beforeAll(async () => {
	({ emulator, credentials } = await startVtiger());
	accessKey = String(credentials.vtigerApi.accessKey);
});
afterAll(async () => await emulator.stop());
beforeEach(() => freshStart(emulator));

const record = (operation: string, extra: Record<string, unknown> = {}) => ({
	parameters: { resource: 'record', operation, module: 'Accounts', ...extra },
});
const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });

describe('Get Many', () => {
	let seeded: string[];
	beforeAll(() => {
		emulator.reset();
		seeded = emulator.seed('Accounts', 250);
	});

	it('Return All reads 250 records with one login and three 100-row queries in ID order', async () => {
		const { items, error } = await runNodes(credentials, [record('getMany', { returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(250);
		expect(items.map((item) => item.json.id)).toEqual(seeded);
		expect(items.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
		expect(count(emulator, 'getchallenge')).toBe(1);
		expect(count(emulator, 'login')).toBe(1);
		expect(queries(emulator)).toEqual([
			'SELECT * FROM Accounts ORDER BY id ASC LIMIT 100;',
			'SELECT * FROM Accounts ORDER BY id ASC LIMIT 100, 100;',
			'SELECT * FROM Accounts ORDER BY id ASC LIMIT 200, 100;',
		]);
	});

	it('Limit asks for no more rows than needed', async () => {
		const { items } = await runNodes(credentials, [record('getMany', { returnAll: false, limit: 130 })]);
		expect(items).toHaveLength(130);
		expect(queries(emulator)).toEqual([
			'SELECT * FROM Accounts ORDER BY id ASC LIMIT 100;',
			'SELECT * FROM Accounts ORDER BY id ASC LIMIT 100, 30;',
		]);
	});

	it('filters become quoted VTQL conditions; a value with quotes finds its record', async () => {
		const tricky = emulator.createRecord('Accounts', { accountname: "O'Brien \\ Sons", industry: 'Banking' });
		const { items, error } = await runNodes(credentials, [
			record('getMany', {
				returnAll: true,
				filters: {
					conditions: [
						{ field: 'accountname', operator: 'equals', value: "O'Brien \\ Sons" },
						{ field: 'industry', operator: 'in', value: 'Banking, Finance' },
					],
				},
				options: { fields: ['accountname', 'industry'] },
			}),
		]);
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json)).toEqual([{ id: tricky.id, accountname: "O'Brien \\ Sons", industry: 'Banking' }]);
		expect(queries(emulator)[0]).toBe(
			"SELECT id, accountname, industry FROM Accounts WHERE accountname = 'O''Brien \\\\ Sons' AND industry IN ('Banking','Finance') ORDER BY id ASC LIMIT 100;",
		);
	});

	it('an unknown filter field is named before any query is sent', async () => {
		const { error } = await runNodes(credentials, [
			record('getMany', { returnAll: true, filters: { conditions: [{ field: 'colour', operator: 'equals', value: 'red' }] } }),
		]);
		expect(error?.message).toMatch(/Field "filters.conditions\[0\].field": "colour" is not a field of Accounts .*\[item 0\]/);
		expect(queries(emulator)).toEqual([]);
	});

	it('sorting by another field keeps every record exactly once', async () => {
		const { items } = await runNodes(credentials, [
			record('getMany', { returnAll: true, options: { sortField: 'industry', sortDirection: 'DESC' } }),
		]);
		const ids = items.map((item) => item.json.id);
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids.length).toBe(251);
		expect(queries(emulator)[0]).toContain('ORDER BY industry DESC');
	});
});

describe('Create, Get, Update, Delete', () => {
	it('creates a record, filling assigned_user_id with the logged-in user', async () => {
		const { items, error } = await runNodes(credentials, [record('create', { fields: mapped({ accountname: 'Acme', industry: 'Banking', employees: 12 }) })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(1);
		expect(items[0].json).toMatchObject({ accountname: 'Acme', industry: 'Banking', assigned_user_id: '19x1' });
		const create = emulator.requests.find((r) => r.operation === 'create')!;
		expect(create.method).toBe('POST');
		expect(JSON.parse(create.params.element)).toEqual({ accountname: 'Acme', industry: 'Banking', employees: 12, assigned_user_id: '19x1' });
		expect(emulator.getRecord(String(items[0].json.id))?.accountname).toBe('Acme');
	});

	it('names the missing mandatory field, the wrong picklist value and the malformed reference, per item', async () => {
		const { items, error } = await runNodes(
			credentials,
			[
				{
					...record('create', { fields: '={{ $json.fields }}' }),
					parameters: { resource: 'record', operation: 'create', module: 'Accounts', fields: mapped({}) },
					continueOnFail: true,
				},
			],
			[{}],
		);
		expect(error).toBeUndefined();
		expect(items[0].json.error).toMatch(/Field "fields.accountname": is mandatory in Accounts \[item 0\]/);
		expect(items[0].json.field).toBe('fields.accountname');
		expect(count(emulator, 'create')).toBe(0);
	});

	it('with continueOnFail, a bad item gets { error } and the others are still written', async () => {
		const { items } = await runNodes(
			credentials,
			[
				{
					parameters: {
						resource: 'record',
						operation: 'create',
						module: 'Contacts',
						fields: mapped({ lastname: '={{ $json.lastname }}', account_id: '={{ $json.account }}', leadsource: '={{ $json.source }}' }),
					},
					continueOnFail: true,
				},
			],
			[
				{ lastname: 'First', account: '', source: '' },
				{ lastname: 'Second', account: 'not-an-id', source: '' },
				{ lastname: 'Third', account: '', source: 'Carrier Pigeon' },
				{ lastname: 'Fourth', account: '', source: 'Web Site' },
			],
		);
		expect(items).toHaveLength(4);
		expect(items.map((item) => (item.pairedItem as { item: number }).item)).toEqual([0, 1, 2, 3]);
		expect(items[0].json.lastname).toBe('First');
		expect(items[1].json.error).toMatch(/Field "fields.account_id": "not-an-id" is not a Vtiger record ID.*\[item 1\]/);
		expect(items[2].json.error).toMatch(/Field "fields.leadsource": "Carrier Pigeon" is not a value of this picklist/);
		expect(items[3].json.leadsource).toBe('Web Site');
		expect(count(emulator, 'create')).toBe(2);
	});

	it('Get returns the record; a missing one names the ID field; a malformed one sends nothing', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'Getme' });
		const ok = await runNodes(credentials, [record('get', { recordId: acme.id })]);
		expect(ok.items[0].json).toMatchObject({ id: acme.id, accountname: 'Getme' });

		const missing = await runNodes(credentials, [record('get', { recordId: '11x999999' })]);
		expect(missing.error?.message).toMatch(/Field "recordId": record 11x999999 was not found, or this user may not access it \(Vtiger: ACCESS_DENIED\)/);

		emulator.clearRequests();
		const malformed = await runNodes(credentials, [record('get', { recordId: 'Acme' })]);
		expect(malformed.error?.message).toMatch(/Field "recordId": "Acme" is not a Vtiger record ID/);
		expect(emulator.requests).toEqual([]);
	});

	it('Update sends only the given fields with revise; the rest keep their values', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'Before', phone: '+1 555 0100', industry: 'Banking' });
		const { items } = await runNodes(credentials, [record('update', { recordId: acme.id, fields: mapped({ accountname: 'After' }) })]);
		expect(items[0].json).toMatchObject({ id: acme.id, accountname: 'After', phone: '+1 555 0100', industry: 'Banking' });
		const revise = emulator.requests.find((r) => r.operation === 'revise')!;
		expect(JSON.parse(revise.params.element)).toEqual({ accountname: 'After', id: acme.id });
		expect(count(emulator, 'update')).toBe(0);
	});

	it('refuses read-only and unknown fields by name', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'RO' });
		const ro = await runNodes(credentials, [record('update', { recordId: acme.id, fields: mapped({ createdtime: '2020-01-01 00:00:00' }) })]);
		expect(ro.error?.message).toMatch(/Field "fields.createdtime": is read-only in Accounts/);
		const unknown = await runNodes(credentials, [record('update', { recordId: acme.id, fields: mapped({ colour: 'red' }) })]);
		expect(unknown.error?.message).toMatch(/Field "fields.colour": "colour" is not a field of Accounts/);
		expect(count(emulator, 'revise')).toBe(0);
	});

	it('Delete removes the record and says so', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'Doomed' });
		const { items } = await runNodes(credentials, [record('delete', { recordId: acme.id })]);
		expect(items[0].json).toEqual({ id: acme.id, deleted: true });
		expect(emulator.getRecord(acme.id)).toBeUndefined();
	});

	it('an unknown module is named as such', async () => {
		const { error } = await runNodes(credentials, [{ parameters: { resource: 'record', operation: 'getMany', module: 'Spaceships', returnAll: true } }]);
		expect(error?.message).toMatch(/Field "module": "Spaceships" is not a Vtiger module this user can access/);
	});
});

describe('Query', () => {
	beforeAll(() => {
		emulator.reset();
		emulator.seed('Leads', 230);
	});

	it('without LIMIT, pages past 100 rows in ID order', async () => {
		const { items } = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: 'SELECT lastname FROM Leads' } }]);
		expect(items).toHaveLength(230);
		expect(queries(emulator)).toEqual([
			'SELECT lastname FROM Leads ORDER BY id LIMIT 0, 100;',
			'SELECT lastname FROM Leads ORDER BY id LIMIT 100, 100;',
			'SELECT lastname FROM Leads ORDER BY id LIMIT 200, 100;',
		]);
	});

	it('with LIMIT or count(*), sends the query once as written', async () => {
		const limited = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: 'SELECT * FROM Leads LIMIT 5;' } }]);
		expect(limited.items).toHaveLength(5);
		const counted = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: 'SELECT count(*) FROM Leads;' } }]);
		expect(counted.items.map((item) => item.json)).toEqual([{ count: '230' }]);
		expect(queries(emulator)).toEqual(['SELECT * FROM Leads LIMIT 5;', 'SELECT count(*) FROM Leads;']);
	});

	it("a syntax error shows Vtiger's code and message on the item", async () => {
		const { items } = await runNodes(credentials, [
			{ parameters: { resource: 'query', operation: 'execute', query: 'SELECT * FROM Leads WHERE (lastname = 1) LIMIT 1' }, continueOnFail: true },
		]);
		expect(items[0].json.code).toBe('QUERY_SYNTAX_ERROR');
		expect(items[0].json.error).toMatch(/^Vtiger error QUERY_SYNTAX_ERROR: .+\[item 0\]$/);
	});

	it('a syntax error in a query the node paged shows the text it sent (Vtiger names a token of that text)', async () => {
		const { items } = await runNodes(credentials, [{ parameters: { resource: 'query', operation: 'execute', query: 'SELECT * FROM Leads WHERE' }, continueOnFail: true }]);
		expect(items[0].json).toMatchObject({
			code: 'QUERY_SYNTAX_ERROR',
			error: "Vtiger error QUERY_SYNTAX_ERROR: Syntax Error on line 1: token 'BY' Unexpected ORDERBY(BY), expected one of: COLUMNNAME [item 0]",
		});
		expect(items[0].json.details).toMatch(/the query was sent as: SELECT \* FROM Leads WHERE ORDER BY id LIMIT 0, 100;$/);
	});
});

describe('sessions', () => {
	it('reuses one session across items and executions', async () => {
		emulator.createRecord('Accounts', { accountname: 'Reuse' });
		await runNodes(credentials, [record('getMany', { limit: 1 })], [{}, {}, {}]);
		await runNodes(credentials, [record('getMany', { limit: 1 })]);
		expect(count(emulator, 'login')).toBe(1);
		expect(count(emulator, 'query')).toBe(4);
		expect(new Set(emulator.requests.filter((r) => r.operation === 'query').map((r) => r.sessionName)).size).toBe(1);
	});

	it('parallel executions log in once (a second getchallenge would kill the first token)', async () => {
		const results = await Promise.all(Array.from({ length: 5 }, async () => await runNodes(credentials, [record('getMany', { limit: 1 })])));
		expect(results.every((r) => r.error === undefined)).toBe(true);
		expect(count(emulator, 'getchallenge')).toBe(1);
		expect(count(emulator, 'login')).toBe(1);
	});

	it('an expired session mid-run is renewed once and the request repeated', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'Expiry' });
		await runNodes(credentials, [record('get', { recordId: acme.id })]);
		emulator.knobs.failNext.push({ type: 'sessionExpired' });
		const { items, error } = await runNodes(credentials, [record('get', { recordId: acme.id })]);
		expect(error).toBeUndefined();
		expect(items[0].json.accountname).toBe('Expiry');
		expect(count(emulator, 'login')).toBe(2);
		expect(count(emulator, 'retrieve')).toBe(3);
	});

	it('a wrong access key is reported without echoing it', async () => {
		const wrongKey = 'wrongKeyValue123';
		const { error } = await runNodes({ vtigerApi: { ...credentials.vtigerApi, accessKey: wrongKey } }, [record('getMany', { limit: 1 })]);
		expect(error?.message).toMatch(/Login refused for user "admin": check the user name and the access key/);
		const shown = JSON.stringify({ message: error?.message, description: error?.description, context: error?.context });
		expect(shown).not.toContain(wrongKey);
		expect(shown).not.toContain(accessKey);
		// A rejected login is retried once with a new challenge (another process may have taken the token).
		expect(count(emulator, 'login')).toBe(2);
	});
});

describe('faults', () => {
	it('retries a read after HTTP 500 and after a dropped connection', async () => {
		const acme = emulator.createRecord('Accounts', { accountname: 'Flaky' });
		await runNodes(credentials, [record('get', { recordId: acme.id })]);
		emulator.knobs.failNext.push({ type: 'http500', operation: 'retrieve' }, { type: 'drop', operation: 'retrieve' });
		const { items, error } = await runNodes(credentials, [record('get', { recordId: acme.id })]);
		expect(error).toBeUndefined();
		expect(items[0].json.accountname).toBe('Flaky');
		expect(count(emulator, 'retrieve')).toBe(4);
	});

	it('never resends a create whose answer was lost, and says the outcome is unknown', async () => {
		await runNodes(credentials, [record('getMany', { limit: 1 })]);
		emulator.knobs.failNext.push({ type: 'drop', operation: 'create' });
		const { items } = await runNodes(credentials, [{ ...record('create', { fields: mapped({ accountname: 'Maybe' }) }), continueOnFail: true }]);
		expect(items[0].json.error).toMatch(/did not confirm "Vtiger create": the request may or may not have been carried out/);
		expect(count(emulator, 'create')).toBe(1);
	});

	it('an HTTP 500 on a write is reported, not retried', async () => {
		await runNodes(credentials, [record('getMany', { limit: 1 })]);
		emulator.knobs.failNext.push({ type: 'http500', operation: 'create' });
		const { error } = await runNodes(credentials, [record('create', { fields: mapped({ accountname: 'Maybe' }) })]);
		expect(error?.message).toMatch(/did not confirm "Vtiger create \(HTTP 500\)"/);
		expect(count(emulator, 'create')).toBe(1);
	});

	it("other Vtiger errors become NodeApiErrors with Vtiger's code", async () => {
		await runNodes(credentials, [record('getMany', { limit: 1 })]);
		emulator.knobs.failNext.push({ type: 'error', code: 'DATABASE_QUERY_ERROR', message: 'Database error while performing required operation', operation: 'query' });
		const { error } = await runNodes(credentials, [record('getMany', { limit: 1 })]);
		expect(error?.message).toBe('Vtiger error DATABASE_QUERY_ERROR: Database error while performing required operation [item 0]');
		expect(error?.name).toBe('NodeApiError');
		expect(error?.context?.crmCode).toBe('DATABASE_QUERY_ERROR');
	});
});

describe('Module, Relation, Lead, Custom', () => {
	it('lists modules and describes one', async () => {
		const modules = await runNodes(credentials, [{ parameters: { resource: 'module', operation: 'getMany' } }]);
		expect(modules.items.map((item) => item.json.name)).toEqual(expect.arrayContaining(['Accounts', 'Contacts', 'Leads', 'Potentials', 'HelpDesk']));
		const described = await runNodes(credentials, [{ parameters: { resource: 'module', operation: 'describe', module: 'Potentials' } }]);
		expect(described.items[0].json.name).toBe('Potentials');
		expect((described.items[0].json.fields as Array<{ name: string }>).map((f) => f.name)).toContain('sales_stage');
	});

	it('relates a contact to an opportunity and lists it', async () => {
		const account = emulator.createRecord('Accounts', { accountname: 'Rel' });
		const potential = emulator.createRecord('Potentials', { potentialname: 'Deal', related_to: account.id, closingdate: '2026-12-31', sales_stage: 'Prospecting' });
		const contact = emulator.createRecord('Contacts', { lastname: 'Linked' });
		const added = await runNodes(credentials, [{ parameters: { resource: 'relation', operation: 'add', recordId: potential.id, relatedRecordId: contact.id } }]);
		expect(added.error).toBeUndefined();
		const listed = await runNodes(credentials, [{ parameters: { resource: 'relation', operation: 'getMany', recordId: potential.id, relatedModule: 'Contacts' } }]);
		expect(listed.items.map((item) => item.json.id)).toEqual([contact.id]);
	});

	it('converts a lead into an organization and a contact', async () => {
		// The real Vtiger 8 on PHP 8.2 answers convertlead with HTTP 500 (the emulator's default); this test needs a
		// build where the operation works.
		const failing = emulator.knobs.failingOperations;
		emulator.knobs.failingOperations = failing.filter((operation) => operation !== 'convertlead');
		const lead = emulator.createRecord('Leads', { lastname: 'Convert', company: 'Lead Co' });
		const { items, error } = await runNodes(credentials, [{ parameters: { resource: 'lead', operation: 'convert', recordId: lead.id, entities: ['Accounts', 'Contacts'] } }]);
		emulator.knobs.failingOperations = failing;
		expect(error).toBeUndefined();
		expect(items[0].json.leadId).toBe(lead.id);
		const element = JSON.parse(emulator.requests.find((r) => r.operation === 'convertlead')!.params.element);
		expect(element).toEqual({
			leadId: lead.id,
			assignedTo: '19x1',
			entities: { Accounts: { create: true, name: 'Accounts' }, Contacts: { create: true, name: 'Contacts' } },
		});
	});

	it('calls any webservice operation; malformed parameters JSON is named', async () => {
		const account = emulator.createRecord('Accounts', { accountname: 'Custom' });
		const ok = await runNodes(credentials, [
			{ parameters: { resource: 'custom', operation: 'execute', webserviceOperation: 'retrieve', httpMethod: 'GET', parameters: JSON.stringify({ id: account.id }) } },
		]);
		expect(ok.items[0].json.accountname).toBe('Custom');
		const bad = await runNodes(credentials, [
			{ parameters: { resource: 'custom', operation: 'execute', webserviceOperation: 'retrieve', httpMethod: 'GET', parameters: '{"id": ' } },
		]);
		expect(bad.error?.message).toMatch(/Field "parameters": is not valid JSON \(.+\) \[item 0\]/);
	});
});
