import type { IDataObject, IExecuteFunctions, INodeExecutionData, ResourceMapperValue } from 'n8n-workflow';
import { crmCodeOf, FieldError, settle } from '../common/errors';
import type { BulkOutcome, ItemResult } from '../common/execute';
import { runInChunks, runPerItem } from '../common/execute';
import { parseJsonObject } from '../common/json';
import { collect, offsetPages, wanted } from '../common/paging';
import type { SalesManResource } from './resources';
import { guideMethod, OPERATION_LABELS, resourceOf } from './resources';
import type { SalesManClient } from './transport';
import { envelopeError, PAGE_SIZE } from './transport';

const param = <T>(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback?: T): T => ctx.getNodeParameter(name, itemIndex, fallback) as T;

function recordId(ctx: IExecuteFunctions, itemIndex: number): number {
	const text = String(param(ctx, 'recordId', itemIndex, '')).trim();
	// Decimal digits only: Number() would read 1e3, 0x10 or 0b11 as other IDs.
	const id = /^\d+$/.test(text) ? Number(text) : NaN;
	if (!Number.isSafeInteger(id) || id <= 0) throw new FieldError('recordId', `"${String(param(ctx, 'recordId', itemIndex, ''))}" is not a SalesMan ID (a positive number)`);
	return id;
}

/** The fields of the record: the mapper's values (or the input item's, auto-mapped) plus Additional Fields. */
function fieldValues(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const mapper = param<ResourceMapperValue | undefined>(ctx, 'fields', itemIndex, undefined);
	const mapped = mapper?.mappingMode === 'autoMapInputData' ? ctx.getInputData()[itemIndex].json : ((mapper?.value ?? {}) as IDataObject);
	const values = { ...mapped, ...parseJsonObject(param(ctx, 'additionalFields', itemIndex, '{}') || '{}', 'additionalFields') };
	return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined && value !== null));
}

/** The values to create a record from, refused by field name when SalesMan would refuse them. */
function createValues(ctx: IExecuteFunctions, resource: SalesManResource, itemIndex: number): IDataObject {
	const values = fieldValues(ctx, itemIndex);
	if (!Object.keys(values).length) throw new FieldError('fields', 'give at least one field to send');
	const given = (name: string) => String(values[name] ?? '').trim() !== '';
	for (const name of resource.requiredOnCreate ?? []) {
		if (!given(name)) throw new FieldError(`fields.${name}`, `is mandatory to create a SalesMan ${resource.name.toLowerCase()}`);
	}
	const oneOf = resource.requiredOneOfOnCreate;
	if (oneOf && !oneOf.some(given)) throw new FieldError(`fields.${oneOf[0]}`, `give one of ${oneOf.join(', ')}: SalesMan files a ${resource.name.toLowerCase()} under one of them`);
	return values;
}

/** SalesMan answers info with `{data}` and lists with `{data, count}` or a bare array. */
const dataOf = (body: unknown): unknown => (body && typeof body === 'object' && !Array.isArray(body) && 'data' in body ? (body as IDataObject).data : body);

async function getMany(ctx: IExecuteFunctions, client: SalesManClient, resource: SalesManResource, itemIndex: number): Promise<IDataObject[]> {
	const max = wanted(param<boolean>(ctx, 'returnAll', itemIndex, false), param<number>(ctx, 'limit', itemIndex, 50));
	const filters = param<IDataObject>(ctx, 'filters', itemIndex, {});
	const { filterJson, ...plain } = filters;
	const params: IDataObject = { ...(resource.listDefaults ?? {}), ...plain, ...parseJsonObject(filterJson ?? '{}', 'filters.filterJson') };
	if (resource.value === 'history' && !params.pid) throw new FieldError('filters.pid', 'SalesMan lists history only for a person: give the person ID (pid)');
	// Client, person and deal lists say how many rows match (`count`): once they are read, no request is
	// spent on an empty page to learn the end.
	let total: number | undefined;
	const pages = offsetPages<IDataObject>(PAGE_SIZE, max, async ({ index, offset }) => {
		if (total !== undefined && offset >= total) return [];
		const page = await settle(client.call<unknown>(resource.method, 'list', { ...params, offset: index }));
		// An empty lead page is error 404 "not found", not an empty list.
		if (!page.ok && resource.emptyPageIs404 && crmCodeOf(page.error) === '404') return [];
		if (!page.ok) throw page.error;
		const count = Number((page.value as IDataObject | undefined)?.count);
		if (Number.isFinite(count)) total = count;
		const rows = dataOf(page.value);
		return Array.isArray(rows) ? (rows as IDataObject[]) : [];
	});
	return await collect(pages, max);
}

async function bulkCreate(ctx: IExecuteFunctions, client: SalesManClient, resource: SalesManResource): Promise<INodeExecutionData[][]> {
	return await runInChunks<IDataObject>(
		ctx,
		50,
		async (itemIndex) => createValues(ctx, resource, itemIndex),
		async (chunk): Promise<BulkOutcome[]> => {
			const answer = await client.call<unknown>(resource.method, 'add.list', { [resource.addListParam!]: chunk.map((c) => c.prepared) }, true);
			const results = Array.isArray(answer) ? answer : [];
			return chunk.map((_, position) => {
				const result = results[position] as IDataObject | undefined;
				if (!result) return { error: new Error('SalesMan returned no result for this item (add.list)') };
				// history add.list reuses one result object: a saved item can carry the previous item's `error`, a
				// refused one the previous item's `data`. `result` is set for every item, so it decides.
				const created = Number(result.data ?? result.id);
				if (result.result !== 'Error' && Number.isSafeInteger(created) && created > 0) {
					const { error: _stale, ...saved } = result;
					return { result: { [resource.idParam]: created, ...saved } };
				}
				const error = envelopeError(result);
				if (error) return { error: new Error(`SalesMan error ${error.code}: ${error.text}`) };
				return { error: new Error('SalesMan saved nothing for this item (add.list answered no ID)') };
			});
		},
	);
}

/** One record by ID, as Get shows it and the trigger's "fetch record" adds it. */
export async function readRecord(client: SalesManClient, resource: SalesManResource, id: number): Promise<IDataObject> {
	if (resource.getFromList) {
		const rows = dataOf(await client.call(resource.method, 'list', { filter: { [resource.idParam]: id }, order: resource.idParam, first: 'old', offset: 0 }));
		const found = Array.isArray(rows) ? (rows as IDataObject[]).find((row) => Number(row[resource.idParam]) === id) : undefined;
		if (found) return found;
		// Not listed: `info` says "not found" (or why it may not be seen) in SalesMan's own words.
	}
	const record = dataOf(await client.call(resource.method, 'info', { [resource.idParam]: id })) as IDataObject;
	// A missing person answers data with every field null instead of an error.
	if (!record || record[resource.idParam] === null) throw new FieldError('recordId', `${resource.name.toLowerCase()} ${id} was not found`);
	return record;
}

async function createOne(ctx: IExecuteFunctions, client: SalesManClient, resource: SalesManResource, itemIndex: number): Promise<IDataObject> {
	const values = createValues(ctx, resource, itemIndex);
	const answer = await client.call<IDataObject>(resource.method, 'add', values, true);
	return { [resource.idParam]: answer.data ?? answer.id, ...answer };
}

async function update(ctx: IExecuteFunctions, client: SalesManClient, resource: SalesManResource, itemIndex: number): Promise<IDataObject> {
	const id = recordId(ctx, itemIndex);
	let values = fieldValues(ctx, itemIndex);
	if (!Object.keys(values).length) throw new FieldError('fields', 'give at least one field to change');
	for (const [name, why] of Object.entries(resource.updateIgnores ?? {})) {
		if (values[name] !== undefined) throw new FieldError(`fields.${name}`, why);
	}
	if (resource.updateReplaces || resource.updateKeeps) {
		// SalesMan blanks or resets fields an update does not send: read the record and send them back with the changes.
		const current = await readRecord(client, resource, id);
		const carried = Object.entries(current).filter(([name, value]) => value !== null && typeof value !== 'object' && (resource.updateReplaces || resource.updateKeeps!.includes(name)));
		values = { ...Object.fromEntries(carried), ...values };
	}
	const answer = await client.call<IDataObject>(resource.method, 'update', { ...values, [resource.idParam]: id }, true);
	return { [resource.idParam]: id, ...answer };
}

async function dealAction(ctx: IExecuteFunctions, client: SalesManClient, operation: 'changeStage' | 'close' | 'changeResponsible', itemIndex: number): Promise<IDataObject> {
	const did = recordId(ctx, itemIndex);
	const params: IDataObject = { did };
	if (operation === 'changeStage') {
		params.step = param<string>(ctx, 'step', itemIndex, '');
		if (!params.step) throw new FieldError('step', 'choose the stage');
		const comment = param<string>(ctx, 'comment', itemIndex, '');
		if (comment) params.description = comment;
	} else if (operation === 'close') {
		const outcome = param<string>(ctx, 'closeStatus', itemIndex, '');
		if (!outcome) throw new FieldError('closeStatus', 'choose how the deal closes');
		params.status_close = outcome;
		params.kol_fact = param<number>(ctx, 'sum', itemIndex, 0);
		const comment = param<string>(ctx, 'comment', itemIndex, '');
		if (comment) params.des_fact = comment;
	} else {
		params.user = param<string>(ctx, 'user', itemIndex, '');
		if (!params.user) throw new FieldError('user', 'choose the new responsible user');
	}
	const answer = await client.call<IDataObject>('deal', OPERATION_LABELS[operation].salesmanAction, params, true);
	return { did, ...answer };
}

async function custom(ctx: IExecuteFunctions, client: SalesManClient, itemIndex: number): Promise<ItemResult> {
	const method = String(param(ctx, 'method', itemIndex, '')).trim();
	const action = String(param(ctx, 'action', itemIndex, '')).trim();
	if (!/^[a-z][a-z0-9_]*$/i.test(method)) throw new FieldError('method', `"${method}" is not a SalesMan method like client or deal`);
	if (!/^[a-z][a-z0-9_.]*$/i.test(action)) throw new FieldError('action', `"${action}" is not an action like list or info`);
	const writes = !/^(list|info|fields|user\.list|category|territory|relations|clientpath|steplist|direction|type|statusclose|funnel)$/.test(action);
	const answer = await client.call<unknown>(method, action, parseJsonObject(param(ctx, 'parameters', itemIndex, '{}'), 'parameters'), writes);
	return Array.isArray(answer) ? (answer as IDataObject[]) : (answer as IDataObject);
}

export async function executeSalesMan(ctx: IExecuteFunctions, client: SalesManClient): Promise<INodeExecutionData[][]> {
	const resourceName = param<string>(ctx, 'resource', 0);
	const operation = param<string>(ctx, 'operation', 0);
	if (resourceName === 'custom') return await runPerItem(ctx, async (i) => await custom(ctx, client, i));
	if (resourceName === 'user') return await runPerItem(ctx, async () => (dataOf(await client.call('user', 'user.list')) as IDataObject[]) ?? []);
	if (resourceName === 'guide') return await runPerItem(ctx, async (i) => {
		const guide = param<string>(ctx, 'guide', i, 'category');
		const rows = dataOf(await client.call(guideMethod(guide), guide));
		return Array.isArray(rows) ? (rows as IDataObject[]) : rows && typeof rows === 'object' ? Object.entries(rows as IDataObject).map(([key, value]) => (typeof value === 'object' && value !== null ? { key, ...(value as IDataObject) } : { key, value })) : [];
	});
	const resource = resourceOf(resourceName);
	if (operation === 'createMany') return await bulkCreate(ctx, client, resource);
	return await runPerItem(ctx, async (itemIndex) => {
		switch (operation) {
			case 'create':
				return await createOne(ctx, client, resource, itemIndex);
			case 'get':
				return await readRecord(client, resource, recordId(ctx, itemIndex));
			case 'getMany':
				return await getMany(ctx, client, resource, itemIndex);
			case 'update':
				return await update(ctx, client, resource, itemIndex);
			case 'delete': {
				const id = recordId(ctx, itemIndex);
				return { [resource.idParam]: id, deleted: true, ...(await client.call<IDataObject>(resource.method, 'delete', { [resource.idParam]: id }, true)) };
			}
			case 'getFields': {
				const fields = dataOf(await client.call(resource.method, 'fields')) as IDataObject;
				return Object.entries(fields ?? {}).map(([name, label]) => ({ name, label: typeof label === 'string' ? label : JSON.stringify(label), custom: /^input\d+$/.test(name) }));
			}
			case 'changeStage':
			case 'close':
			case 'changeResponsible':
				return await dealAction(ctx, client, operation, itemIndex);
			default:
				throw new FieldError('operation', `"${operation}" is not supported for ${resource.name}`);
		}
	});
}
