import type { IDataObject, IExecuteFunctions, ResourceMapperValue } from 'n8n-workflow';
import { crmCodeOf, FieldError, settle } from '../common/errors';
import type { ItemResult } from '../common/execute';
import { parseJsonObject } from '../common/json';
import { collect, offsetPages, uniqueBy, wanted } from '../common/paging';
import { checkId, describeModule, fieldOf, recordElement } from './metadata';
import type { VtigerClient } from './transport';
import type { VtqlCondition, VtqlOperator } from './vtql';
import { buildSelect, inspectQuery, pageOfQuery, VTQL_PAGE_SIZE } from './vtql';

/** One handler per resource.operation of resources.ts; each runs for one input item. */
type Handler = (ctx: IExecuteFunctions, client: VtigerClient, itemIndex: number) => Promise<ItemResult>;

const param = <T>(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback?: T): T =>
	ctx.getNodeParameter(name, itemIndex, fallback) as T;

/** A missing or deleted record answers ACCESS_DENIED on a real Vtiger 8; say what that means. */
async function withRecord<T>(id: string, parameter: string, run: () => Promise<T>): Promise<T> {
	const outcome = await settle(run());
	if (outcome.ok) return outcome.value;
	const code = crmCodeOf(outcome.error);
	if (code === 'ACCESS_DENIED' || code === 'RECORD_NOT_FOUND' || code === 'INVALID_ID_ATTRIBUTE') {
		throw new FieldError(parameter, `record ${id} was not found, or this user may not access it (Vtiger: ${code})`);
	}
	throw outcome.error;
}

/** The values the user mapped, or (Map Automatically) the input item's fields that the module has. */
function mappedValues(ctx: IExecuteFunctions, itemIndex: number, moduleFields: Set<string>): IDataObject {
	const mapper = param<ResourceMapperValue>(ctx, 'fields', itemIndex);
	if (mapper?.mappingMode === 'autoMapInputData') {
		const input = ctx.getInputData()[itemIndex].json;
		return Object.fromEntries(Object.entries(input).filter(([key]) => moduleFields.has(key) && key !== 'id'));
	}
	return (mapper?.value ?? {}) as IDataObject;
}

async function writeFields(ctx: IExecuteFunctions, client: VtigerClient, itemIndex: number, mode: 'create' | 'update') {
	const module = await describeModule(client, param<string>(ctx, 'module', itemIndex));
	const editable = new Set(module.fields.filter((field) => field.editable).map((field) => field.name));
	const session = await client.session();
	return {
		module,
		element: recordElement(module, mappedValues(ctx, itemIndex, editable), mode, { assignedUserId: session.userId }),
	};
}

async function listRecords(ctx: IExecuteFunctions, client: VtigerClient, itemIndex: number): Promise<IDataObject[]> {
	const module = await describeModule(client, param<string>(ctx, 'module', itemIndex));
	const max = wanted(param<boolean>(ctx, 'returnAll', itemIndex, false), param<number>(ctx, 'limit', itemIndex, 50));
	const { conditions = [] } = param<{ conditions?: VtqlCondition[] }>(ctx, 'filters', itemIndex, {});
	const options = param<{ combine?: 'AND' | 'OR'; fields?: string[]; sortField?: string; sortDirection?: 'ASC' | 'DESC' }>(
		ctx,
		'options',
		itemIndex,
		{},
	);
	conditions.forEach((c, index) => {
		if (!c.field) throw new FieldError(`filters.conditions[${index}].field`, 'choose a field');
		fieldOf(module, c.field, `filters.conditions[${index}].field`);
	});
	const columns = options.fields ?? [];
	columns.forEach((name) => fieldOf(module, name, 'options.fields'));
	if (options.sortField) fieldOf(module, options.sortField, 'options.sortField');
	// Paging needs a stable order: by record ID unless the user sorts (then ID keeps ties apart on our side).
	const orderBy = options.sortField || 'id';
	const select = (offset: number, size: number) =>
		buildSelect({
			module: module.name,
			columns: columns.length && !columns.includes('id') ? ['id', ...columns] : columns,
			conditions: conditions.map((c) => ({ ...c, operator: c.operator as VtqlOperator })),
			combine: options.combine,
			orderBy,
			direction: options.sortDirection,
			offset,
			limit: size,
		});
	// A row that a non-unique sort order moved across a page boundary between two queries is dropped
	// (pages ask for exactly the rows still wanted, so such a rare repeat can leave a Limit one short).
	return await collect(
		uniqueBy(
			offsetPages<IDataObject>(VTQL_PAGE_SIZE, max, async ({ offset, size }) => await client.call<IDataObject[]>('query', { query: select(offset, size) })),
			(row) => row.id,
		),
		max,
	);
}

async function runQuery(ctx: IExecuteFunctions, client: VtigerClient, itemIndex: number): Promise<IDataObject[]> {
	const raw = inspectQuery(param<string>(ctx, 'query', itemIndex));
	if (raw.hasLimit || raw.isCount) return await client.call<IDataObject[]>('query', { query: `${raw.body};` });
	return await collect(
		uniqueBy(
			offsetPages<IDataObject>(VTQL_PAGE_SIZE, Infinity, async ({ offset, size }) => {
				const query = pageOfQuery(raw, offset, size);
				const page = await settle(client.call<IDataObject[]>('query', { query }));
				if (page.ok) return page.value;
				// Vtiger points at a token of the text it parsed, which is not what the user wrote: show that text.
				if (crmCodeOf(page.error) === 'QUERY_SYNTAX_ERROR') {
					const described = page.error as { description?: string | null };
					described.description = `${described.description ?? ''}. To read every page the query was sent as: ${query}`;
				}
				throw page.error;
			}),
			(row) => row.id,
		),
	);
}

export const handlers: Record<string, Handler> = {
	'record.create': async (ctx, client, itemIndex) => {
		const { module, element } = await writeFields(ctx, client, itemIndex, 'create');
		return await client.call<IDataObject>('create', { elementType: module.name, element });
	},

	'record.get': async (ctx, client, itemIndex) => {
		const id = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		return await withRecord(id, 'recordId', async () => await client.call<IDataObject>('retrieve', { id }));
	},

	'record.getMany': listRecords,

	'record.update': async (ctx, client, itemIndex) => {
		const id = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		const { element } = await writeFields(ctx, client, itemIndex, 'update');
		return await withRecord(id, 'recordId', async () => await client.call<IDataObject>('revise', { element: { ...element, id } }));
	},

	'record.delete': async (ctx, client, itemIndex) => {
		const id = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		await withRecord(id, 'recordId', async () => await client.call('delete', { id }));
		return { id, deleted: true };
	},

	'query.execute': runQuery,

	'module.describe': async (ctx, client, itemIndex) => {
		const module = param<string>(ctx, 'module', itemIndex);
		await describeModule(client, module); // names the module in the error if it does not exist
		return await client.call<IDataObject>('describe', { elementType: module });
	},

	'module.getMany': async (_ctx, client) => {
		const { types = [], information = {} } = await client.call<{ types?: string[]; information?: Record<string, IDataObject> }>('listtypes');
		return types.map((name) => ({ name, ...(information[name] ?? {}) }));
	},

	'relation.getMany': async (ctx, client, itemIndex) => {
		const id = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		const relatedType = param<string>(ctx, 'relatedModule', itemIndex);
		if (!relatedType) throw new FieldError('relatedModule', 'choose the module of the related records');
		const relatedLabel = param<string>(ctx, 'relationLabel', itemIndex, '') || relatedType;
		return await withRecord(id, 'recordId', async () => await client.call<IDataObject[]>('retrieve_related', { id, relatedType, relatedLabel }));
	},

	'relation.add': async (ctx, client, itemIndex) => {
		const sourceRecordId = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		const relatedRecordId = checkId(param(ctx, 'relatedRecordId', itemIndex), 'relatedRecordId');
		const relationIdLabel = param<string>(ctx, 'relationLabel', itemIndex, '') || undefined;
		const result = await client.call<IDataObject>('add_related', { sourceRecordId, relatedRecordId, relationIdLabel });
		return { sourceRecordId, relatedRecordId, ...(typeof result === 'object' && result !== null ? result : { result }) };
	},

	'lead.convert': async (ctx, client, itemIndex) => {
		const leadId = checkId(param(ctx, 'recordId', itemIndex), 'recordId');
		const entities = param<string[]>(ctx, 'entities', itemIndex, []);
		if (!entities.length) throw new FieldError('entities', 'choose at least one record to create from the lead');
		const options = param<{ assignedTo?: string; entityFields?: unknown }>(ctx, 'convertOptions', itemIndex, {});
		const extra = parseJsonObject(options.entityFields ?? '{}', 'convertOptions.entityFields');
		const assignedTo = options.assignedTo ? checkId(options.assignedTo, 'convertOptions.assignedTo') : (await client.session()).userId;
		const element = {
			leadId,
			assignedTo,
			entities: Object.fromEntries(
				entities.map((name) => [name, { create: true, name, ...((extra[name] as IDataObject) ?? {}) }]),
			),
		};
		const result = await withRecord(leadId, 'recordId', async () => await client.call<IDataObject>('convertlead', { element }));
		return { leadId, ...result };
	},

	'custom.execute': async (ctx, client, itemIndex) => {
		const operation = String(param(ctx, 'webserviceOperation', itemIndex, '')).trim();
		if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(operation)) throw new FieldError('webserviceOperation', `"${operation}" is not an operation name`);
		if (operation === 'login' || operation === 'getchallenge') {
			throw new FieldError('webserviceOperation', 'the node logs in by itself; call the operation you need');
		}
		const method = param<'GET' | 'POST'>(ctx, 'httpMethod', itemIndex, 'GET');
		const parameters = parseJsonObject(param(ctx, 'parameters', itemIndex, '{}'), 'parameters');
		const result = await client.call<unknown>(operation, parameters, { method, safeToRetry: method === 'GET' });
		if (Array.isArray(result)) return result.map((row) => (typeof row === 'object' && row !== null ? (row as IDataObject) : { result: row }));
		return typeof result === 'object' && result !== null ? (result as IDataObject) : { result: result as IDataObject[string] };
	},
};
