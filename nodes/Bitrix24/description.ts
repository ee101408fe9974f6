import type { INodeProperties } from 'n8n-workflow';
import { conditionsFilter, fieldsMapper, returnAllAndLimit, sortDirection } from '../common/ui';
import type { OperationName } from './resources';
import { ENTITIES, OPERATION_LABELS } from './resources';

/** The Bitrix24 node's UI, built from the entity table in resources.ts. */

const ORDER: OperationName[] = ['create', 'delete', 'get', 'getFields', 'getMany', 'update'];
const show = (resource: string[], operation?: string[]) => ({ show: { resource, ...(operation ? { operation } : {}) } });
const entitiesWith = (operation: OperationName) => ENTITIES.filter((e) => e.methods[operation]).map((e) => e.value);

const authentication: INodeProperties = {
	displayName: 'Authentication',
	name: 'authentication',
	type: 'options',
	options: [
		{ name: 'Inbound Webhook', value: 'webhook' },
		{ name: 'OAuth2 (Application)', value: 'oAuth2' },
	],
	default: 'webhook',
};

const resourceOptions = ENTITIES.map(({ value, name, description }) => ({ value, name, description })).concat({
	value: 'custom',
	name: 'Custom API Call',
	description: 'Any REST method, or your own batch of commands',
});

const resource: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	options: resourceOptions,
	default: 'lead',
};

const operations: INodeProperties[] = [
	...ENTITIES.map(
		// Each resource's default is one of its operations; the rule cannot see through the table.
		// eslint-disable-next-line n8n-nodes-base/node-param-default-missing
		(entity): INodeProperties => ({
			displayName: 'Operation',
			name: 'operation',
			type: 'options',
			noDataExpression: true,
			displayOptions: show([entity.value]),
			options: ORDER.filter((op) => entity.methods[op]).map((op) => ({
				value: op,
				name: OPERATION_LABELS[op].name,
				action: OPERATION_LABELS[op].action(entity.name.toLowerCase()),
				description: `${OPERATION_LABELS[op].description} (${entity.methods[op]})`,
			})),
			default: entity.methods.getMany ? 'getMany' : 'get',
		}),
	),
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: show(['custom']),
		options: [
			{ value: 'batch', name: 'Batch', action: 'Run a batch of commands', description: 'Up to 50 commands in one request; later ones may use $result[...] of earlier ones' },
			{ value: 'method', name: 'Call Method', action: 'Call any REST method', description: 'Any REST method with JSON parameters' },
		],
		default: 'method',
	},
];

const fields = (mode: 'create' | 'update'): INodeProperties =>
	fieldsMapper({
		method: mode === 'create' ? 'getCreateFields' : 'getUpdateFields',
		dependsOn: ['resource', 'entityTypeId'],
		description:
			mode === 'create'
				? 'Fields of the new record, loaded from the portal (required fields marked; lists, stages, pipelines and users as options). PHONE/EMAIL take one value, several separated by commas, or the [{"VALUE", "VALUE_TYPE"}] array.'
				: 'Only these fields change',
		show: { resource: entitiesWith(mode === 'create' ? 'create' : 'update'), operation: [mode] },
	});

export const bitrix24Properties: INodeProperties[] = [
	authentication,
	resource,
	...operations,
	{
		displayName: 'Smart Process Type Name or ID',
		name: 'entityTypeId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getSmartProcessTypes' },
		required: true,
		default: '',
		description:
			'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
		displayOptions: show(['smartItem']),
	},
	{
		displayName: 'Record ID',
		name: 'recordId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '123',
		displayOptions: show(
			ENTITIES.map((e) => e.value),
			['get', 'update', 'delete'],
		),
	},
	fields('create'),
	fields('update'),
	{
		displayName: 'Additional Fields (JSON)',
		name: 'additionalFields',
		type: 'json',
		default: '{}',
		description: 'More fields as JSON, merged over the mapped ones (e.g. {"UF_CRM_1700000000": "x"})',
		displayOptions: show(
			ENTITIES.map((e) => e.value),
			['create', 'update'],
		),
	},
	...returnAllAndLimit({ resource: entitiesWith('getMany'), operation: ['getMany'] }),
	conditionsFilter({ resource: entitiesWith('getMany'), operation: ['getMany'] }, 'getFieldNames', ['resource', 'entityTypeId'], [
		{ name: 'Contains', value: 'contains' },
		{ name: 'Equals', value: 'equals' },
		{ name: 'Greater Than', value: 'gt' },
		{ name: 'Greater Than or Equal', value: 'gte' },
		{ name: 'In (Comma-Separated)', value: 'in' },
		{ name: 'Less Than', value: 'lt' },
		{ name: 'Less Than or Equal', value: 'lte' },
		{ name: 'Not Equals', value: 'notEquals' },
	]),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(entitiesWith('getMany'), ['getMany']),
		options: [
			{
				displayName: 'Filter (JSON)',
				name: 'filterJson',
				type: 'json',
				default: '{}',
				description: 'Bitrix24 filter with its key prefixes, merged with the conditions, e.g. {">=DATE_CREATE": "2026-01-01", "!STATUS_ID": "JUNK"}',
			},
			{
				displayName: 'Select Field Names or IDs',
				name: 'select',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getFieldNames', loadOptionsDependsOn: ['resource', 'entityTypeId'] },
				default: [],
				description:
					'Fields to return (all, with custom fields and phones/e-mails, when empty). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			sortDirection,
			{
				displayName: 'Sort Field Name or ID',
				name: 'sortField',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getFieldNames', loadOptionsDependsOn: ['resource', 'entityTypeId'] },
				default: '',
				description:
					'By ID when empty: the fastest order (2,500 rows per request). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
		],
	},
	{
		displayName: 'Method',
		name: 'method',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'crm.deal.list',
		description: 'REST method name. Methods ending in .get/.list/.fields are treated as reads (retried on network errors); others as writes (never resent when the outcome is unknown).',
		displayOptions: show(['custom'], ['method']),
	},
	{
		displayName: 'Parameters (JSON)',
		name: 'parameters',
		type: 'json',
		default: '{}',
		displayOptions: show(['custom'], ['method']),
	},
	{
		displayName: 'Commands (JSON)',
		name: 'commands',
		type: 'json',
		default: '{\n  "lead": "crm.lead.add?fields[TITLE]=From n8n",\n  "comment": "crm.timeline.comment.add?fields[ENTITY_TYPE]=lead&fields[ENTITY_ID]=$result[lead]&fields[COMMENT]=Created by n8n"\n}',
		description: 'Up to 50 commands, each "method?params" or {"method", "params"}; $result[key] refers to an earlier command',
		displayOptions: show(['custom'], ['batch']),
	},
	{
		displayName: 'Halt on First Error',
		name: 'halt',
		type: 'boolean',
		default: false,
		description: 'Whether Bitrix24 stops at the first failing command',
		displayOptions: show(['custom'], ['batch']),
	},
];
