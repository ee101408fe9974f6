import { runNodes } from '../harness/n8n';
import { restCalls, startBitrix24 } from './setup';
import type { Bitrix24Emulator } from './setup';

let emulator: Bitrix24Emulator;
let credentials: Awaited<ReturnType<typeof startBitrix24>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startBitrix24()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	emulator.reset();
	emulator.knobs.failNext.length = 0;
});

const node = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
	type: 'n8n-nodes-crm-suite.bitrix24',
	credentialType: parameters.authentication === 'oAuth2' ? 'bitrix24OAuth2Api' : 'bitrix24WebhookApi',
	parameters: { authentication: 'webhook', ...parameters },
	...extra,
});
const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });

describe('Get Many', () => {
	it('Return All reads 10,000 leads in ID order: one page with the total, then keyset pages 50 per batch (5 requests)', async () => {
		const ids = emulator.seed('lead', 10_000);
		emulator.clearRequests();
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true, options: { select: ['ID', 'TITLE'] } })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(10_000);
		expect(items.map((item) => Number(item.json.ID))).toEqual(ids);
		const calls = restCalls(emulator);
		expect(calls.map((call) => [call.restMethod, call.commands?.length, call.status])).toEqual([
			['crm.lead.list', undefined, 200],
			['batch', 50, 200],
			['batch', 50, 200],
			['batch', 50, 200],
			['batch', 49, 200],
		]);
		expect(calls[0].params).toMatchObject({ order: { ID: 'ASC' }, start: 0 });
		const batch = calls[1].commands!;
		expect(batch[0].params).toMatchObject({ order: { ID: 'ASC' }, start: '-1', filter: { '>ID': String(ids[49]) } });
		// Page 2 of the batch filtered on the last ID of page 1, resolved by the portal from $result[p0].
		expect((batch[1].params.filter as Record<string, unknown>)['>ID']).toBe(String(ids[99]));
	});

	it('Limit reads only the pages it needs; one page is a plain list call', async () => {
		emulator.seed('deal', 300);
		emulator.clearRequests();
		const small = await runNodes(credentials, [node({ resource: 'deal', operation: 'getMany', limit: 30 })]);
		expect(small.items).toHaveLength(30);
		expect(restCalls(emulator).map((c) => c.restMethod)).toEqual(['crm.deal.list']);
		emulator.clearRequests();
		const three = await runNodes(credentials, [node({ resource: 'deal', operation: 'getMany', limit: 120 })]);
		expect(three.items).toHaveLength(120);
		expect(restCalls(emulator).map((c) => [c.restMethod, c.commands?.length])).toEqual([
			['crm.deal.list', undefined],
			['batch', 2],
		]);
	});

	it('filters use Bitrix24 key prefixes; a JSON filter is merged', async () => {
		emulator.createRecord('lead', { TITLE: 'Alpha corp', STATUS_ID: 'NEW', OPPORTUNITY: 500 }, { silent: true });
		emulator.createRecord('lead', { TITLE: 'Beta corp', STATUS_ID: 'IN_PROCESS', OPPORTUNITY: 1500 }, { silent: true });
		emulator.createRecord('lead', { TITLE: 'Alpha junk', STATUS_ID: 'JUNK', OPPORTUNITY: 2000 }, { silent: true });
		emulator.clearRequests();
		const { items } = await runNodes(credentials, [
			node({
				resource: 'lead',
				operation: 'getMany',
				returnAll: true,
				filters: { conditions: [{ field: 'TITLE', operator: 'contains', value: 'Alpha' }] },
				options: { filterJson: '{"!STATUS_ID": "JUNK"}' },
			}),
		]);
		expect(items.map((item) => item.json.TITLE)).toEqual(['Alpha corp']);
		const filter = (restCalls(emulator)[0].params.filter ?? {}) as Record<string, unknown>;
		expect(filter).toMatchObject({ '%TITLE': 'Alpha', '!STATUS_ID': 'JUNK' });
	});

	it("a user's own order falls back to documented paging, still batched", async () => {
		emulator.seed('contact', 180);
		emulator.clearRequests();
		const { items } = await runNodes(credentials, [
			node({ resource: 'contact', operation: 'getMany', returnAll: true, options: { sortField: 'NAME', sortDirection: 'DESC' } }),
		]);
		expect(items).toHaveLength(180);
		expect(new Set(items.map((item) => item.json.ID)).size).toBe(180);
		const calls = restCalls(emulator);
		expect(calls.map((c) => c.restMethod)).toEqual(['crm.contact.list', 'batch']);
		expect(calls[1].commands!.map((c) => c.params.start)).toEqual(['50', '100', '150']);
	});

	it('reads smart-process items and tasks through their wrapped envelopes', async () => {
		emulator.seed(128, 60);
		emulator.seed('task', 7);
		const items = await runNodes(credentials, [node({ resource: 'smartItem', entityTypeId: 128, operation: 'getMany', returnAll: true })]);
		expect(items.items).toHaveLength(60);
		expect(items.items[0].json).toHaveProperty('entityTypeId', 128);
		const tasks = await runNodes(credentials, [node({ resource: 'task', operation: 'getMany', returnAll: true })]);
		expect(tasks.items).toHaveLength(7);
		expect(tasks.items[0].json).toHaveProperty('id');
	});
});

describe('bulk writes through batch', () => {
	it('creates 120 leads in 3 requests; every result is mapped back to its item', async () => {
		const input = Array.from({ length: 120 }, (_, i) => ({ title: `Lead ${i}`, phones: i === 0 ? '+1 555 0100, +1 555 0101' : `+1 555 ${1000 + i}` }));
		emulator.clearRequests();
		const { items, error } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: '={{ $json.title }}', PHONE: '={{ $json.phones }}' }) })],
			input,
		);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(120);
		expect(items.map((item) => (item.pairedItem as { item: number }).item)).toEqual(input.map((_, i) => i));
		expect(restCalls(emulator).filter((c) => c.restMethod === 'batch').map((c) => c.commands!.length)).toEqual([50, 50, 20]);
		const created = emulator.getRecord('lead', Number(items[0].json.ID))!;
		expect(created.TITLE).toBe('Lead 0');
		expect((created.PHONE as Array<{ VALUE: string; VALUE_TYPE: string }>).map((p) => [p.VALUE, p.VALUE_TYPE])).toEqual([
			['+1 555 0100', 'WORK'],
			['+1 555 0101', 'WORK'],
		]);
		expect(emulator.getRecord('lead', Number(items[119].json.ID))!.TITLE).toBe('Lead 119');
	});

	it('a bad item fails alone, naming item and field; an item the portal refuses carries its error', async () => {
		const [existing] = emulator.seed('deal', 1);
		const { items } = await runNodes(
			credentials,
			[node({ resource: 'deal', operation: 'update', recordId: '={{ $json.id }}', fields: mapped({ TITLE: '={{ $json.title }}' }) }, { continueOnFail: true })],
			[
				{ id: String(existing), title: 'Renamed' },
				{ id: 'abc', title: 'Bad id' },
				{ id: '999999', title: 'Missing' },
			],
		);
		expect(items).toHaveLength(3);
		expect(items[0].json).toEqual({ ID: String(existing), updated: true });
		expect(emulator.getRecord('deal', existing)!.TITLE).toBe('Renamed');
		expect(items[1].json.error).toMatch(/Field "recordId": "abc" is not a Bitrix24 record ID .*\[item 1\]/);
		// Bitrix24's "Not found" comes back naming the ID field, with the portal's own words kept.
		expect(items[2].json).toMatchObject({ field: 'recordId' });
		expect(items[2].json.error).toMatch(/^Field "recordId": deal 999999 was not found \(Bitrix24 error .*Not found \(crm\.deal\.update\)\) \[item 2\]$/);
		expect(items.map((item) => (item.pairedItem as { item: number }).item)).toEqual([0, 1, 2]);
	});

	it('unknown fields and values outside a list are named before anything is sent', async () => {
		emulator.clearRequests();
		const unknown = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: 'x', COLOUR: 'red' }) })]);
		expect(unknown.error?.message).toMatch(/Field "fields.COLOUR": "COLOUR" is not a field of Lead .*\[item 0\]/);
		const badEnum = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: 'x', UF_CRM_1700000000002: '999' }) })]);
		expect(badEnum.error?.message).toMatch(/Field "fields.UF_CRM_1700000000002": "999" is not an option of this list \(allowed IDs: 101/);
		const badJson = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: 'x' }), additionalFields: '{"a":' })]);
		expect(badJson.error?.message).toMatch(/Field "additionalFields": is not valid JSON/);
		expect(restCalls(emulator).filter((c) => c.restMethod === 'batch')).toEqual([]);
	});

	it('deletes and gets', async () => {
		const [id] = emulator.seed('company', 1);
		const got = await runNodes(credentials, [node({ resource: 'company', operation: 'get', recordId: String(id) })]);
		expect(got.items[0].json.ID).toBe(String(id));
		const deleted = await runNodes(credentials, [node({ resource: 'company', operation: 'delete', recordId: String(id) })]);
		expect(deleted.items[0].json).toEqual({ ID: String(id), deleted: true });
		expect(emulator.getRecord('company', id)).toBeUndefined();
	});

	it('creates a smart-process item with its entityTypeId', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'smartItem', entityTypeId: 128, operation: 'create', fields: mapped({ title: 'Project X' }) })]);
		expect(error).toBeUndefined();
		expect(items[0].json).toMatchObject({ title: 'Project X', entityTypeId: 128 });
	});
});

describe('rate limit and faults', () => {
	it('503 QUERY_LIMIT_EXCEEDED and 429 OPERATION_TIME_LIMIT are waited out, also for writes', async () => {
		emulator.knobs.failNext.push({ type: 'rateLimit', method: 'batch' });
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: 'After a 503' }) })]);
		expect(error).toBeUndefined();
		expect(items[0].json.ID).toBeDefined();
		expect(emulator.count('lead')).toBe(1);
		const batches = restCalls(emulator).filter((c) => c.restMethod === 'batch');
		expect(batches.map((c) => c.status)).toEqual([503, 200]);
	});

	it('a write whose answer was lost is not resent; each item says so', async () => {
		emulator.knobs.failNext.push({ type: 'drop', method: 'batch' });
		const { items } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: '={{ $json.t }}' }) }, { continueOnFail: true })],
			[{ t: 'a' }, { t: 'b' }],
		);
		expect(items.map((item) => item.json.error)).toEqual([
			expect.stringMatching(/did not confirm "Bitrix24 batch"/),
			expect.stringMatching(/did not confirm "Bitrix24 batch"/),
		]);
		expect(restCalls(emulator).filter((c) => c.restMethod === 'batch')).toHaveLength(1);
	});

	it('reads are retried after HTTP 500', async () => {
		emulator.seed('lead', 3);
		emulator.knobs.failNext.push({ type: 'http500', method: 'crm.lead.list' });
		const { items } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', limit: 10 })]);
		expect(items).toHaveLength(3);
	});

	it('a malformed webhook URL is explained without echoing it', async () => {
		const { error } = await runNodes({ bitrix24WebhookApi: { webhookUrl: 'https://portal.example/secretcode42' } }, [node({ resource: 'lead', operation: 'getMany', limit: 1 })]);
		expect(error?.message).toMatch(/The Bitrix24 webhook URL must look like https:\/\/yourcompany.bitrix24.com\/rest\/1\/abc123def456\//);
		expect(error?.message).not.toContain('secretcode42');
	});
});

describe('OAuth2', () => {
	it('works with the OAuth credential, and an expired token is refreshed once by n8n core', async () => {
		emulator.seed('lead', 2);
		const store = { ...credentials, bitrix24OAuth2Api: { ...credentials.bitrix24OAuth2Api, oauthTokenData: emulator.issueTokens() } };
		emulator.clearRequests();
		const ok = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', limit: 5 })]);
		expect(ok.items).toHaveLength(2);
		expect(restCalls(emulator).every((c) => c.auth === 'oauth')).toBe(true);

		emulator.expireAccessTokens();
		emulator.clearRequests();
		const again = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', limit: 5 })]);
		expect(again.error).toBeUndefined();
		expect(again.items).toHaveLength(2);
		expect(emulator.requests.filter((r) => r.restMethod === 'oauth/token')).toHaveLength(1);
	});
});

describe('custom calls', () => {
	it('calls any method and runs a user batch with $result references', async () => {
		const profile = await runNodes(credentials, [node({ resource: 'custom', operation: 'method', method: 'profile', parameters: '{}' })]);
		expect(profile.items[0].json.result).toHaveProperty('ID');
		const batch = await runNodes(credentials, [
			node({
				resource: 'custom',
				operation: 'batch',
				commands: JSON.stringify({ lead: 'crm.lead.add?fields[TITLE]=Via batch', got: 'crm.lead.get?id=$result[lead]' }),
			}),
		]);
		const result = batch.items[0].json.result as Record<string, Record<string, unknown>>;
		expect(result.got.TITLE).toBe('Via batch');
	});
});

describe('bulk write without Continue On Fail', () => {
	it('stops at the failing item and says which items of the same request were written', async () => {
		const [existing] = emulator.seed('deal', 1);
		const { error } = await runNodes(
			credentials,
			[node({ resource: 'deal', operation: 'update', recordId: '={{ $json.id }}', fields: mapped({ TITLE: 'x' }) })],
			[{ id: String(existing) }, { id: '999999' }],
		);
		expect(error?.message).toMatch(/^Field "recordId": deal 999999 was not found .*\[item 1\]$/);
		expect(error?.description).toMatch(/Items 0 were written before the node stopped; turn on Continue On Fail to get their results\./);
	});
});

describe('required fields', () => {
	it('a required custom field missing on create is named before anything is sent', async () => {
		const strict = await startBitrix24({
			userFields: { 1: [{ FIELD_NAME: 'UF_CRM_CONTRACT', USER_TYPE_ID: 'string', MULTIPLE: 'N', MANDATORY: 'Y', EDIT_FORM_LABEL: 'Contract' }] },
		});
		try {
			const { items } = await runNodes(
				strict.credentials,
				[node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: '={{ $json.t }}', UF_CRM_CONTRACT: '={{ $json.c }}' }) }, { continueOnFail: true })],
				[{ t: 'with', c: 'C-1' }, { t: 'without' }],
			);
			expect(items[0].json.ID).toBeDefined();
			expect(items[1].json).toMatchObject({ field: 'fields.UF_CRM_CONTRACT' });
			expect(items[1].json.error).toMatch(/Field "fields.UF_CRM_CONTRACT": is required for a new Lead \[item 1\]/);
			expect(strict.emulator.count('lead')).toBe(1);
		} finally {
			await strict.emulator.stop();
		}
	});
});

describe('review fixes', () => {
	it('Map Automatically skips read-only fields that input read from Bitrix24 carries', async () => {
		const [id] = emulator.seed('lead', 1);
		const got = await runNodes(credentials, [node({ resource: 'lead', operation: 'get', recordId: String(id) })]);
		const input = { ...got.items[0].json, TITLE: 'Auto-mapped' };
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'update', recordId: String(id), fields: { mappingMode: 'autoMapInputData', value: null } })], [input]);
		expect(error).toBeUndefined();
		expect(items[0].json).toEqual({ ID: String(id), updated: true });
		expect(emulator.getRecord('lead', id)!.TITLE).toBe('Auto-mapped');
	});

	it('yes/no (char) fields are sent as Y/N; a get of a missing record names the ID field', async () => {
		emulator.clearRequests();
		await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: mapped({ TITLE: 'Flags', OPENED: true }) })]);
		const command = restCalls(emulator).find((c) => c.restMethod === 'batch')!.commands![0];
		expect((command.params.fields as Record<string, unknown>).OPENED).toBe('Y');
		const missing = await runNodes(credentials, [node({ resource: 'lead', operation: 'get', recordId: '987654' })]);
		expect(missing.error?.message).toMatch(/^Field "recordId": lead 987654 was not found/);
	});
});
