/**
 * What the Bitrix24 node offers, as a table. Each entity names its REST methods, how ids and results are
 * shaped, and how its lists page. operations.ts has one generic handler per operation over this table.
 *
 * Lead, Deal, Contact and Company use the classic `crm.lead.*`… methods, not `crm.item.*`: their UPPER_CASE
 * fields are what portals, webhook events and integrators' code use, they read and write the PHONE/EMAIL/WEB/IM
 * multi-fields directly, and `UF_CRM_*` custom fields keep their codes. Smart-process items exist only in
 * `crm.item.*` (camelCase fields, `entityTypeId` from `crm.type.list`).
 */

export type OperationName = 'create' | 'get' | 'getMany' | 'update' | 'delete' | 'getFields';

export interface EntitySpec {
	value: string;
	name: string;
	description: string;
	methods: Partial<Record<OperationName, string>>;
	/** Parameter that carries the record id in get/update/delete. */
	idParam: string;
	/** Key of the id in returned records. */
	idKey: string;
	/** Results wrapped in an object: `{ item }` / `{ items }`, `{ task }` / `{ tasks }`. */
	wrap?: { single: string; list: string };
	/** crm.item: the `entityTypeId` parameter comes from the node's Smart Process Type. */
	needsEntityTypeId?: boolean;
	/** Keyset paging: filter `>ID` and order by ID ascending, `start=-1` (no COUNT). */
	keyset?: { filterKey: string; orderKey: string; direction: 'ASC' | 'asc' };
	/** Default `select` for lists, so custom fields and multi-fields come back too. */
	defaultSelect?: string[];
	/** The user-facing list parameters are named differently (user.get: `FILTER`, `SORT`/`ORDER`). */
	listStyle?: 'user';
}

const classic = (entity: string, name: string, description: string, defaultSelect: string[]): EntitySpec => ({
	value: entity,
	name,
	description,
	methods: {
		create: `crm.${entity}.add`,
		get: `crm.${entity}.get`,
		getMany: `crm.${entity}.list`,
		update: `crm.${entity}.update`,
		delete: `crm.${entity}.delete`,
		getFields: `crm.${entity}.fields`,
	},
	idParam: 'id',
	idKey: 'ID',
	keyset: { filterKey: '>ID', orderKey: 'ID', direction: 'ASC' },
	defaultSelect,
});

export const ENTITIES: EntitySpec[] = [
	classic('lead', 'Lead', 'CRM leads (crm.lead.*)', ['*', 'UF_*', 'PHONE', 'EMAIL', 'WEB', 'IM']),
	classic('deal', 'Deal', 'CRM deals (crm.deal.*)', ['*', 'UF_*']),
	classic('contact', 'Contact', 'CRM contacts (crm.contact.*)', ['*', 'UF_*', 'PHONE', 'EMAIL', 'WEB', 'IM']),
	classic('company', 'Company', 'CRM companies (crm.company.*)', ['*', 'UF_*', 'PHONE', 'EMAIL', 'WEB', 'IM']),
	{
		value: 'smartItem',
		name: 'Smart Process Item',
		description: 'Items of a smart process (crm.item.* with entityTypeId)',
		methods: {
			create: 'crm.item.add',
			get: 'crm.item.get',
			getMany: 'crm.item.list',
			update: 'crm.item.update',
			delete: 'crm.item.delete',
			getFields: 'crm.item.fields',
		},
		idParam: 'id',
		idKey: 'id',
		wrap: { single: 'item', list: 'items' },
		needsEntityTypeId: true,
		keyset: { filterKey: '>id', orderKey: 'id', direction: 'ASC' },
		defaultSelect: ['*'],
	},
	{
		value: 'activity',
		name: 'Activity',
		description: 'CRM activities: calls, meetings, e-mails, to-dos (crm.activity.*)',
		methods: {
			create: 'crm.activity.add',
			get: 'crm.activity.get',
			getMany: 'crm.activity.list',
			update: 'crm.activity.update',
			delete: 'crm.activity.delete',
			getFields: 'crm.activity.fields',
		},
		idParam: 'id',
		idKey: 'ID',
		keyset: { filterKey: '>ID', orderKey: 'ID', direction: 'ASC' },
	},
	{
		value: 'timelineComment',
		name: 'Timeline Comment',
		description: 'Comments in the timeline of a CRM record (crm.timeline.comment.*)',
		methods: {
			create: 'crm.timeline.comment.add',
			get: 'crm.timeline.comment.get',
			getMany: 'crm.timeline.comment.list',
			update: 'crm.timeline.comment.update',
			delete: 'crm.timeline.comment.delete',
			getFields: 'crm.timeline.comment.fields',
		},
		idParam: 'id',
		idKey: 'ID',
		keyset: { filterKey: '>ID', orderKey: 'ID', direction: 'ASC' },
	},
	{
		value: 'task',
		name: 'Task',
		description: 'Tasks (tasks.task.*)',
		methods: {
			create: 'tasks.task.add',
			get: 'tasks.task.get',
			getMany: 'tasks.task.list',
			update: 'tasks.task.update',
			delete: 'tasks.task.delete',
			getFields: 'tasks.task.getFields',
		},
		idParam: 'taskId',
		idKey: 'id',
		wrap: { single: 'task', list: 'tasks' },
		keyset: { filterKey: '>ID', orderKey: 'ID', direction: 'asc' },
	},
	{
		value: 'user',
		name: 'User',
		description: 'Portal users (read only: user.get)',
		methods: { get: 'user.get', getMany: 'user.get', getFields: 'user.fields' },
		idParam: 'ID',
		idKey: 'ID',
		listStyle: 'user',
	},
];

export const OPERATION_LABELS: Record<OperationName, { name: string; action: (entity: string) => string; description: string }> = {
	create: { name: 'Create', action: (e) => `Create a ${e}`, description: 'Create a record; many input items go in batches of 50' },
	delete: { name: 'Delete', action: (e) => `Delete a ${e}`, description: 'Delete a record; many input items go in batches of 50' },
	get: { name: 'Get', action: (e) => `Get a ${e}`, description: 'Get a record by ID' },
	getFields: { name: 'Get Fields', action: (e) => `Get ${e} fields`, description: 'List the fields with their types, lists and custom fields' },
	getMany: { name: 'Get Many', action: (e) => `Get many ${e}s`, description: 'List records with filter, order and select' },
	update: { name: 'Update', action: (e) => `Update a ${e}`, description: 'Change the given fields; many input items go in batches of 50' },
};

export function entityOf(value: string): EntitySpec {
	const entity = ENTITIES.find((e) => e.value === value);
	if (!entity) throw new Error(`Unknown Bitrix24 resource "${value}"`);
	return entity;
}

/** Methods that only read, for the Custom Method operation's retry rules. */
export function isReadMethod(method: string): boolean {
	return /\.(get|list|fields|getfields|current)$/i.test(method) || ['profile', 'methods', 'scope', 'user.get', 'app.info', 'event.get'].includes(method);
}
