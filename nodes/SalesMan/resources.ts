/**
 * What the SalesMan node offers, as a table: each resource's API method, its ID parameter, the actions it
 * supports, and the quirks of its list (what it needs so that Return All really returns all).
 */

export type SalesManOperation = 'create' | 'createMany' | 'get' | 'getMany' | 'update' | 'delete' | 'getFields' | 'changeStage' | 'close' | 'changeResponsible';

export interface SalesManResource {
	value: string;
	name: string;
	description: string;
	method: string;
	idParam: string;
	operations: SalesManOperation[];
	/** `add.list` parameter name, where SalesMan has a working bulk add in JSON mode. */
	addListParam?: string;
	/** Parameters a list needs to show all records (SalesMan's defaults hide some). */
	listDefaults?: Record<string, string>;
	/** `update` replaces the whole record (fields not sent are blanked): read it first and send it whole. */
	updateReplaces?: boolean;
	/** An empty page is an error 404 ("Не найдено") instead of an empty list. */
	emptyPageIs404?: boolean;
}

export const RESOURCES: SalesManResource[] = [
	{ value: 'client', name: 'Client', description: 'Clients (companies and people you sell to)', method: 'client', idParam: 'clid', operations: ['create', 'createMany', 'get', 'getMany', 'update', 'delete', 'getFields'], addListParam: 'client' },
	{ value: 'person', name: 'Person', description: 'Contact persons', method: 'person', idParam: 'pid', operations: ['create', 'get', 'getMany', 'update', 'delete', 'getFields'], updateReplaces: true },
	{
		value: 'deal',
		name: 'Deal',
		description: 'Deals',
		method: 'deal',
		idParam: 'did',
		operations: ['create', 'get', 'getMany', 'update', 'delete', 'getFields', 'changeStage', 'close', 'changeResponsible'],
	},
	{ value: 'lead', name: 'Lead', description: 'Incoming leads (SalesMan has no update or delete for them)', method: 'lead', idParam: 'id', operations: ['create', 'get', 'getMany'], emptyPageIs404: true },
	{ value: 'task', name: 'Task', description: 'Tasks (reminders)', method: 'task', idParam: 'id', operations: ['create', 'get', 'getMany', 'update', 'delete'], listDefaults: { active: 'yes' } },
	{ value: 'history', name: 'History', description: 'Activity log entries', method: 'history', idParam: 'id', operations: ['create', 'createMany', 'get', 'getMany', 'delete'], addListParam: 'list' },
];

export const OPERATION_LABELS: Record<SalesManOperation, { name: string; action: string; description: string; salesmanAction: string }> = {
	changeResponsible: { name: 'Change Responsible', action: 'Change the responsible user', description: 'Hand the deal over to another user (change.user)', salesmanAction: 'change.user' },
	changeStage: { name: 'Change Stage', action: 'Change the stage', description: 'Move the deal to another stage (change.step)', salesmanAction: 'change.step' },
	close: { name: 'Close', action: 'Close a deal', description: 'Close the deal as won or lost, with the sum and a comment (change.close)', salesmanAction: 'change.close' },
	create: { name: 'Create', action: 'Create', description: 'Create a record (add)', salesmanAction: 'add' },
	createMany: { name: 'Create Many', action: 'Create many', description: 'Create all input items in bulk requests (add.list)', salesmanAction: 'add.list' },
	delete: { name: 'Delete', action: 'Delete', description: 'Delete a record', salesmanAction: 'delete' },
	get: { name: 'Get', action: 'Get', description: 'Get a record by ID (info)', salesmanAction: 'info' },
	getFields: { name: 'Get Fields', action: 'Get fields', description: 'The fields with their labels, custom inputN fields included', salesmanAction: 'fields' },
	getMany: { name: 'Get Many', action: 'Get many', description: 'List records, 200 per request (list)', salesmanAction: 'list' },
	update: { name: 'Update', action: 'Update', description: 'Change the given fields', salesmanAction: 'update' },
};

export function resourceOf(value: string): SalesManResource {
	const resource = RESOURCES.find((r) => r.value === value);
	if (!resource) throw new Error(`Unknown SalesMan resource "${value}"`);
	return resource;
}
