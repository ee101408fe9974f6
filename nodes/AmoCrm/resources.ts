/**
 * What the amoCRM node offers, as a table: each resource's API path, the key of its list in `_embedded`,
 * its operations, and its standard fields. operations.ts reads it; resources with special behaviour (notes
 * under an entity, links, complex create, account) get a small extra handler there.
 *
 * amoCRM v4 has no DELETE for leads, contacts, companies and tasks: those resources offer no Delete, and
 * their descriptions say so, instead of pretending.
 */

export type AmoOperation = 'create' | 'get' | 'getMany' | 'update' | 'complexCreate' | 'link' | 'unlink';

export type StandardFieldType = 'string' | 'number' | 'boolean' | 'dateTime' | 'options';

export interface StandardField {
	name: string;
	label: string;
	type: StandardFieldType;
	/** loadOptions method for `options` fields. */
	options?: 'getPipelines' | 'getStatuses' | 'getUsers' | 'getTaskTypes';
	requiredOnCreate?: boolean;
	/** Stored as a unix timestamp by amoCRM. */
	timestamp?: boolean;
}

export interface AmoResource {
	value: string;
	name: string;
	description: string;
	/** Path under /api/v4; notes and custom fields depend on the chosen entity. */
	path: string;
	/** Key of the list in `_embedded`. */
	embedded: string;
	operations: AmoOperation[];
	fields?: StandardField[];
	/** The entity whose custom fields apply (`/api/v4/{entity}/custom_fields`). */
	customFieldsOf?: 'leads' | 'contacts' | 'companies';
	/** Values for `with=` on Get / Get Many. */
	with?: string[];
}

const responsible: StandardField = { name: 'responsible_user_id', label: 'Responsible User', type: 'options', options: 'getUsers' };
const tags: StandardField = { name: 'tags', label: 'Tags (Comma-Separated Names)', type: 'string' };

export const RESOURCES: AmoResource[] = [
	{
		value: 'lead',
		name: 'Lead',
		description: 'Leads (deals). amoCRM v4 has no API to delete them.',
		path: 'leads',
		embedded: 'leads',
		operations: ['create', 'complexCreate', 'get', 'getMany', 'update'],
		customFieldsOf: 'leads',
		with: ['contacts', 'companies', 'catalog_elements', 'loss_reason', 'source_id', 'is_price_modified_by_robot'],
		fields: [
			{ name: 'name', label: 'Name', type: 'string' },
			{ name: 'price', label: 'Price', type: 'number' },
			{ name: 'pipeline_id', label: 'Pipeline', type: 'options', options: 'getPipelines' },
			{ name: 'status_id', label: 'Status (Pipeline: Status)', type: 'options', options: 'getStatuses' },
			responsible,
			{ name: 'loss_reason_id', label: 'Loss Reason ID', type: 'number' },
			{ name: 'closed_at', label: 'Closed At', type: 'dateTime', timestamp: true },
			tags,
		],
	},
	{
		value: 'contact',
		name: 'Contact',
		description: 'Contacts. amoCRM v4 has no API to delete them.',
		path: 'contacts',
		embedded: 'contacts',
		operations: ['create', 'get', 'getMany', 'update'],
		customFieldsOf: 'contacts',
		with: ['leads', 'customers', 'catalog_elements'],
		fields: [
			{ name: 'name', label: 'Name', type: 'string' },
			{ name: 'first_name', label: 'First Name', type: 'string' },
			{ name: 'last_name', label: 'Last Name', type: 'string' },
			responsible,
			tags,
		],
	},
	{
		value: 'company',
		name: 'Company',
		description: 'Companies. amoCRM v4 has no API to delete them.',
		path: 'companies',
		embedded: 'companies',
		operations: ['create', 'get', 'getMany', 'update'],
		customFieldsOf: 'companies',
		with: ['leads', 'contacts', 'customers', 'catalog_elements'],
		fields: [{ name: 'name', label: 'Name', type: 'string' }, responsible, tags],
	},
	{
		value: 'task',
		name: 'Task',
		description: 'Tasks. amoCRM v4 has no API to delete them (complete them instead).',
		path: 'tasks',
		embedded: 'tasks',
		operations: ['create', 'get', 'getMany', 'update'],
		fields: [
			{ name: 'text', label: 'Text', type: 'string', requiredOnCreate: true },
			{ name: 'complete_till', label: 'Complete Till', type: 'dateTime', timestamp: true, requiredOnCreate: true },
			{ name: 'task_type_id', label: 'Task Type', type: 'options', options: 'getTaskTypes' },
			{ name: 'entity_type', label: 'Entity Type (leads, contacts, companies)', type: 'string' },
			{ name: 'entity_id', label: 'Entity ID', type: 'number' },
			responsible,
			{ name: 'is_completed', label: 'Is Completed', type: 'boolean' },
			{ name: 'result_text', label: 'Result Text (When Completing)', type: 'string' },
		],
	},
	{
		value: 'note',
		name: 'Note',
		description: 'Notes of a lead, contact or company',
		path: '{entityType}/{entityId}/notes',
		embedded: 'notes',
		operations: ['create', 'get', 'getMany', 'update'],
		fields: [
			{ name: 'note_type', label: 'Note Type (Common, Call_in, Call_out, Service_message…)', type: 'string' },
			{ name: 'text', label: 'Text', type: 'string', requiredOnCreate: true },
		],
	},
	{ value: 'tag', name: 'Tag', description: 'Tags of leads, contacts or companies', path: '{entityType}/tags', embedded: 'tags', operations: ['getMany', 'create'], fields: [{ name: 'name', label: 'Name', type: 'string', requiredOnCreate: true }] },
	{ value: 'pipeline', name: 'Pipeline', description: 'Lead pipelines with their statuses (read only)', path: 'leads/pipelines', embedded: 'pipelines', operations: ['get', 'getMany'] },
	{ value: 'status', name: 'Status', description: 'Statuses of a pipeline (142 = won, 143 = lost; read only)', path: 'leads/pipelines/{pipelineId}/statuses', embedded: 'statuses', operations: ['get', 'getMany'] },
	{ value: 'user', name: 'User', description: 'Account users (read only)', path: 'users', embedded: 'users', operations: ['get', 'getMany'] },
	{ value: 'customField', name: 'Custom Field', description: 'Custom fields of leads, contacts or companies (read only)', path: '{entityType}/custom_fields', embedded: 'custom_fields', operations: ['get', 'getMany'] },
	{ value: 'event', name: 'Event', description: 'The account event log (read only)', path: 'events', embedded: 'events', operations: ['get', 'getMany'] },
	{ value: 'link', name: 'Link', description: 'Links between leads, contacts, companies and catalog elements', path: '{entityType}/{entityId}', embedded: 'links', operations: ['link', 'unlink', 'getMany'] },
	{ value: 'account', name: 'Account', description: 'The account: name, subdomain, currency, task types… (read only)', path: 'account', embedded: 'account', operations: ['get'] },
];

export const OPERATION_LABELS: Record<AmoOperation, { name: string; action: string; description: string }> = {
	complexCreate: { name: 'Create With Contact and Company', action: 'Create leads with contact and company', description: 'POST /leads/complex: a lead with an embedded contact and company, 50 per request' },
	create: { name: 'Create', action: 'Create', description: 'Create records; many input items go 50 per request' },
	get: { name: 'Get', action: 'Get', description: 'Get one record by ID' },
	getMany: { name: 'Get Many', action: 'Get many', description: 'List records (250 per request, following the next link)' },
	link: { name: 'Link', action: 'Link entities', description: 'Link a record to another record' },
	unlink: { name: 'Unlink', action: 'Unlink entities', description: 'Remove a link between two records' },
	update: { name: 'Update', action: 'Update', description: 'Change the given fields; many input items go 50 per request' },
};

export function resourceOf(value: string): AmoResource {
	const resource = RESOURCES.find((r) => r.value === value);
	if (!resource) throw new Error(`Unknown amoCRM resource "${value}"`);
	return resource;
}
