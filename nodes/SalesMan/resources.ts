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
	/** Fields SalesMan refuses to create the record without (its "Отсутствуют параметры - …" errors). */
	requiredOnCreate?: string[];
	/** At least one of these is needed to create the record. */
	requiredOneOfOnCreate?: string[];
	/** Fields `update` resets when they are not sent (observed on 2025.4): read first and send them back. */
	updateKeeps?: string[];
	/** Fields `update` silently ignores, with what to use instead. */
	updateIgnores?: Record<string, string>;
	/** `add.list` parameter name, where SalesMan has a working bulk add in JSON mode. */
	addListParam?: string;
	/** Parameters a list needs to show all records (SalesMan's defaults hide some). */
	listDefaults?: Record<string, string>;
	/** `update` replaces the whole record (fields not sent are blanked or reset): read it first and send it whole. */
	updateReplaces?: boolean;
	/**
	 * `info` answers every plain field as null (SalesMan 2025.4 on PHP 8): Get reads the record from `list` with
	 * `filter[idParam]` instead, which SalesMan matches with LIKE '%id%'; in ID order the record itself comes first.
	 */
	getFromList?: boolean;
	/** An empty page is an error 404 ("Не найдено") instead of an empty list. */
	emptyPageIs404?: boolean;
}

/**
 * `task list` shows only today's tasks unless a date range is sent, and nothing unless `active` is sent: by default
 * the node lists every open task, whatever its date (the date filters narrow it).
 */
const TASK_LIST_DEFAULTS = { active: 'yes', dateStart: '2000-01-01', dateEnd: '2099-12-31' };

export const RESOURCES: SalesManResource[] = [
	{ value: 'client', name: 'Client', description: 'Clients (companies and people you sell to)', method: 'client', idParam: 'clid', operations: ['create', 'createMany', 'get', 'getMany', 'update', 'delete', 'getFields'], addListParam: 'client', requiredOnCreate: ['title'] },
	{ value: 'person', name: 'Person', description: 'Contact persons', method: 'person', idParam: 'pid', operations: ['create', 'get', 'getMany', 'update', 'delete', 'getFields'], updateReplaces: true, requiredOnCreate: ['person'] },
	{
		value: 'deal',
		name: 'Deal',
		description: 'Deals',
		method: 'deal',
		idParam: 'did',
		operations: ['create', 'get', 'getMany', 'update', 'delete', 'getFields', 'changeStage', 'close', 'changeResponsible'],
		getFromList: true,
		requiredOnCreate: ['title'],
		updateKeeps: ['marga', 'pid'],
		updateIgnores: {
			step: 'SalesMan deal update ignores the stage: use the Change Stage operation',
			iduser: 'SalesMan deal update ignores the responsible user: use the Change Responsible operation',
			user: 'SalesMan deal update ignores the responsible user: use the Change Responsible operation',
			content: 'SalesMan deal update ignores the description (observed on 2025.4)',
		},
	},
	{ value: 'lead', name: 'Lead', description: 'Incoming leads (SalesMan has no update or delete for them)', method: 'lead', idParam: 'id', operations: ['create', 'get', 'getMany'], emptyPageIs404: true },
	{ value: 'task', name: 'Task', description: 'Tasks (reminders)', method: 'task', idParam: 'id', operations: ['create', 'get', 'getMany', 'update', 'delete'], listDefaults: TASK_LIST_DEFAULTS, requiredOnCreate: ['title'], updateReplaces: true },
	{ value: 'history', name: 'History', description: 'Activity log entries', method: 'history', idParam: 'id', operations: ['create', 'createMany', 'get', 'getMany', 'delete'], addListParam: 'list', requiredOneOfOnCreate: ['clid', 'pid', 'did'] },
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

/**
 * Reference lists. Most are actions of the `guides` method; the deal's stages, close statuses, directions and
 * types are actions of the `deal` method (SalesMan answers 402 "Неизвестный метод" for them under `guides`).
 */
export const GUIDES: Array<{ value: string; name: string; method: 'guides' | 'deal' }> = [
	{ value: 'category', name: 'Categories (Industries)', method: 'guides' },
	{ value: 'clientpath', name: 'Client Sources', method: 'guides' },
	{ value: 'statusclose', name: 'Deal Close Statuses', method: 'deal' },
	{ value: 'direction', name: 'Deal Directions', method: 'deal' },
	{ value: 'steplist', name: 'Deal Stages', method: 'deal' },
	{ value: 'type', name: 'Deal Types', method: 'deal' },
	{ value: 'relations', name: 'Relation Types', method: 'guides' },
	{ value: 'territory', name: 'Territories', method: 'guides' },
];

/** The method that serves a guide (action). */
export function guideMethod(action: string): string {
	return GUIDES.find((g) => g.value === action)?.method ?? 'guides';
}

export function resourceOf(value: string): SalesManResource {
	const resource = RESOURCES.find((r) => r.value === value);
	if (!resource) throw new Error(`Unknown SalesMan resource "${value}"`);
	return resource;
}
