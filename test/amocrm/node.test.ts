import { clearCustomFieldCache } from '../../nodes/AmoCrm/metadata';
import { runNodes } from '../harness/n8n';
import { apiCalls, startAmoCrm } from './setup';
import type { AmoCrmEmulator } from './setup';

let emulator: AmoCrmEmulator;
let credentials: Awaited<ReturnType<typeof startAmoCrm>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startAmoCrm()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	// A reset emulator is a new account whose custom field ids may repeat: the node's cache must not carry over.
	clearCustomFieldCache();
	emulator.reset();
	emulator.knobs.failNext.length = 0;
});

const node = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
	type: 'n8n-nodes-crm-suite.amoCrm',
	credentialType: parameters.authentication === 'oAuth2' ? 'amoCrmOAuth2Api' : 'amoCrmApi',
	parameters: { authentication: 'longLivedToken', ...parameters },
	...extra,
});
const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });

describe('Get Many', () => {
	it('Return All pages 250 at a time following _links.next; a full last page ends on HTTP 204', async () => {
		const ids = emulator.seed('leads', 1000);
		emulator.clearRequests();
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.id)).toEqual(ids);
		const calls = apiCalls(emulator);
		expect(calls.map((c) => [c.path, c.query.page, c.status])).toEqual([
			['/api/v4/leads', '1', 200],
			['/api/v4/leads', '2', 200],
			['/api/v4/leads', '3', 200],
			['/api/v4/leads', '4', 200],
			['/api/v4/leads', '5', 204],
		]);
		expect(calls.every((c) => c.query.limit === '250' && c.token === emulator.longLivedToken)).toBe(true);
	});

	it('an empty list (HTTP 204) is no items, not an error; Limit asks for what it needs', async () => {
		const empty = await runNodes(credentials, [node({ resource: 'company', operation: 'getMany', returnAll: true, filters: { query: 'nothing like this' } })]);
		expect(empty.error).toBeUndefined();
		expect(empty.items).toEqual([]);
		emulator.seed('contacts', 100);
		emulator.clearRequests();
		const some = await runNodes(credentials, [node({ resource: 'contact', operation: 'getMany', limit: 30 })]);
		expect(some.items).toHaveLength(30);
		expect(apiCalls(emulator).map((c) => c.query.limit)).toEqual(['30']);
	});

	it('filters by updated_at range, pipeline/status pair and responsible user', async () => {
		const [pipeline] = emulator.pipelines() as Array<{ id: number; _embedded: { statuses: Array<{ id: number }> } }>;
		const status = pipeline._embedded.statuses[1].id;
		emulator.seed('leads', 40, { pipelineId: pipeline.id, spreadStatuses: true });
		emulator.clearRequests();
		const { items } = await runNodes(credentials, [
			node({
				resource: 'lead',
				operation: 'getMany',
				returnAll: true,
				filters: { updatedFrom: '2000-01-01T00:00:00Z', statusId: `${pipeline.id}:${status}`, responsibleUserId: '8000001' },
				options: { with: ['contacts'], sortBy: 'updated_at', sortDirection: 'DESC' },
			}),
		]);
		expect(items.length).toBeGreaterThan(0);
		expect(items.every((item) => item.json.status_id === status && item.json.pipeline_id === pipeline.id)).toBe(true);
		const query = apiCalls(emulator)[0].query as Record<string, Record<string, unknown>>;
		expect(query.filter).toMatchObject({ updated_at: { from: '946684800' }, statuses: { 0: { pipeline_id: String(pipeline.id), status_id: String(status) } }, responsible_user_id: '8000001' });
		expect(query.order).toEqual({ updated_at: 'desc' });
		expect(query.with).toBe('contacts');
	});
});

describe('bulk writes', () => {
	it('creates 120 leads in 3 requests of ≤ 50, typed custom fields included, each result mapped back by request_id', async () => {
		const select = emulator.addCustomField('leads', { name: 'Channel', type: 'select', enums: ['Web', 'Phone', 'Referral'] }) as { id: number; enums: Array<{ id: number; value: string }> };
		const budget = emulator.addCustomField('leads', { name: 'Budget', type: 'numeric' }) as { id: number };
		const input = Array.from({ length: 120 }, (_, i) => ({ name: `Lead ${i}`, channel: i % 2 ? 'Phone' : 'Web', budget: String(1000 + i) }));
		emulator.clearRequests();
		const { items, error } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', [`cf_${select.id}`]: '={{ $json.channel }}', [`cf_${budget.id}`]: '={{ $json.budget }}' }) })],
			input,
		);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(120);
		const posts = apiCalls(emulator).filter((c) => c.method === 'POST' && c.path === '/api/v4/leads');
		expect(posts.map((p) => (p.body as unknown[]).length)).toEqual([50, 50, 20]);
		const first = (posts[0].body as Array<Record<string, unknown>>)[0];
		expect(first).toMatchObject({
			name: 'Lead 0',
			request_id: '0',
			custom_fields_values: [
				{ field_id: select.id, values: [{ enum_id: select.enums.find((e) => e.value === 'Web')!.id }] },
				{ field_id: budget.id, values: [{ value: 1000 }] },
			],
		});
		expect(items.map((item) => String(item.json.request_id))).toEqual(input.map((_, i) => String(i)));
		expect(emulator.getRecord('leads', Number(items[119].json.id))).toMatchObject({ name: 'Lead 119' });
	});

	it('a write of standard fields alone costs only its writes; the custom fields are read once when a value needs them', async () => {
		const budget = emulator.addCustomField('leads', { name: 'Budget', type: 'numeric' }) as { id: number };
		const input = Array.from({ length: 100 }, (_, i) => ({ name: `Plain ${i}`, price: 10 + i }));
		const customFieldReads = () => apiCalls(emulator).filter((c) => c.path.endsWith('/custom_fields')).length;
		emulator.clearRequests();
		const plain = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', price: '={{ $json.price }}' }) })], input);
		expect(plain.error).toBeUndefined();
		expect(apiCalls(emulator).map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/v4/leads', 'POST /api/v4/leads']);

		emulator.clearRequests();
		const custom = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', [`cf_${budget.id}`]: '={{ $json.price }}' }) })], input);
		expect(custom.error).toBeUndefined();
		expect(customFieldReads()).toBe(1);
		expect(emulator.getRecord('leads', Number(custom.items[99].json.id))).toMatchObject({ custom_fields_values: [{ field_id: budget.id, values: [{ value: '109' }] }] }); // amoCRM answers numeric values as text
	});

	it('an item amoCRM refuses (wrong pipeline/status pair) fails alone with its field; the rest is sent again and written', async () => {
		const pipelines = emulator.pipelines() as Array<{ id: number; _embedded: { statuses: Array<{ id: number }> } }>;
		const foreignStatus = pipelines.length > 1 ? pipelines[1]._embedded.statuses[1].id : 999999;
		emulator.clearRequests();
		const { items } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', pipeline_id: '={{ $json.p }}', status_id: '={{ $json.s }}' }) }, { continueOnFail: true })],
			[
				{ name: 'Good 1', p: '', s: '' },
				{ name: 'Bad pair', p: pipelines[0].id, s: foreignStatus },
				{ name: 'Good 2', p: '', s: '' },
			],
		);
		expect(items).toHaveLength(3);
		expect(items[0].json.id).toBeDefined();
		expect(items[2].json.id).toBeDefined();
		expect(items[1].json.error).toMatch(/^amoCRM error .+\(field "[^"]*status_id[^"]*"\).* \[item 1\]$/);
		expect(String(items[1].json.field)).toMatch(/status_id/);
		const posts = apiCalls(emulator).filter((c) => c.method === 'POST');
		expect(posts.map((p) => [(p.body as unknown[]).length, p.status])).toEqual([
			[3, 400],
			[2, 200],
		]);
	});

	it('bad input is named before anything is sent: unknown field, wrong list option, malformed JSON', async () => {
		const select = emulator.addCustomField('leads', { name: 'Channel', type: 'select', enums: ['Web'] }) as { id: number };
		emulator.clearRequests();
		const unknown = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: 'x', colour: 'red' }) })]);
		expect(unknown.error?.message).toMatch(/Field "fields.colour": "colour" is not a field of Lead .*\[item 0\]/);
		const badEnum = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: 'x', [`cf_${select.id}`]: 'Carrier pigeon' }) })]);
		expect(badEnum.error?.message).toMatch(new RegExp(`Field "fields.cf_${select.id}": "Carrier pigeon" is not an option of "Channel"`));
		const badJson = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: 'x' }), additionalFields: '{' })]);
		expect(badJson.error?.message).toMatch(/Field "additionalFields": is not valid JSON/);
		expect(apiCalls(emulator).filter((c) => c.method !== 'GET')).toEqual([]);
	});

	it('updates with PATCH; "null" clears a custom field', async () => {
		const budget = emulator.addCustomField('leads', { name: 'Budget', type: 'numeric' }) as { id: number };
		const created = emulator.createRecord('leads', { name: 'Before', custom_fields_values: [{ field_id: budget.id, values: [{ value: 5 }] }] }) as { id: number };
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'update', recordId: String(created.id), fields: mapped({ name: 'After', [`cf_${budget.id}`]: 'null' }) })]);
		expect(error).toBeUndefined();
		expect(items[0].json.id).toBe(created.id);
		const patch = apiCalls(emulator).find((c) => c.method === 'PATCH')!;
		expect(patch.body).toEqual([{ id: created.id, name: 'After', custom_fields_values: [{ field_id: budget.id, values: null }], request_id: '0' }]);
		const after = emulator.getRecord('leads', created.id)!;
		expect(after.name).toBe('After');
		expect(after.custom_fields_values ?? null).toBeNull();
	});

	it('creates leads with contact and company in one complex request', async () => {
		const { items, error } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'complexCreate', fields: mapped({ name: '={{ $json.deal }}' }), contact: { first_name: '={{ $json.first }}', phone: '+7 900 000 00 01' }, companyName: '={{ $json.company }}' })],
			[
				{ deal: 'Complex 1', first: 'Ann', company: 'Acme' },
				{ deal: 'Complex 2', first: 'Bob', company: 'Globex' },
			],
		);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(2);
		expect(apiCalls(emulator).filter((c) => c.path === '/api/v4/leads/complex')).toHaveLength(1);
		const contact = emulator.getRecord('contacts', Number(items[0].json.contact_id))!;
		expect(contact.first_name).toBe('Ann');
		expect(emulator.getRecord('companies', Number(items[1].json.company_id))!.name).toBe('Globex');
	});
});

describe('single records, notes, links, simplify', () => {
	it('Get returns the record; a missing one (HTTP 204) names the ID field', async () => {
		const [id] = emulator.seed('contacts', 1);
		const got = await runNodes(credentials, [node({ resource: 'contact', operation: 'get', recordId: String(id) })]);
		expect(got.items[0].json.id).toBe(id);
		const missing = await runNodes(credentials, [node({ resource: 'contact', operation: 'get', recordId: '999999999' })]);
		expect(missing.error?.message).toMatch(/Field "recordId": contact 999999999 was not found/);
	});

	it('adds a note to a lead and lists it; links a contact to the lead', async () => {
		const [lead] = emulator.seed('leads', 1);
		const [contact] = emulator.seed('contacts', 1);
		const note = await runNodes(credentials, [node({ resource: 'note', operation: 'create', entityType: 'leads', entityId: String(lead), fields: mapped({ text: 'Called, interested' }) })]);
		expect(note.error).toBeUndefined();
		const notes = await runNodes(credentials, [node({ resource: 'note', operation: 'getMany', entityType: 'leads', entityId: String(lead), returnAll: true })]);
		expect(notes.items.map((item) => (item.json.params as { text?: string })?.text)).toContain('Called, interested');
		const linked = await runNodes(credentials, [node({ resource: 'link', operation: 'link', entityType: 'leads', entityId: String(lead), toEntityType: 'contacts', toEntityId: String(contact) })]);
		expect(linked.error).toBeUndefined();
		const links = await runNodes(credentials, [node({ resource: 'link', operation: 'getMany', entityType: 'leads', entityId: String(lead), returnAll: true })]);
		expect(links.items.map((item) => item.json.to_entity_id)).toContain(contact);
	});

	it('every ID parameter takes decimal digits only: "1e3", "0x10", "0b11", "0o17" are refused by name and nothing is sent', async () => {
		const [lead] = emulator.seed('leads', 1);
		const [contact] = emulator.seed('contacts', 1);
		const runs: Array<[string, (id: string) => ReturnType<typeof node>]> = [
			['recordId', (id) => node({ resource: 'lead', operation: 'update', recordId: id, fields: mapped({ name: 'Moved?' }) })],
			['entityId', (id) => node({ resource: 'note', operation: 'getMany', entityType: 'leads', entityId: id, limit: 5 })],
			['entityId', (id) => node({ resource: 'note', operation: 'create', entityType: 'leads', entityId: id, fields: mapped({ text: 'Where?' }) })],
			['toEntityId', (id) => node({ resource: 'link', operation: 'link', entityType: 'leads', entityId: String(lead), toEntityType: 'contacts', toEntityId: id })],
			['filters.ids[0]', (id) => node({ resource: 'lead', operation: 'getMany', limit: 5, filters: { ids: id } })],
			['filters.responsibleUserId', (id) => node({ resource: 'lead', operation: 'getMany', limit: 5, filters: { responsibleUserId: id } })],
		];
		for (const [field, make] of runs) {
			for (const id of ['1e3', '0x10', '0b11', '0o17', ' 1e3 ', '1.0', '+5', '٣']) {
				emulator.clearRequests();
				const { error } = await runNodes(credentials, [make(id)]);
				expect({ field, id, message: error?.message, sent: apiCalls(emulator).filter((c) => !c.path.includes('custom_fields')).length }).toEqual({
					field,
					id,
					message: expect.stringMatching(new RegExp(`^Field "${field.replace(/[.[\]]/g, '\\$&')}": ".*" is not an amoCRM ID .*\\[item 0\\]$`)),
					sent: 0,
				});
			}
		}
		// Decimal digits (with spaces around, as typed) still work.
		const linked = await runNodes(credentials, [node({ resource: 'link', operation: 'link', entityType: 'leads', entityId: ` ${lead} `, toEntityType: 'contacts', toEntityId: String(contact) })]);
		expect(linked.error).toBeUndefined();
	});

	it('Simplify flattens custom_fields_values', async () => {
		const budget = emulator.addCustomField('leads', { name: 'Budget', type: 'numeric' }) as { id: number };
		const created = emulator.createRecord('leads', { name: 'Simple', custom_fields_values: [{ field_id: budget.id, values: [{ value: 42 }] }] }) as { id: number };
		const { items } = await runNodes(credentials, [node({ resource: 'lead', operation: 'get', recordId: String(created.id), simplify: true })]);
		expect(items[0].json.custom_fields).toEqual({ Budget: '42' });
		expect(items[0].json.custom_fields_values).toBeUndefined();
	});
});

describe('limits, auth and faults', () => {
	it('429 is waited out and the write goes through once', async () => {
		emulator.knobs.failNext.push({ type: 'rateLimit', path: '/api/v4/leads', method: 'POST' });
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: 'After 429' }) })]);
		expect(error).toBeUndefined();
		expect(items[0].json.id).toBeDefined();
		expect(apiCalls(emulator).filter((c) => c.method === 'POST').map((c) => c.status)).toEqual([429, 200]);
	});

	it('three parallel Return All runs share the 7 requests/s budget: no 429', async () => {
		emulator.seed('leads', 2500);
		emulator.clearRequests();
		const runs = await Promise.all([1, 2, 3].map(async () => await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true })])));
		expect(runs.every((r) => r.items.length === 2500)).toBe(true);
		expect(apiCalls(emulator).filter((c) => c.status === 429)).toEqual([]);
	}, 30_000);

	it('an IP block (HTML 403) is explained', async () => {
		emulator.knobs.failNext.push({ type: 'ipBlock' });
		const { error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', limit: 1 })]);
		expect(error?.message).toMatch(/amoCRM error IP_BLOCKED: amoCRM refused this server \(HTTP 403 page\)/);
	});

	it('a domain that is not amoCRM or Kommo is refused before any request', async () => {
		const { error } = await runNodes({ amoCrmApi: { accountDomain: 'evil.example.com', accessToken: 'secretToken42' } }, [node({ resource: 'lead', operation: 'getMany', limit: 1 })]);
		expect(error?.message).toMatch(/The account domain "evil.example.com" is not an amoCRM or Kommo account/);
		expect(error?.message).not.toContain('secretToken42');
	});

	it('a refused long-lived token is explained without echoing it', async () => {
		const { error } = await runNodes({ amoCrmApi: { ...credentials.amoCrmApi, accessToken: 'wrongToken42' } }, [node({ resource: 'lead', operation: 'getMany', limit: 1 })]);
		expect(error?.message).toMatch(/the long-lived token was refused/);
		expect(JSON.stringify({ m: error?.message, d: error?.description })).not.toContain('wrongToken42');
	});

	it('OAuth2: an expired access token is refreshed once by n8n core', async () => {
		const store = { ...credentials, amoCrmOAuth2Api: { ...credentials.amoCrmOAuth2Api, oauthTokenData: emulator.issueTokens() } };
		emulator.seed('leads', 3);
		const ok = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', limit: 5 })]);
		expect(ok.items).toHaveLength(3);
		emulator.expireAccessTokens();
		emulator.clearRequests();
		const again = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', limit: 5 })]);
		expect(again.error?.message).toBeUndefined();
		expect(again.items).toHaveLength(3);
		expect(emulator.requests.filter((r) => r.path === '/oauth2/access_token')).toHaveLength(1);
	});
});
