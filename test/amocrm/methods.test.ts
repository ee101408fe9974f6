import type { ResourceMapperFields } from 'n8n-workflow';
import { loadOptions } from '../harness/n8n';
import { startAmoCrm } from './setup';
import type { AmoCrmEmulator } from './setup';

let emulator: AmoCrmEmulator;
let credentials: Awaited<ReturnType<typeof startAmoCrm>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startAmoCrm()));
afterAll(async () => await emulator.stop());

const TYPE = 'n8n-nodes-crm-suite.amoCrm';
const load = async (group: 'loadOptions' | 'resourceMapping', method: string, extra: Record<string, unknown> = {}) =>
	(await loadOptions(credentials, { authentication: 'longLivedToken', ...extra }, group, method, TYPE, 'amoCrmApi')) as Array<{ name: string; value: string | number }>;

it('lists pipelines, statuses with won/lost named, users, task types and tags live', async () => {
	const pipelines = await load('loadOptions', 'getPipelines');
	expect(pipelines.length).toBeGreaterThanOrEqual(2);
	const statuses = await load('loadOptions', 'getStatuses');
	expect(statuses.filter((s) => s.value === 142).every((s) => s.name.endsWith('(won)'))).toBe(true);
	expect(statuses.filter((s) => s.value === 143).every((s) => s.name.endsWith('(lost)'))).toBe(true);
	const pairs = await load('loadOptions', 'getStatusPairs');
	expect(String(pairs[0].value)).toMatch(/^\d+:\d+$/);
	expect((await load('loadOptions', 'getUsers')).map((u) => u.value)).toEqual([8000001, 8000002, 8000003]);
	expect((await load('loadOptions', 'getTaskTypes')).map((t) => t.value)).toEqual([1, 2]);
	emulator.createRecord('leads', { name: 'Tagged', _embedded: { tags: [{ name: 'vip' }] } });
	expect((await load('loadOptions', 'getTags', { entityType: 'leads' })).map((t) => t.value)).toContain('vip');
});

it('the lead mapper has the standard fields and the custom fields with their types and options', async () => {
	const { fields } = (await loadOptions(credentials, { authentication: 'longLivedToken', resource: 'lead' }, 'resourceMapping', 'getCreateFields', TYPE, 'amoCrmApi')) as ResourceMapperFields;
	const byName = Object.fromEntries(fields.map((f) => [f.displayName.split(' (')[0].split(',')[0], f]));
	expect(byName.Name.id).toBe('name');
	expect(byName['Status'].options?.some((o) => o.value === 142)).toBe(true);
	expect(byName['Responsible User'].options?.map((o) => o.value)).toEqual([8000001, 8000002, 8000003]);
	expect(byName.Source.id).toMatch(/^cf_\d+$/);
	expect(byName.Source.type).toBe('options');
	expect(byName.Source.options?.length).toBeGreaterThan(0);
	expect(byName.Discount.type).toBe('number');
	expect(byName.Urgent.type).toBe('boolean');
});
