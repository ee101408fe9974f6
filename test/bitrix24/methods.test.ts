import type { ResourceMapperFields } from 'n8n-workflow';
import { loadOptions, runNodes } from '../harness/n8n';
import { startBitrix24 } from './setup';
import type { Bitrix24Emulator } from './setup';

let emulator: Bitrix24Emulator;
let credentials: Awaited<ReturnType<typeof startBitrix24>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startBitrix24()));
afterAll(async () => await emulator.stop());

const TYPE = 'n8n-nodes-crm-suite.bitrix24';
const params = (extra: Record<string, unknown>) => ({ authentication: 'webhook', ...extra });
const load = async (group: 'loadOptions' | 'resourceMapping', method: string, extra: Record<string, unknown>) =>
	await loadOptions(credentials, params(extra), group, method, TYPE, 'bitrix24WebhookApi');

it('lists smart-process types, pipelines, stages, sources and users live', async () => {
	expect(await load('loadOptions', 'getSmartProcessTypes', {})).toEqual([{ name: 'Projects (128)', value: 128 }]);
	const pipelines = (await load('loadOptions', 'getPipelines', {})) as Array<{ name: string; value: string }>;
	expect(pipelines.map((p) => p.value)).toEqual(expect.arrayContaining(['0', '1']));
	const stages = (await load('loadOptions', 'getDealStages', {})) as Array<{ value: string }>;
	expect(stages.map((s) => s.value)).toEqual(expect.arrayContaining(['NEW', 'WON']));
	const sources = (await load('loadOptions', 'getSources', {})) as Array<{ value: string }>;
	expect(sources.length).toBeGreaterThan(0);
	const users = (await load('loadOptions', 'getUsers', {})) as Array<{ name: string; value: string }>;
	expect(users.map((u) => u.value)).toEqual(['1', '2', '3']);
	expect(users[1].name).toBe('Maria Sales (2)');
});

it('the deal mapper offers stages, pipelines, users and list items as options; required fields are marked', async () => {
	const { fields } = (await load('resourceMapping', 'getCreateFields', { resource: 'deal' })) as ResourceMapperFields;
	const byId = Object.fromEntries(fields.map((f) => [f.id, f]));
	expect(byId.STAGE_ID.type).toBe('options');
	expect(byId.STAGE_ID.options?.map((o) => o.value)).toContain('WON');
	expect(byId.CATEGORY_ID.options?.map((o) => o.value)).toEqual(expect.arrayContaining(['0', '1']));
	expect(byId.ASSIGNED_BY_ID.options?.map((o) => o.value)).toEqual(['1', '2', '3']);
	expect(byId.ID).toBeUndefined(); // read-only fields are not offered
	const lead = (await load('resourceMapping', 'getCreateFields', { resource: 'lead' })) as ResourceMapperFields;
	const enumField = lead.fields.find((f) => f.id === 'UF_CRM_1700000000002')!;
	expect(enumField.options?.map((o) => o.value)).toEqual(['101', '102', '103']);
	expect(lead.fields.find((f) => f.id === 'PHONE')!.displayName).toMatch(/comma-separated/);
});

it('adds a timeline comment and an activity to a lead, and reads the task fields', async () => {
	const [leadId] = emulator.seed('lead', 1);
	const comment = await runNodes(credentials, [
		{
			type: TYPE,
			credentialType: 'bitrix24WebhookApi',
			parameters: params({ resource: 'timelineComment', operation: 'create', fields: { mappingMode: 'defineBelow', value: { ENTITY_ID: leadId, ENTITY_TYPE: 'lead', COMMENT: 'Called back' } } }),
		},
	]);
	expect(comment.error).toBeUndefined();
	const listed = await runNodes(credentials, [
		{
			type: TYPE,
			credentialType: 'bitrix24WebhookApi',
			parameters: params({ resource: 'timelineComment', operation: 'getMany', returnAll: true, options: { filterJson: JSON.stringify({ ENTITY_ID: leadId, ENTITY_TYPE: 'lead' }) } }),
		},
	]);
	expect(listed.items.map((item) => item.json.COMMENT)).toEqual(['Called back']);
	const taskFields = await runNodes(credentials, [{ type: TYPE, credentialType: 'bitrix24WebhookApi', parameters: params({ resource: 'task', operation: 'getFields' }) }]);
	expect(taskFields.items.map((item) => item.json.name)).toContain('TITLE');
});
