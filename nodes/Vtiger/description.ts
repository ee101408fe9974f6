import type { INodeProperties } from 'n8n-workflow';
import { conditionsFilter, fieldsMapper, returnAllAndLimit, sortDirection } from '../common/ui';
import { RESOURCES } from './resources';

/** The Vtiger node's UI, built from the resource table in resources.ts. */

const show = (resource: string, operation?: string[]) => ({
	show: { resource: [resource], ...(operation ? { operation } : {}) },
});

const resourceProperty: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	options: RESOURCES.map(({ value, name, description }) => ({ value, name, description })),
	default: 'record',
};

// The default is the resource's first operation; the rule cannot see through the table.
// eslint-disable-next-line n8n-nodes-base/node-param-default-missing
const operationProperties: INodeProperties[] = RESOURCES.map((resource) => ({
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: show(resource.value),
	options: resource.operations.map(({ value, name, action, description }) => ({ value, name, action, description })),
	default: resource.operations[0].value,
}));

const moduleProperty = (resource: string, operations?: string[]): INodeProperties => ({
	displayName: 'Module Name or ID',
	name: 'module',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getModules' },
	required: true,
	default: '',
	description:
		'The Vtiger module, loaded from your CRM (Accounts, Contacts, Leads, Potentials, HelpDesk…). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	displayOptions: show(resource, operations),
});

const recordId = (resource: string, operations: string[], description: string): INodeProperties => ({
	displayName: 'Record ID',
	name: 'recordId',
	type: 'string',
	required: true,
	default: '',
	placeholder: '11x123',
	description,
	displayOptions: show(resource, operations),
});

const fields = (operation: 'create' | 'update'): INodeProperties =>
	fieldsMapper({
		method: operation === 'create' ? 'getCreateFields' : 'getUpdateFields',
		dependsOn: ['module'],
		addAllFields: operation === 'create',
		description:
			operation === 'create'
				? "Fields of the new record, loaded from the module. Mandatory fields are marked; reference fields take IDs like 11x123; assigned_user_id defaults to the credential's user."
				: 'Only the fields given here are changed (sent with "revise"); the other fields keep their values',
		show: { resource: ['record'], operation: [operation] },
	});

const getManyProperties: INodeProperties[] = [
	...returnAllAndLimit({ resource: ['record'], operation: ['getMany'] }),
	conditionsFilter({ resource: ['record'], operation: ['getMany'] }, 'getFieldNames', ['module'], [
		{ name: '!=', value: 'notEquals' },
		{ name: '<', value: 'lt' },
		{ name: '<=', value: 'lte' },
		{ name: '=', value: 'equals' },
		{ name: '>', value: 'gt' },
		{ name: '>=', value: 'gte' },
		{ name: 'IN (Comma-Separated or JSON Array)', value: 'in' },
		{ name: 'LIKE (Use % as Wildcard)', value: 'like' },
	]),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('record', ['getMany']),
		options: [
			{
				displayName: 'Combine Conditions',
				name: 'combine',
				type: 'options',
				options: [
					{ name: 'All Must Match (AND)', value: 'AND' },
					{ name: 'Any May Match (OR)', value: 'OR' },
				],
				default: 'AND',
			},
			{
				displayName: 'Field Names or IDs',
				name: 'fields',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getFieldNames', loadOptionsDependsOn: ['module'] },
				default: [],
				description:
					'Fields to return (all when empty). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			sortDirection,
			{
				displayName: 'Sort Field Name or ID',
				name: 'sortField',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getFieldNames', loadOptionsDependsOn: ['module'] },
				default: '',
				description:
					'Sort by this field (by record ID when empty, which is the stable order for paging). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
		],
	},
];

const queryProperties: INodeProperties[] = [
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		placeholder: "SELECT * FROM Accounts WHERE industry = 'Banking' ORDER BY accountname;",
		description:
			'A VTQL SELECT. Without a LIMIT, all matching rows are returned (read 100 at a time, ordered by ID unless the query has ORDER BY); with a LIMIT, Vtiger returns at most 100 rows.',
		displayOptions: show('query', ['execute']),
	},
];

const relationProperties: INodeProperties[] = [
	recordId('relation', ['getMany', 'add'], 'ID of the record whose relations to read or add, like 11x123'),
	{
		displayName: 'Related Module Name or ID',
		name: 'relatedModule',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getModules' },
		required: true,
		default: '',
		description:
			'Module of the related records. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: show('relation', ['getMany']),
	},
	{
		displayName: 'Related Record ID',
		name: 'relatedRecordId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '12x45',
		description: 'ID of the record to relate, like 12x45',
		displayOptions: show('relation', ['add']),
	},
	{
		displayName: 'Relation Label',
		name: 'relationLabel',
		type: 'string',
		default: '',
		placeholder: 'Contacts',
		description: 'Label of the relation in Vtiger when a module has more than one relation to the other (optional)',
		displayOptions: show('relation', ['getMany', 'add']),
	},
];

const convertProperties: INodeProperties[] = [
	recordId('lead', ['convert'], 'ID of the lead to convert, like 10x17'),
	{
		displayName: 'Create',
		name: 'entities',
		type: 'multiOptions',
		options: [
			{ name: 'Organization (Accounts)', value: 'Accounts' },
			{ name: 'Contact (Contacts)', value: 'Contacts' },
			{ name: 'Opportunity (Potentials)', value: 'Potentials' },
		],
		default: ['Accounts', 'Contacts'],
		description: 'Records to create from the lead',
		displayOptions: show('lead', ['convert']),
	},
	{
		displayName: 'Options',
		name: 'convertOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('lead', ['convert']),
		options: [
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: '19x1',
				description: "User or group ID that owns the new records (the credential's user when empty)",
			},
			{
				displayName: 'Entity Fields (JSON)',
				name: 'entityFields',
				type: 'json',
				default: '{}',
				description:
					'Field values per created module, e.g. {"Potentials": {"potentialname": "Deal", "closingdate": "2026-12-31", "sales_stage": "Prospecting"}}',
			},
		],
	},
];

const customProperties: INodeProperties[] = [
	{
		displayName: 'Webservice Operation',
		name: 'webserviceOperation',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'retrieve_related',
		description: 'Name of the webservice operation, as Vtiger spells it (the session is added for you)',
		displayOptions: show('custom', ['execute']),
	},
	{
		displayName: 'HTTP Method',
		name: 'httpMethod',
		type: 'options',
		options: [
			{ name: 'GET (Reads; Retried on Network Errors)', value: 'GET' },
			{ name: 'POST (Writes; Never Resent When the Outcome Is Unknown)', value: 'POST' },
		],
		default: 'GET',
		displayOptions: show('custom', ['execute']),
	},
	{
		displayName: 'Parameters (JSON)',
		name: 'parameters',
		type: 'json',
		default: '{}',
		description: 'Parameters of the operation; objects (like "element") are sent as JSON text, as Vtiger expects',
		displayOptions: show('custom', ['execute']),
	},
];

export const vtigerProperties: INodeProperties[] = [
	resourceProperty,
	...operationProperties,
	moduleProperty('record'),
	moduleProperty('module', ['describe']),
	recordId('record', ['get', 'update', 'delete'], 'Webservice ID of the record, like 11x123 (module prefix x record number)'),
	fields('create'),
	fields('update'),
	...getManyProperties,
	...queryProperties,
	...relationProperties,
	...convertProperties,
	...customProperties,
];
