import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/** UI building blocks every CRM's Get Many shares, so the four nodes look and behave alike. */

type Show = { resource: string[]; operation: string[] };

/** Return All + Limit, shown for the given resources and operations. */
export function returnAllAndLimit(show: Show): INodeProperties[] {
	return [
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
			displayOptions: { show },
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 50,
			description: 'Max number of results to return',
			displayOptions: { show: { ...show, returnAll: [false] } },
		},
	];
}

/**
 * Filter conditions (field, operator, value), the field picked from the CRM's live field list.
 * Operator values are names, never "=": n8n reads a value starting with "=" as an expression.
 */
export function conditionsFilter(show: Show, fieldsMethod: string, dependsOn: string[], operators: INodePropertyOptions[]): INodeProperties {
	return {
		displayName: 'Filters',
		name: 'filters',
		type: 'fixedCollection',
		placeholder: 'Add Condition',
		typeOptions: { multipleValues: true },
		default: {},
		displayOptions: { show },
		options: [
			{
				displayName: 'Conditions',
				name: 'conditions',
				values: [
					{
						displayName: 'Field Name or ID',
						name: 'field',
						type: 'options',
						typeOptions: { loadOptionsMethod: fieldsMethod, loadOptionsDependsOn: dependsOn },
						default: '',
						description:
							'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
					},
					{
						displayName: 'Operator',
						name: 'operator',
						type: 'options',
						options: operators,
						default: 'equals',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
					},
				],
			},
		],
	};
}

export const sortDirection: INodeProperties = {
	displayName: 'Sort Direction',
	name: 'sortDirection',
	type: 'options',
	options: [
		{ name: 'Ascending', value: 'ASC' },
		{ name: 'Descending', value: 'DESC' },
	],
	default: 'ASC',
};

export interface OperationLabel {
	name: string;
	action: string;
	description: string;
}

/**
 * The Operation selector of one resource, from a table of labels: options sorted by name (n8n's rule),
 * the action text naming the resource, shown only for that resource.
 */
export function operationSelector<O extends string>(
	resource: { value: string; name: string },
	operations: O[],
	labels: Record<O, OperationLabel>,
	defaultOperation: O,
): INodeProperties {
	return {
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: [resource.value] } },
		options: [...operations]
			.sort((a, b) => labels[a].name.localeCompare(labels[b].name))
			.map((op) => ({ value: op, name: labels[op].name, action: `${labels[op].action} (${resource.name.toLowerCase()})`, description: labels[op].description })),
		default: defaultOperation,
	};
}

/** The Fields resource mapper, loaded live from the CRM by `method`, with auto-mapping of input items. */
export function fieldsMapper(options: { method: string; dependsOn: string[]; addAllFields?: boolean; description: string; show: Show }): INodeProperties {
	return {
		displayName: 'Fields',
		name: 'fields',
		type: 'resourceMapper',
		noDataExpression: true,
		default: { mappingMode: 'defineBelow', value: null },
		required: true,
		typeOptions: {
			loadOptionsDependsOn: options.dependsOn,
			resourceMapper: {
				resourceMapperMethod: options.method,
				mode: 'add',
				fieldWords: { singular: 'field', plural: 'fields' },
				addAllFields: options.addAllFields ?? false,
				multiKeyMatch: false,
				supportAutoMap: true,
			},
		},
		description: options.description,
		displayOptions: { show: options.show },
	};
}

/** A trigger's event choices from a table of entity → actions: "Lead Created", "Deal Stage Changed"… sorted by name. */
export function entityEventOptions(events: Record<string, string[]>, value: (entity: string, action: string) => string, actionLabels: Record<string, string>): INodePropertyOptions[] {
	return Object.entries(events)
		.flatMap(([entity, actions]) => actions.map((action) => ({ value: value(entity, action), name: `${entity.charAt(0).toUpperCase()}${entity.slice(1)} ${actionLabels[action]}` })))
		.sort((a, b) => a.name.localeCompare(b.name));
}

/** The triggers' "Fetch Full Record" switch (the CRMs deliver IDs, not records). */
export function fetchRecordOption(description: string): INodeProperties {
	return { displayName: 'Fetch Full Record', name: 'fetchRecord', type: 'boolean', default: false, description };
}
