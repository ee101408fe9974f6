import type { IDataObject, IExecuteFunctions, INodeExecutionData, ResourceMapperValue } from 'n8n-workflow';
import { FieldError, settle } from '../common/errors';
import type { BulkOutcome, ItemResult } from '../common/execute';
import { runInChunks, runPerItem } from '../common/execute';
import { parseJsonObject } from '../common/json';
import { wanted } from '../common/paging';
import { fieldsOf, recordFields } from './metadata';
import type { EntitySpec, OperationName } from './resources';
import { entityOf, isReadMethod } from './resources';
import type { BatchCommand, Bitrix24Client } from './transport';
import { BATCH_LIMIT, PAGE_SIZE } from './transport';

/**
 * Generic operations over the entity table: one implementation of each operation for every entity.
 * Writes of many input items go through `batch` (≤ 50 commands per request); Return All reads 50 pages
 * (2,500 rows) per request with keyset paging.
 */

const param = <T>(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback?: T): T =>
	ctx.getNodeParameter(name, itemIndex, fallback) as T;

function entityTypeIdOf(ctx: IExecuteFunctions, entity: EntitySpec, itemIndex: number): number | undefined {
	if (!entity.needsEntityTypeId) return undefined;
	const value = Number(param(ctx, 'entityTypeId', itemIndex, ''));
	if (!Number.isInteger(value) || value <= 0) throw new FieldError('entityTypeId', 'choose a smart process type');
	return value;
}

function recordId(ctx: IExecuteFunctions, itemIndex: number): string {
	const id = String(param(ctx, 'recordId', itemIndex, '')).trim();
	if (!/^\d+$/.test(id)) throw new FieldError('recordId', `"${id}" is not a Bitrix24 record ID (a positive number)`);
	return id;
}

/** Bitrix24 says "Not found" with a 400 and an empty code: name the ID field, keep the portal's words. */
function notFoundAsField(error: unknown, entity: EntitySpec, id: unknown): unknown {
	const message = error instanceof Error ? error.message : String(error);
	return /not found/i.test(message) ? new FieldError('recordId', `${entity.name.toLowerCase()} ${String(id)} was not found (${message})`) : error;
}

function unwrapSingle(entity: EntitySpec, result: unknown): IDataObject {
	const value = entity.wrap && result && typeof result === 'object' ? (result as IDataObject)[entity.wrap.single] : result;
	if (value && typeof value === 'object' && !Array.isArray(value)) return value as IDataObject;
	return { result: value as IDataObject[string] };
}

function unwrapList(entity: EntitySpec, result: unknown): IDataObject[] {
	const value = entity.wrap && result && typeof result === 'object' && !Array.isArray(result) ? (result as IDataObject)[entity.wrap.list] : result;
	if (Array.isArray(value)) return value as IDataObject[];
	if (value && typeof value === 'object') return Object.values(value as IDataObject) as IDataObject[];
	return [];
}

/** The values mapped in the Fields resource mapper, or the input item's fields the entity has (auto-map). */
function mappedValues(ctx: IExecuteFunctions, itemIndex: number, known: Set<string>): IDataObject {
	const mapper = param<ResourceMapperValue>(ctx, 'fields', itemIndex);
	const values =
		mapper?.mappingMode === 'autoMapInputData'
			? Object.fromEntries(Object.entries(ctx.getInputData()[itemIndex].json).filter(([key]) => known.has(key)))
			: ((mapper?.value ?? {}) as IDataObject);
	const extra = parseJsonObject(param(ctx, 'additionalFields', itemIndex, '{}') || '{}', 'additionalFields');
	return { ...values, ...extra };
}

// ---- writes: one batch command per input item -------------------------------------------------------

async function prepareWrite(ctx: IExecuteFunctions, client: Bitrix24Client, entity: EntitySpec, operation: OperationName, itemIndex: number): Promise<BatchCommand> {
	const method = entity.methods[operation];
	if (!method) throw new FieldError('operation', `${entity.name} does not support ${operation}`);
	const entityTypeId = entityTypeIdOf(ctx, entity, itemIndex);
	const base: IDataObject = entityTypeId ? { entityTypeId } : {};
	if (operation === 'delete') return { method, params: { ...base, [entity.idParam]: recordId(ctx, itemIndex) } };
	const fields = await fieldsOf(client, entity, entityTypeId);
	// Auto-mapping takes only writable fields: input read from Bitrix24 carries ID, DATE_CREATE and the like.
	const known = new Set([...fields.values()].filter((field) => !field.readOnly).map((field) => field.name));
	const values = recordFields(fields, mappedValues(ctx, itemIndex, known), operation === 'create' ? 'create' : 'update', entity.name);
	if (operation === 'create') return { method, params: { ...base, fields: values } };
	return { method, params: { ...base, [entity.idParam]: recordId(ctx, itemIndex), fields: values } };
}

function writeOutput(entity: EntitySpec, operation: OperationName, command: BatchCommand, result: unknown): IDataObject {
	const id = command.params?.[entity.idParam];
	if (operation === 'delete') return { [entity.idKey]: id, deleted: true };
	if (entity.wrap) return unwrapSingle(entity, result);
	if (operation === 'create') return { [entity.idKey]: result as IDataObject[string] };
	return { [entity.idKey]: id, updated: result === true || result === 'true' || result === 1 };
}

export async function bulkWrite(ctx: IExecuteFunctions, client: Bitrix24Client, operation: OperationName): Promise<INodeExecutionData[][]> {
	const entity = entityOf(param(ctx, 'resource', 0));
	return await runInChunks<BatchCommand>(
		ctx,
		BATCH_LIMIT,
		async (itemIndex) => await prepareWrite(ctx, client, entity, operation, itemIndex),
		async (chunk): Promise<BulkOutcome[]> => {
			const commands = Object.fromEntries(chunk.map(({ itemIndex, prepared }) => [`i${itemIndex}`, prepared]));
			const reply = await client.batch(commands, true, false);
			return chunk.map(({ itemIndex, prepared }) => {
				const key = `i${itemIndex}`;
				if (reply.errors[key]) return { error: notFoundAsField(client.commandError(prepared.method, reply.errors[key]), entity, prepared.params?.[entity.idParam]) };
				if (!(key in reply.result)) return { error: new Error(`Bitrix24 returned no result for ${prepared.method}`) };
				return { result: writeOutput(entity, operation, prepared, reply.result[key]) };
			});
		},
	);
}

// ---- reads ------------------------------------------------------------------------------------------

interface ListQuery {
	filter: IDataObject;
	order: IDataObject;
	select?: string[];
	entityTypeId?: number;
}

/** The UI's operators (named: a value starting with "=" would be an expression in n8n) as filter key prefixes. */
const FILTER_PREFIX: Record<string, string> = { equals: '', notEquals: '!', gt: '>', gte: '>=', lt: '<', lte: '<=', contains: '%', in: '' };

function listQuery(ctx: IExecuteFunctions, entity: EntitySpec, itemIndex: number): ListQuery {
	const filter: IDataObject = {};
	const { conditions = [] } = param<{ conditions?: Array<{ field?: string; operator?: string; value?: unknown }> }>(ctx, 'filters', itemIndex, {});
	conditions.forEach((condition, index) => {
		const field = String(condition.field ?? '').trim();
		if (!field) throw new FieldError(`filters.conditions[${index}].field`, 'choose a field');
		// n8n leaves a parameter at its default out of fixedCollection values.
		const operator = condition.operator || 'equals';
		const prefix = FILTER_PREFIX[operator];
		if (prefix === undefined) throw new FieldError(`filters.conditions[${index}].operator`, `unknown operator "${operator}"`);
		const value = condition.value ?? '';
		filter[`${prefix}${field}`] = operator === 'in' ? String(value).split(',').map((v) => v.trim()).filter(Boolean) : (value as IDataObject[string]);
	});
	const options = param<{ filterJson?: unknown; sortField?: string; sortDirection?: string; select?: string[] }>(ctx, 'options', itemIndex, {});
	Object.assign(filter, parseJsonObject(options.filterJson ?? '{}', 'options.filterJson'));
	const direction = options.sortDirection === 'DESC' ? 'DESC' : 'ASC';
	const orderField = options.sortField || (direction === 'DESC' ? (entity.keyset?.orderKey ?? 'ID') : '');
	const order: IDataObject = orderField ? { [orderField]: direction } : {};
	// Keyset paging reads the ID of each page's last row: a user's select always keeps it.
	const select = options.select?.length ? [...new Set([entity.idKey, ...options.select])] : entity.defaultSelect;
	return { filter, order, select, entityTypeId: entityTypeIdOf(ctx, entity, itemIndex) };
}

function listParams(entity: EntitySpec, query: ListQuery, start: number | string, filter = query.filter, order = query.order): IDataObject {
	if (entity.listStyle === 'user') {
		const [[sort, direction] = ['ID', 'ASC']] = Object.entries(order);
		return { FILTER: filter, SORT: sort, ORDER: direction, start };
	}
	return {
		...(query.entityTypeId ? { entityTypeId: query.entityTypeId } : {}),
		filter,
		order,
		...(query.select ? { select: query.select } : {}),
		start,
	};
}

/** Can this list be read by keyset (ID ascending)? Not when the user orders by something else. */
function keysetFor(entity: EntitySpec, query: ListQuery) {
	const keyset = entity.keyset;
	if (!keyset) return undefined;
	const orderKeys = Object.keys(query.order);
	if (orderKeys.length && !(orderKeys.length === 1 && orderKeys[0].toUpperCase() === keyset.orderKey.toUpperCase() && String(query.order[orderKeys[0]]).toUpperCase() === 'ASC')) {
		return undefined;
	}
	return keyset;
}

/**
 * Keyset paging packed into `batch`. The first page (ID ascending) also tells the total, so the rest is
 * requested exactly: 50 pages (2,500 rows) per request, page k+1 filtering `>ID` on the last ID of page k
 * through a `$result[...]` reference (`start=-1`: no COUNT for them). 10,000 rows cost 1 + 4 requests, and
 * a small result costs one. A short page ends the list early (records deleted meanwhile).
 */
async function readByKeyset(client: Bitrix24Client, entity: EntitySpec, query: ListQuery, max: number): Promise<IDataObject[]> {
	const keyset = entity.keyset!;
	const method = entity.methods.getMany!;
	const order = { [keyset.orderKey]: keyset.direction };
	const path = entity.wrap ? `[${entity.wrap.list}]` : '';
	const first = await client.call(method, listParams(entity, query, 0, query.filter, order));
	const rows = unwrapList(entity, first.result).slice(0, max);
	let remainingPages = Math.ceil((Math.min(max, Number(first.total ?? 0)) - rows.length) / PAGE_SIZE);
	if (rows.length < PAGE_SIZE || first.next === undefined) remainingPages = 0;
	while (remainingPages > 0 && rows.length < max) {
		const pages = Math.min(BATCH_LIMIT, remainingPages);
		const lastId = rows[rows.length - 1][entity.idKey];
		if (lastId === undefined || lastId === null || lastId === '') throw new Error(`Bitrix24 returned ${entity.name} rows without ${entity.idKey}; cannot page on`);
		const commands: Record<string, BatchCommand> = {};
		for (let page = 0; page < pages; page++) {
			const after = page === 0 ? lastId : `$result[p${page - 1}]${path}[${PAGE_SIZE - 1}][${entity.idKey}]`;
			commands[`p${page}`] = { method, params: listParams(entity, query, -1, { ...query.filter, [keyset.filterKey]: after }, order) };
		}
		const reply = await client.batch(commands, false, false);
		for (let page = 0; page < pages; page++) {
			const key = `p${page}`;
			if (reply.errors[key]) throw client.commandError(method, reply.errors[key]);
			const pageRows = unwrapList(entity, reply.result[key]);
			for (const row of pageRows) if (rows.length < max) rows.push(row);
			// A short page: the list ended earlier than its total said; later pages would repeat nothing new.
			if (pageRows.length < PAGE_SIZE) return rows;
		}
		remainingPages -= pages;
	}
	return rows;
}

/**
 * Documented paging (`start` = 0, 50, 100…) where the user's order forbids keyset: the first page tells
 * the total, the remaining pages are fetched 50 per `batch`.
 */
async function readByOffset(client: Bitrix24Client, entity: EntitySpec, query: ListQuery, max: number): Promise<IDataObject[]> {
	const method = entity.methods.getMany!;
	const first = await client.call(method, listParams(entity, query, 0));
	const rows = unwrapList(entity, first.result).slice(0, max);
	const total = Math.min(max, Number(first.total ?? rows.length));
	const starts: number[] = [];
	for (let start = PAGE_SIZE; start < total && first.next !== undefined; start += PAGE_SIZE) starts.push(start);
	for (let i = 0; i < starts.length && rows.length < max; i += BATCH_LIMIT) {
		const group = starts.slice(i, i + BATCH_LIMIT);
		const reply = await client.batch(Object.fromEntries(group.map((start) => [`s${start}`, { method, params: listParams(entity, query, start) }])), false, false);
		for (const start of group) {
			const key = `s${start}`;
			if (reply.errors[key]) throw client.commandError(method, reply.errors[key]);
			for (const row of unwrapList(entity, reply.result[key])) if (rows.length < max) rows.push(row);
		}
	}
	return rows;
}

async function getMany(ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number): Promise<IDataObject[]> {
	const entity = entityOf(param(ctx, 'resource', itemIndex));
	const max = wanted(param<boolean>(ctx, 'returnAll', itemIndex, false), param<number>(ctx, 'limit', itemIndex, 50));
	if (max === 0) return [];
	const query = listQuery(ctx, entity, itemIndex);
	return keysetFor(entity, query) ? await readByKeyset(client, entity, query, max) : await readByOffset(client, entity, query, max);
}

async function getOne(ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number): Promise<IDataObject> {
	const entity = entityOf(param(ctx, 'resource', itemIndex));
	const id = recordId(ctx, itemIndex);
	if (entity.listStyle === 'user') {
		const { result } = await client.call<IDataObject[]>(entity.methods.get!, { FILTER: { ID: id } });
		if (!result?.length) throw new FieldError('recordId', `user ${id} was not found`);
		return result[0];
	}
	const entityTypeId = entityTypeIdOf(ctx, entity, itemIndex);
	const reply = await settle(client.call(entity.methods.get!, { ...(entityTypeId ? { entityTypeId } : {}), [entity.idParam]: id }));
	if (!reply.ok) throw notFoundAsField(reply.error, entity, id);
	const record = unwrapSingle(entity, reply.value.result);
	// tasks.task.get answers a missing task with an empty result, not an error.
	if (Array.isArray(reply.value.result) && !reply.value.result.length) throw new FieldError('recordId', `${entity.name.toLowerCase()} ${id} was not found`);
	return record;
}

async function getFields(ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number): Promise<IDataObject[]> {
	const entity = entityOf(param(ctx, 'resource', itemIndex));
	const fields = await fieldsOf(client, entity, entityTypeIdOf(ctx, entity, itemIndex));
	return [...fields.values()].map((field) => ({ ...field }) as unknown as IDataObject);
}

// ---- any method, and user-written batches -------------------------------------------------------------

async function customMethod(ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number): Promise<ItemResult> {
	const method = String(param(ctx, 'method', itemIndex, '')).trim();
	if (!/^[a-z][a-z0-9_.]*$/i.test(method)) throw new FieldError('method', `"${method}" is not a REST method name like crm.lead.list`);
	const parameters = parseJsonObject(param(ctx, 'parameters', itemIndex, '{}'), 'parameters');
	const reply = await client.call(method, parameters, !isReadMethod(method));
	return { result: reply.result as IDataObject[string], ...(reply.total === undefined ? {} : { total: reply.total }), ...(reply.next === undefined ? {} : { next: reply.next }) };
}

async function userBatch(ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number): Promise<ItemResult> {
	const raw = parseJsonObject(param(ctx, 'commands', itemIndex, '{}'), 'commands');
	const keys = Object.keys(raw);
	if (!keys.length) throw new FieldError('commands', 'give at least one command, like {"lead": "crm.lead.get?id=1"}');
	if (keys.length > BATCH_LIMIT) throw new FieldError('commands', `a batch takes at most ${BATCH_LIMIT} commands (got ${keys.length})`);
	const commands: Record<string, BatchCommand> = {};
	let writes = false;
	for (const key of keys) {
		const value = raw[key];
		if (typeof value === 'string') {
			const [method, query = ''] = value.split(/\?(.*)/s);
			commands[key] = { method, query };
		} else if (value && typeof value === 'object' && typeof (value as IDataObject).method === 'string') {
			commands[key] = { method: String((value as IDataObject).method), params: ((value as IDataObject).params as IDataObject) ?? {} };
		} else {
			throw new FieldError(`commands.${key}`, 'must be "method?params" or {"method": "...", "params": {...}}');
		}
		writes = writes || !isReadMethod(commands[key].method);
	}
	const reply = await client.batch(commands, writes, param<boolean>(ctx, 'halt', itemIndex, false));
	return { result: reply.result, result_error: reply.errors, result_total: reply.total, result_next: reply.next } as IDataObject;
}

const READ_HANDLERS: Record<string, (ctx: IExecuteFunctions, client: Bitrix24Client, itemIndex: number) => Promise<ItemResult>> = {
	get: getOne,
	getMany,
	getFields,
	method: customMethod,
	batch: userBatch,
};

export async function executeBitrix24(ctx: IExecuteFunctions, client: Bitrix24Client): Promise<INodeExecutionData[][]> {
	const operation = param<string>(ctx, 'operation', 0);
	if (operation === 'create' || operation === 'update' || operation === 'delete') return await bulkWrite(ctx, client, operation);
	const handler = READ_HANDLERS[operation];
	if (!handler) throw new FieldError('operation', `"${operation}" is not supported`);
	return await runPerItem(ctx, async (itemIndex) => await handler(ctx, client, itemIndex));
}
