import type { INodeProperties } from 'n8n-workflow';
import { fieldsMapper, operationSelector, returnAllAndLimit } from '../common/ui';
import type { SalesManOperation } from './resources';
import { GUIDES, OPERATION_LABELS, RESOURCES } from './resources';

/** The SalesMan node's UI, built from the resource table in resources.ts. */

const show = (resource: string[], operation?: string[]) => ({ show: { resource, ...(operation ? { operation } : {}) } });
const withOperation = (operation: SalesManOperation) => RESOURCES.filter((r) => r.operations.includes(operation)).map((r) => r.value);

const resourceOptions = RESOURCES.map(({ value, name, description }) => ({ value, name, description })).concat(
	{ value: 'user', name: 'User', description: 'Users of the account (read only)' },
	{ value: 'guide', name: 'Guide', description: 'Reference lists: categories, sources, deal stages, territories… (read only)' },
	{ value: 'custom', name: 'Custom Operation', description: 'Any method and action with parameters' },
);

const operations: INodeProperties[] = RESOURCES.map((resource) => operationSelector(resource, resource.operations, OPERATION_LABELS, 'getMany'));

export const salesManProperties: INodeProperties[] = [
	{ displayName: 'Resource', name: 'resource', type: 'options', noDataExpression: true, options: resourceOptions, default: 'client' },
	...operations,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: show(['user', 'guide', 'custom']),
		options: [{ value: 'execute', name: 'Execute', action: 'Read or call sales man', description: 'List users, read a guide, or call any action' }],
		default: 'execute',
	},
	{
		displayName: 'Guide',
		name: 'guide',
		type: 'options',
		options: GUIDES.map(({ name, value }) => ({ name, value })),
		default: 'category',
		displayOptions: show(['guide']),
	},
	{
		displayName: 'Record ID',
		name: 'recordId',
		type: 'string',
		required: true,
		default: '',
		description: 'The ID: clid of a client, pid of a person, did of a deal, ID of a lead, task or history entry',
		displayOptions: show(
			RESOURCES.map((r) => r.value),
			['get', 'update', 'delete', 'changeStage', 'close', 'changeResponsible'],
		),
	},
	fieldsMapper({
		method: 'getFields',
		dependsOn: ['resource'],
		description: "Fields with SalesMan's labels, loaded live; custom fields (inputN) show the label your account gave them",
		show: { resource: RESOURCES.map((r) => r.value), operation: ['create', 'createMany', 'update'] },
	}),
	{
		displayName: 'Additional Fields (JSON)',
		name: 'additionalFields',
		type: 'json',
		default: '{}',
		description: 'More fields as JSON, merged over the mapped ones',
		displayOptions: show(
			RESOURCES.map((r) => r.value),
			['create', 'createMany', 'update'],
		),
	},
	{
		displayName:
			'SalesMan blanks every person field an update does not send: the node reads the person first and sends it whole with your changes',
		name: 'personNotice',
		type: 'notice',
		default: '',
		displayOptions: show(['person'], ['update']),
	},
	...returnAllAndLimit({ resource: withOperation('getMany'), operation: ['getMany'] }),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		displayOptions: show(withOperation('getMany'), ['getMany']),
		options: [
			{ displayName: 'Active', name: 'active', type: 'options', options: [{ name: 'Active Only', value: 'yes' }, { name: 'Closed Only', value: 'no' }], default: 'yes', description: 'Deals: all when not set. Tasks: active ones by default.' },
			{ displayName: 'Changed After', name: 'dateChangeStart', type: 'dateTime', default: '' },
			{ displayName: 'Changed Before', name: 'dateChangeEnd', type: 'dateTime', default: '' },
			{ displayName: 'Created After', name: 'dateStart', type: 'dateTime', default: '' },
			{ displayName: 'Created Before', name: 'dateEnd', type: 'dateTime', default: '' },
			{ displayName: 'Field Filters (JSON)', name: 'filterJson', type: 'json', default: '{}', description: 'E.g. {"filter": {"idcategory": 3, "input1": "retail"}}.' },
			{ displayName: 'Order By', name: 'order', type: 'string', default: '', placeholder: 'date_create', description: 'A column of the list, e.g. date_create, title' },
			{ displayName: 'Person ID (History)', name: 'pid', type: 'string', default: '', description: 'History is listed per person' },
			{ displayName: 'Sort Order', name: 'first', type: 'options', options: [{ name: 'Newest First', value: 'new' }, { name: 'Oldest First', value: 'old' }], default: 'new' },
			{
				displayName: 'User Name or ID',
				name: 'user',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getUsers' },
				default: '',
				description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
			},
			{ displayName: 'Word', name: 'word', type: 'string', default: '', description: 'Search in titles, phones, e-mails' },
		],
	},
	{
		displayName: 'Stage Name or ID',
		name: 'step',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getDealSteps' },
		required: true,
		default: '',
		description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
		displayOptions: show(['deal'], ['changeStage']),
	},
	{
		displayName: 'Close Status Name or ID',
		name: 'closeStatus',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getCloseStatuses' },
		required: true,
		default: '',
		description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
		displayOptions: show(['deal'], ['close']),
	},
	{ displayName: 'Sum', name: 'sum', type: 'number', default: 0, description: 'The actual sum of the closed deal', displayOptions: show(['deal'], ['close']) },
	{ displayName: 'Comment', name: 'comment', type: 'string', default: '', displayOptions: show(['deal'], ['changeStage', 'close']) },
	{
		displayName: 'New Responsible Name or ID',
		name: 'user',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getUsers' },
		required: true,
		default: '',
		description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
		displayOptions: show(['deal'], ['changeResponsible']),
	},
	{ displayName: 'Method', name: 'method', type: 'string', required: true, default: '', placeholder: 'client', displayOptions: show(['custom']) },
	{ displayName: 'Action', name: 'action', type: 'string', required: true, default: '', placeholder: 'list', displayOptions: show(['custom']) },
	{ displayName: 'Parameters (JSON)', name: 'parameters', type: 'json', default: '{}', displayOptions: show(['custom']) },
];
