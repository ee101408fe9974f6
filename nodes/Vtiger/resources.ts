/**
 * What the Vtiger node offers, as a table: each resource with its operations, the webservice operation
 * each one calls and whether it writes. description.ts builds the UI from it; operations.ts dispatches on
 * it. Vtiger's modules (Accounts, Contacts, Leads, …) are not listed here: they are read live from
 * `listtypes`, and every record operation works on whichever module the user picks.
 */

export interface OperationSpec {
	value: string;
	name: string;
	action: string;
	description: string;
	/** The webservice operation it calls (documentation and request assertions in tests). */
	webservice: string;
	writes: boolean;
}

export interface ResourceSpec {
	value: string;
	name: string;
	description: string;
	operations: OperationSpec[];
}

export const RESOURCES: ResourceSpec[] = [
	{
		value: 'record',
		name: 'Record',
		description: 'Records of any module: Accounts, Contacts, Leads, Potentials, HelpDesk and custom modules',
		operations: [
			{ value: 'create', name: 'Create', action: 'Create a record', description: 'Create a record in a module', webservice: 'create', writes: true },
			{ value: 'delete', name: 'Delete', action: 'Delete a record', description: 'Delete a record by ID', webservice: 'delete', writes: true },
			{ value: 'get', name: 'Get', action: 'Get a record', description: 'Retrieve a record by ID', webservice: 'retrieve', writes: false },
			{ value: 'getMany', name: 'Get Many', action: 'Get many records', description: 'List records matching filter conditions', webservice: 'query', writes: false },
			{ value: 'update', name: 'Update', action: 'Update a record', description: 'Change only the given fields of a record', webservice: 'revise', writes: true },
		],
	},
	{
		value: 'query',
		name: 'Query',
		description: 'Run a VTQL query',
		operations: [
			{ value: 'execute', name: 'Execute', action: 'Execute a VTQL query', description: 'Run a VTQL SELECT; pages past 100 rows when it has no LIMIT', webservice: 'query', writes: false },
		],
	},
	{
		value: 'module',
		name: 'Module',
		description: 'Modules and their fields',
		operations: [
			{ value: 'describe', name: 'Describe', action: 'Describe a module', description: 'Get the fields, types and picklists of a module', webservice: 'describe', writes: false },
			{ value: 'getMany', name: 'Get Many', action: 'Get many modules', description: 'List the modules this user can access', webservice: 'listtypes', writes: false },
		],
	},
	{
		value: 'relation',
		name: 'Relation',
		description: 'Records related to a record',
		operations: [
			{ value: 'add', name: 'Add', action: 'Relate two records', description: 'Relate a record to another record', webservice: 'add_related', writes: true },
			{ value: 'getMany', name: 'Get Many', action: 'Get related records', description: 'List the records of a module related to a record', webservice: 'retrieve_related', writes: false },
		],
	},
	{
		value: 'lead',
		name: 'Lead',
		description: 'Lead conversion',
		operations: [
			{ value: 'convert', name: 'Convert', action: 'Convert a lead', description: 'Convert a lead into an organization, a contact and an opportunity', webservice: 'convertlead', writes: true },
		],
	},
	{
		value: 'custom',
		name: 'Custom Operation',
		description: 'Any webservice operation',
		operations: [
			{ value: 'execute', name: 'Execute', action: 'Call any webservice operation', description: 'Call any webservice operation with your own parameters', webservice: '(any)', writes: true },
		],
	},
];

/** The module fields the CRM manages itself; never sent on create or update. */
export const SYSTEM_FIELDS = new Set(['id', 'createdtime', 'modifiedtime', 'modifiedby', 'created_user_id']);
