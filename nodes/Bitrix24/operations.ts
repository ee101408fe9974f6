import type { IDataObject, IExecuteFunctions, INodeExecutionData, ResourceMapperValue } from 'n8n-workflow';
import { FieldError, settle } from '../common/errors';
import type { BulkOutcome, ItemResult } from '../common/execute';
import { runInChunks, runPerItem } from '../common/execute';
import { parseJsonObject } from '../common/json';
import { wanted } from '../common/paging';
import { fieldsOf, recordFields } from './metadata';
import type { EntitySpec, OperationName } from './resources';
import { entityOf, isReadMethod } from './resources';
import type { BatchCommand, BatchReply, Bitrix24Client } from './transport';
import { BATCH_LIMIT, breaksInBatch, isNotFoundAnswer, isRefusedCommand, PAGE_SIZE } from './transport';

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

/**
 * Bitrix24 says "Not found" with a 400 and an empty code: name the ID field, keep the portal's words. Only
 * Bitrix24's own answer counts (a web server's 404 page in front of the portal is not about the record).
 */
function notFoundAsField(error: unknown, entity: EntitySpec, id: unknown): unknown {
	if (!isNotFoundAnswer(error)) return error;
	const message = error instanceof Error ? error.message : String(error);
	return new FieldError('recordId', `${entity.name.toLowerCase()} ${String(id)} was not found (${message})`);
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

/** The keys of `commands` that the batch refused before acting (see Bitrix24Client.refusalWaiter). */
const refusedKeys = (reply: BatchReply, keys: string[]) => keys.filter((key) => isRefusedCommand(reply.errors[key]));

/**
 * One chunk of writes: one `batch` for the items, then, after waiting for the method's window, only the commands
 * the batch refused before acting (OPERATION_TIME_LIMIT), until they go through or stay refused. Items whose
 * values contain `$result` (which `batch` would rewrite) are sent one by one as direct calls.
 */
async function sendWrites(
	client: Bitrix24Client,
	entity: EntitySpec,
	operation: OperationName,
	chunk: Array<{ itemIndex: number; prepared: BatchCommand }>,
	refusals: ReturnType<Bitrix24Client['refusalWaiter']>,
): Promise<BulkOutcome[]> {
	const outcomes = new Map<number, BulkOutcome>();
	const outcomeOf = (command: BatchCommand, reply: BatchReply, key: string): BulkOutcome => {
		if (reply.errors[key]) return { error: notFoundAsField(client.commandError(command.method, reply.errors[key]), entity, command.params?.[entity.idParam]) };
		if (!(key in reply.result)) return { error: new Error(`Bitrix24 returned no result for ${command.method}`) };
		return { result: writeOutput(entity, operation, command, reply.result[key]) };
	};
	const direct = chunk.filter(({ prepared }) => breaksInBatch(prepared));
	let pending = chunk.filter((entry) => !direct.includes(entry));
	while (pending.length) {
		const commands = Object.fromEntries(pending.map(({ itemIndex, prepared }) => [`i${itemIndex}`, prepared]));
		const sent = await settle(client.batch(commands, true, false));
		if (!sent.ok) {
			// The first request of a batch-only chunk failed as a whole: nothing of the chunk is known to be written.
			if (!outcomes.size && !direct.length) throw sent.error;
			for (const { itemIndex } of pending) outcomes.set(itemIndex, { error: sent.error });
			break;
		}
		const reply = sent.value;
		const refused = new Set(refusedKeys(reply, Object.keys(commands)));
		for (const { itemIndex, prepared } of pending) if (!refused.has(`i${itemIndex}`)) outcomes.set(itemIndex, outcomeOf(prepared, reply, `i${itemIndex}`));
		const resend = refused.size > 0 && (await refusals.wait(commands, reply, [...refused], refused.size < pending.length));
		if (!resend) {
			// Nothing refused, or still refused after waiting as long as allowed: the refusal is the item's error.
			for (const { itemIndex, prepared } of pending) if (refused.has(`i${itemIndex}`)) outcomes.set(itemIndex, outcomeOf(prepared, reply, `i${itemIndex}`));
			break;
		}
		pending = pending.filter(({ itemIndex }) => refused.has(`i${itemIndex}`));
	}
	for (const { itemIndex, prepared } of direct) {
		const sent = await settle(client.call(prepared.method, prepared.params ?? {}, true));
		outcomes.set(
			itemIndex,
			sent.ok ? { result: writeOutput(entity, operation, prepared, sent.value.result) } : { error: notFoundAsField(sent.error, entity, prepared.params?.[entity.idParam]) },
		);
	}
	return chunk.map(({ itemIndex }) => outcomes.get(itemIndex) ?? { error: new Error('Bitrix24 returned no result for this item') });
}

export async function bulkWrite(ctx: IExecuteFunctions, client: Bitrix24Client, operation: OperationName): Promise<INodeExecutionData[][]> {
	const entity = entityOf(param(ctx, 'resource', 0));
	const refusals = client.refusalWaiter();
	return await runInChunks<BatchCommand>(
		ctx,
		BATCH_LIMIT,
		async (itemIndex) => await prepareWrite(ctx, client, entity, operation, itemIndex),
		async (chunk) => await sendWrites(client, entity, operation, chunk, refusals),
	);
}

// ---- reads ------------------------------------------------------------------------------------------

interface ListQuery {
	filter: IDataObject;
	order: IDataObject;
	select?: string[];
	entityTypeId?: number;
}

/** A Bitrix24 field name (TITLE, UF_CRM_1700000000, ufCrm5_1700000000). */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The UI's operators (named: a value starting with "=" would be an expression in n8n) as filter key prefixes. */
const FILTER_PREFIX: Record<string, string> = { equals: '', notEquals: '!', gt: '>', gte: '>=', lt: '<', lte: '<=', contains: '%', in: '' };

function listQuery(ctx: IExecuteFunctions, entity: EntitySpec, itemIndex: number): ListQuery {
	const filter: IDataObject = {};
	const { conditions = [] } = param<{ conditions?: Array<{ field?: string; operator?: string; value?: unknown }> }>(ctx, 'filters', itemIndex, {});
	conditions.forEach((condition, index) => {
		const field = typeof condition.field === 'string' ? condition.field.trim() : '';
		if (!field) throw new FieldError(`filters.conditions[${index}].field`, 'choose a field');
		// The operator is a prefix of the filter key: a field name carrying one (">=ID", "!ID") or brackets would
		// change the filter whatever operator was chosen.
		if (!FIELD_NAME.test(field)) {
			throw new FieldError(`filters.conditions[${index}].field`, `"${field}" is not a Bitrix24 field name (letters, digits and underscores); choose the comparison in Operator`);
		}
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
 *
 * A page the batch refused before acting (OPERATION_TIME_LIMIT; a read, safe to resend) is read again after the
 * method's window moves on, with the pages after it (they refer to it). A query containing `$result`, which
 * `batch` would rewrite, is read with one direct call per page instead.
 */
async function readByKeyset(client: Bitrix24Client, entity: EntitySpec, query: ListQuery, max: number): Promise<IDataObject[]> {
	const keyset = entity.keyset!;
	const method = entity.methods.getMany!;
	const order = { [keyset.orderKey]: keyset.direction };
	const path = entity.wrap ? `[${entity.wrap.list}]` : '';
	const pageAfter = (after: IDataObject[string]) => listParams(entity, query, -1, { ...query.filter, [keyset.filterKey]: after }, order);
	const first = await client.call(method, listParams(entity, query, 0, query.filter, order));
	const rows = unwrapList(entity, first.result).slice(0, max);
	let remainingPages = Math.ceil((Math.min(max, Number(first.total ?? 0)) - rows.length) / PAGE_SIZE);
	if (rows.length < PAGE_SIZE || first.next === undefined) remainingPages = 0;
	const direct = breaksInBatch(query);
	const refusals = client.refusalWaiter();
	while (remainingPages > 0 && rows.length < max) {
		const lastId = rows[rows.length - 1][entity.idKey];
		if (lastId === undefined || lastId === null || lastId === '') throw new Error(`Bitrix24 returned ${entity.name} rows without ${entity.idKey}; cannot page on`);
		if (direct) {
			const pageRows = unwrapList(entity, (await client.call(method, pageAfter(lastId))).result);
			for (const row of pageRows) if (rows.length < max) rows.push(row);
			remainingPages -= 1;
			if (pageRows.length < PAGE_SIZE) return rows;
			continue;
		}
		const pages = Math.min(BATCH_LIMIT, remainingPages);
		const commands: Record<string, BatchCommand> = {};
		for (let page = 0; page < pages; page++) {
			commands[`p${page}`] = { method, params: pageAfter(page === 0 ? lastId : `$result[p${page - 1}]${path}[${PAGE_SIZE - 1}][${entity.idKey}]`) };
		}
		const reply = await client.batch(commands, false, false);
		let read = 0;
		for (; read < pages; read++) {
			const key = `p${read}`;
			if (isRefusedCommand(reply.errors[key])) break;
			if (reply.errors[key]) throw client.commandError(method, reply.errors[key]);
			const pageRows = unwrapList(entity, reply.result[key]);
			for (const row of pageRows) if (rows.length < max) rows.push(row);
			// A short page: the list ended earlier than its total said; later pages would repeat nothing new.
			if (pageRows.length < PAGE_SIZE) return rows;
		}
		remainingPages -= read;
		if (read < pages) {
			// Page `read` was refused; the pages after it refer to it. Wait, then page on from the last row read.
			const refused = `p${read}`;
			if (!(await refusals.wait(commands, reply, [refused], read > 0))) throw client.commandError(method, reply.errors[refused]);
		}
	}
	return rows;
}

/**
 * Documented paging (`start` = 0, 50, 100…) where the user's order forbids keyset: the first page tells
 * the total, the remaining pages are fetched 50 per `batch` (pages refused before acting are waited out and
 * fetched again), or one direct call per page when the query contains `$result`.
 */
async function readByOffset(client: Bitrix24Client, entity: EntitySpec, query: ListQuery, max: number): Promise<IDataObject[]> {
	const method = entity.methods.getMany!;
	const first = await client.call(method, listParams(entity, query, 0));
	const rows = unwrapList(entity, first.result).slice(0, max);
	const total = Math.min(max, Number(first.total ?? rows.length));
	const starts: number[] = [];
	for (let start = PAGE_SIZE; start < total && first.next !== undefined; start += PAGE_SIZE) starts.push(start);
	const direct = breaksInBatch(query);
	const refusals = client.refusalWaiter();
	for (let i = 0; i < starts.length && rows.length < max; i += BATCH_LIMIT) {
		const group = starts.slice(i, i + BATCH_LIMIT);
		const pages = new Map<number, IDataObject[]>();
		if (direct) {
			for (const start of group) pages.set(start, unwrapList(entity, (await client.call(method, listParams(entity, query, start))).result));
		}
		let pending = direct ? [] : group;
		while (pending.length) {
			const commands: Record<string, BatchCommand> = Object.fromEntries(pending.map((start) => [`s${start}`, { method, params: listParams(entity, query, start) }]));
			const reply = await client.batch(commands, false, false);
			const refused = refusedKeys(reply, Object.keys(commands));
			for (const start of pending) {
				const key = `s${start}`;
				if (refused.includes(key)) continue;
				if (reply.errors[key]) throw client.commandError(method, reply.errors[key]);
				pages.set(start, unwrapList(entity, reply.result[key]));
			}
			if (!refused.length) break;
			if (!(await refusals.wait(commands, reply, refused, refused.length < pending.length))) throw client.commandError(method, reply.errors[refused[0]]);
			pending = pending.filter((start) => refused.includes(`s${start}`));
		}
		for (const start of group) for (const row of pages.get(start) ?? []) if (rows.length < max) rows.push(row);
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
