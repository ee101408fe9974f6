import type { INodeProperties } from 'n8n-workflow';
import { fieldsMapper, operationSelector, returnAllAndLimit, sortDirection } from '../common/ui';
import type { AmoOperation } from './resources';
import { OPERATION_LABELS, RESOURCES } from './resources';

/** The amoCRM node's UI, built from the resource table in resources.ts. */

const show = (resource: string[], operation?: string[]) => ({ show: { resource, ...(operation ? { operation } : {}) } });
const withOperation = (operation: AmoOperation) => RESOURCES.filter((r) => r.operations.includes(operation)).map((r) => r.value);
const writable = RESOURCES.filter((r) => r.fields?.length).map((r) => r.value);
const crmEntities = ['lead', 'contact', 'company'];

const resourceOptions = RESOURCES.map(({ value, name, description }) => ({ value, name, description })).concat({
	value: 'custom',
	name: 'Custom API Call',
	description: 'Any method and path under /api/v4',
});

const operations: INodeProperties[] = RESOURCES.map((resource) =>
	operationSelector(resource, resource.operations, OPERATION_LABELS, resource.operations.includes('getMany') ? 'getMany' : resource.operations[0]),
);

const fields = (operation: AmoOperation): INodeProperties =>
	fieldsMapper({
		method: operation === 'update' ? 'getUpdateFields' : 'getCreateFields',
		dependsOn: ['resource'],
		description:
			'Standard fields and the account\'s custom fields (cf_&lt;ID&gt;), typed: numbers, yes/no, lists by option ID or label, dates, phones/e-mails (comma-separated). The text "null" clears a custom field.',
		show: { resource: operation === 'complexCreate' ? ['lead'] : writable.filter((r) => withOperation(operation).includes(r)), operation: [operation] },
	});

export const amoCrmProperties: INodeProperties[] = [
	{
		displayName: 'Authentication',
		name: 'authentication',
		type: 'options',
		options: [
			{ name: 'Long-Lived Token (Recommended)', value: 'longLivedToken' },
			{ name: 'OAuth2', value: 'oAuth2' },
		],
		default: 'longLivedToken',
	},
	{ displayName: 'Resource', name: 'resource', type: 'options', noDataExpression: true, options: resourceOptions, default: 'lead' },
	...operations,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: show(['custom']),
		options: [{ value: 'request', name: 'Request', action: 'Make an API request', description: 'Any method and path under /api/v4' }],
		default: 'request',
	},
	{
		displayName: 'Entity Type',
		name: 'entityType',
		type: 'options',
		options: [
			{ name: 'Companies', value: 'companies' },
			{ name: 'Contacts', value: 'contacts' },
			{ name: 'Leads', value: 'leads' },
		],
		default: 'leads',
		displayOptions: show(['note', 'tag', 'customField', 'link']),
	},
	{
		displayName: 'Entity ID',
		name: 'entityId',
		type: 'string',
		required: true,
		default: '',
		description: 'ID of the lead, contact or company',
		displayOptions: show(['note', 'link']),
	},
	{
		displayName: 'Pipeline Name or ID',
		name: 'pipelineId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getPipelines' },
		required: true,
		default: '',
		description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
		displayOptions: show(['status']),
	},
	{
		displayName: 'Record ID',
		name: 'recordId',
		type: 'string',
		required: true,
		default: '',
		displayOptions: show(
			RESOURCES.filter((r) => r.value !== 'account').map((r) => r.value),
			['get', 'update'],
		),
	},
	fields('create'),
	fields('update'),
	fields('complexCreate'),
	{
		displayName: 'Additional Fields (JSON)',
		name: 'additionalFields',
		type: 'json',
		default: '{}',
		description: 'More fields as JSON, merged over the mapped ones (e.g. {"custom_fields_values": [...]})',
		displayOptions: show(writable, ['create', 'update', 'complexCreate']),
	},
	{
		displayName: 'Contact',
		name: 'contact',
		type: 'collection',
		placeholder: 'Add Contact Field',
		default: {},
		displayOptions: show(['lead'], ['complexCreate']),
		options: [
			{ displayName: 'Email', name: 'email', type: 'string', placeholder: 'name@email.com', default: '' },
			{ displayName: 'First Name', name: 'first_name', type: 'string', default: '' },
			{ displayName: 'Last Name', name: 'last_name', type: 'string', default: '' },
			{ displayName: 'Name', name: 'name', type: 'string', default: '' },
			{ displayName: 'Phone', name: 'phone', type: 'string', default: '' },
		],
	},
	{
		displayName: 'Company Name',
		name: 'companyName',
		type: 'string',
		default: '',
		displayOptions: show(['lead'], ['complexCreate']),
	},
	...returnAllAndLimit({ resource: withOperation('getMany'), operation: ['getMany'] }),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		displayOptions: show([...crmEntities, 'task'], ['getMany']),
		options: [
			{ displayName: 'Created After', name: 'createdFrom', type: 'dateTime', default: '' },
			{ displayName: 'Created Before', name: 'createdTo', type: 'dateTime', default: '' },
			{
				displayName: 'Filter (JSON)',
				name: 'filterJson',
				type: 'json',
				default: '{}',
				description: 'Any amoCRM filter, merged with the others, e.g. {"price": {"from": 1000}}',
			},
			{ displayName: 'IDs', name: 'ids', type: 'string', default: '', description: 'Comma-separated IDs' },
			{
				displayName: 'Pipeline Name or ID',
				name: 'pipelineId',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getPipelines' },
				default: '',
				description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
			},
			{ displayName: 'Query', name: 'query', type: 'string', default: '', description: 'Full-text search' },
			{
				displayName: 'Responsible User Name or ID',
				name: 'responsibleUserId',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getUsers' },
				default: '',
				description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
			},
			{
				displayName: 'Status Name or ID',
				name: 'statusId',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getStatusPairs' },
				default: '',
				description: 'Pipeline and status. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{ displayName: 'Updated After', name: 'updatedFrom', type: 'dateTime', default: '' },
			{ displayName: 'Updated Before', name: 'updatedTo', type: 'dateTime', default: '' },
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(crmEntities.concat('task'), ['get', 'getMany']),
		options: [
			{
				displayName: 'Sort By',
				name: 'sortBy',
				type: 'options',
				options: [
					{ name: 'Created At', value: 'created_at' },
					{ name: 'ID', value: 'id' },
					{ name: 'Updated At', value: 'updated_at' },
				],
				default: 'id',
			},
			sortDirection,
			{
				displayName: 'With',
				name: 'with',
				type: 'multiOptions',
				options: [
					{ name: 'Catalog Elements', value: 'catalog_elements' },
					{ name: 'Companies', value: 'companies' },
					{ name: 'Contacts', value: 'contacts' },
					{ name: 'Leads', value: 'leads' },
					{ name: 'Loss Reason', value: 'loss_reason' },
					{ name: 'Source ID', value: 'source_id' },
				],
				default: [],
				description: 'Related data to include (amoCRM "with")',
			},
		],
	},
	{
		displayName: 'Simplify',
		name: 'simplify',
		type: 'boolean',
		default: false,
		description: 'Whether to flatten custom_fields_values into custom_fields: {code or name: value}',
		displayOptions: show(crmEntities, ['get', 'getMany']),
	},
	{
		displayName: 'To Entity Type',
		name: 'toEntityType',
		type: 'options',
		options: [
			{ name: 'Catalog Elements', value: 'catalog_elements' },
			{ name: 'Companies', value: 'companies' },
			{ name: 'Contacts', value: 'contacts' },
			{ name: 'Leads', value: 'leads' },
		],
		default: 'contacts',
		displayOptions: show(['link'], ['link', 'unlink']),
	},
	{
		displayName: 'To Entity ID',
		name: 'toEntityId',
		type: 'string',
		required: true,
		default: '',
		displayOptions: show(['link'], ['link', 'unlink']),
	},
	{
		displayName: 'HTTP Method',
		name: 'httpMethod',
		type: 'options',
		options: [
			{ name: 'DELETE', value: 'DELETE' },
			{ name: 'GET', value: 'GET' },
			{ name: 'PATCH', value: 'PATCH' },
			{ name: 'POST', value: 'POST' },
		],
		default: 'GET',
		displayOptions: show(['custom']),
	},
	{ displayName: 'Path', name: 'path', type: 'string', required: true, default: '', placeholder: '/leads/123', description: 'Path under /api/v4', displayOptions: show(['custom']) },
	{ displayName: 'Query Parameters (JSON)', name: 'query', type: 'json', default: '{}', displayOptions: show(['custom']) },
	{ displayName: 'Body (JSON)', name: 'body', type: 'json', default: '{}', displayOptions: { show: { resource: ['custom'], httpMethod: ['POST', 'PATCH', 'DELETE'] } } },
];
