import type { IDataObject, IExecuteFunctions, INodeExecutionData, ResourceMapperValue } from 'n8n-workflow';
import { crmApiError, FieldError, settle } from '../common/errors';
import type { BulkOutcome, ItemResult } from '../common/execute';
import { runInChunks, runPerItem } from '../common/execute';
import { parseJsonObject } from '../common/json';
import { wanted } from '../common/paging';
import { CUSTOM_FIELD_PREFIX, customFieldsOf, customFieldValue, simplifyCustomFields, toTimestamp } from './metadata';
import type { AmoResource } from './resources';
import { resourceOf } from './resources';
import type { AmoCrmClient, AmoReply } from './transport';
import { PAGE_LIMIT, validationErrors, WRITE_CHUNK } from './transport';

/** Generic operations over the resource table, and the few special ones (complex create, links). */

const param = <T>(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback?: T): T => ctx.getNodeParameter(name, itemIndex, fallback) as T;

const ENTITY_TYPES = ['leads', 'contacts', 'companies'];

/** Decimal digits only: Number() would also read "1e3", "0x10", "0b11" and "0o17" as (other) IDs. */
function positiveId(value: unknown, parameter: string): number {
	const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
	const id = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
	if (!Number.isSafeInteger(id) || id <= 0) {
		const shown = typeof value === 'string' || typeof value === 'number' ? String(value) : value === undefined || value === null ? '' : typeof value;
		throw new FieldError(parameter, `"${shown}" is not an amoCRM ID (a positive whole number in decimal digits)`);
	}
	return id;
}

function pathOf(ctx: IExecuteFunctions, resource: AmoResource, itemIndex: number, forWrite = false): string {
	let path = resource.path;
	if (path.includes('{entityType}')) {
		const entityType = param<string>(ctx, 'entityType', itemIndex, 'leads');
		if (!ENTITY_TYPES.includes(entityType)) throw new FieldError('entityType', `must be one of ${ENTITY_TYPES.join(', ')}`);
		path = path.replace('{entityType}', entityType);
	}
	// Notes are written in bulk under /{entityType}/notes with entity_id in each note, so items may differ.
	if (path.includes('{entityId}')) path = forWrite ? path.replace('/{entityId}', '') : path.replace('{entityId}', String(positiveId(param(ctx, 'entityId', itemIndex), 'entityId')));
	if (path.includes('{pipelineId}')) path = path.replace('{pipelineId}', String(positiveId(param(ctx, 'pipelineId', itemIndex), 'pipelineId')));
	return `/${path}`;
}

function output(ctx: IExecuteFunctions, itemIndex: number, record: IDataObject): IDataObject {
	return param<boolean>(ctx, 'simplify', itemIndex, false) ? simplifyCustomFields(record) : record;
}

// ---- reads ------------------------------------------------------------------------------------------

interface ListFilters {
	query?: string;
	ids?: string;
	createdFrom?: string;
	createdTo?: string;
	updatedFrom?: string;
	updatedTo?: string;
	pipelineId?: string;
	statusId?: string;
	responsibleUserId?: string;
	filterJson?: unknown;
}

function listQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const qs: IDataObject = {};
	const filters = param<ListFilters>(ctx, 'filters', itemIndex, {});
	const filter: IDataObject = {};
	if (filters.query) qs.query = filters.query;
	if (filters.ids) filter.id = filters.ids.split(',').map((id, index) => positiveId(id, `filters.ids[${index}]`));
	const range = (from?: string, to?: string) => ({ ...(from ? { from: toTimestamp(from, 'filters') } : {}), ...(to ? { to: toTimestamp(to, 'filters') } : {}) });
	if (filters.createdFrom || filters.createdTo) filter.created_at = range(filters.createdFrom, filters.createdTo);
	if (filters.updatedFrom || filters.updatedTo) filter.updated_at = range(filters.updatedFrom, filters.updatedTo);
	if (filters.statusId) {
		const [pipeline, status] = String(filters.statusId).split(':');
		filter.statuses = [{ pipeline_id: positiveId(pipeline, 'filters.statusId'), status_id: positiveId(status, 'filters.statusId') }];
	} else if (filters.pipelineId) filter.pipeline_id = positiveId(filters.pipelineId, 'filters.pipelineId');
	if (filters.responsibleUserId) filter.responsible_user_id = positiveId(filters.responsibleUserId, 'filters.responsibleUserId');
	Object.assign(filter, parseJsonObject(filters.filterJson ?? '{}', 'filters.filterJson'));
	if (Object.keys(filter).length) qs.filter = filter;
	const options = param<{ with?: string[]; sortBy?: string; sortDirection?: string }>(ctx, 'options', itemIndex, {});
	if (options.with?.length) qs.with = options.with.join(',');
	if (options.sortBy) qs.order = { [options.sortBy]: options.sortDirection === 'DESC' ? 'desc' : 'asc' };
	return qs;
}

/** Pages of 250 following `_links.next` until it is absent or a page answers 204 (amoCRM's empty list). */
async function getMany(ctx: IExecuteFunctions, client: AmoCrmClient, itemIndex: number): Promise<IDataObject[]> {
	const resource = resourceOf(param(ctx, 'resource', 0));
	const max = wanted(param<boolean>(ctx, 'returnAll', itemIndex, false), param<number>(ctx, 'limit', itemIndex, 50));
	const rows: IDataObject[] = [];
	const path = resource.value === 'link' ? `${pathOf(ctx, resource, itemIndex)}/links` : pathOf(ctx, resource, itemIndex);
	let next: { path: string; qs?: IDataObject } | undefined = { path, qs: { ...listQuery(ctx, itemIndex), limit: Math.min(PAGE_LIMIT, max === Infinity ? PAGE_LIMIT : max), page: 1 } };
	while (next && rows.length < max) {
		const reply: AmoReply = await client.request({ method: 'GET', path: next.path, qs: next.qs });
		const body = reply.body;
		if (!body) break;
		const page = ((body._embedded as IDataObject | undefined)?.[resource.embedded] ?? []) as IDataObject[];
		for (const row of page) if (rows.length < max) rows.push(output(ctx, itemIndex, row));
		const href: unknown = ((body._links as IDataObject | undefined)?.next as IDataObject | undefined)?.href;
		next = typeof href === 'string' && page.length ? { path: href } : undefined;
	}
	return rows;
}

async function getOne(ctx: IExecuteFunctions, client: AmoCrmClient, itemIndex: number): Promise<IDataObject> {
	const resource = resourceOf(param(ctx, 'resource', 0));
	const options = param<{ with?: string[] }>(ctx, 'options', itemIndex, {});
	const qs = options.with?.length ? { with: options.with.join(',') } : undefined;
	if (resource.value === 'account') {
		const { body } = await client.request({ method: 'GET', path: '/account', qs: { with: 'amojo_id,users_groups,task_types,version,entity_names,datetime_settings' } });
		return body ?? {};
	}
	const id = positiveId(param(ctx, 'recordId', itemIndex), 'recordId');
	const { body } = await client.request({ method: 'GET', path: `${pathOf(ctx, resource, itemIndex)}/${id}`, qs });
	if (!body) throw new FieldError('recordId', `${resource.name.toLowerCase()} ${id} was not found (amoCRM answered 204 No Content)`);
	return output(ctx, itemIndex, body);
}

// ---- writes -----------------------------------------------------------------------------------------

/** The mapper's values (or auto-mapped input fields), split into standard fields and `custom_fields_values`. */
async function recordBody(ctx: IExecuteFunctions, client: AmoCrmClient, resource: AmoResource, itemIndex: number, mode: 'create' | 'update'): Promise<IDataObject> {
	const mapper = param<ResourceMapperValue>(ctx, 'fields', itemIndex);
	const standard = new Map((resource.fields ?? []).map((f) => [f.name, f]));
	const input = mapper?.mappingMode === 'autoMapInputData' ? ctx.getInputData()[itemIndex].json : ((mapper?.value ?? {}) as IDataObject);
	const additional = parseJsonObject(param(ctx, 'additionalFields', itemIndex, '{}') || '{}', 'additionalFields');
	// The account's custom fields are read (one request, cached) only when a value is not a standard field:
	// a write of standard fields alone then costs its writes and nothing more.
	const needsCustom = resource.customFieldsOf !== undefined && [...Object.keys(input), ...Object.keys(additional)].some((key) => !standard.has(key));
	const custom = needsCustom ? await customFieldsOf(client, resource.customFieldsOf!) : [];
	const customById = new Map(custom.map((f) => [`${CUSTOM_FIELD_PREFIX}${f.id}`, f]));
	const raw = mapper?.mappingMode === 'autoMapInputData' ? Object.fromEntries(Object.entries(input).filter(([key]) => standard.has(key) || customById.has(key))) : input;
	const values = { ...raw, ...additional };
	const body: IDataObject = {};
	const customValues: IDataObject[] = [];
	for (const [key, value] of Object.entries(values)) {
		if (value === undefined || (value === '' && mode === 'create')) continue;
		const parameter = `fields.${key}`;
		const field = standard.get(key);
		if (field) {
			if (value === null || value === '') continue;
			if (key === 'tags') body._embedded = { tags: String(value).split(',').map((name) => ({ name: name.trim() })).filter((t) => t.name) };
			else if (key === 'result_text') body.result = { text: String(value) };
			else if (key === 'text' && resource.value === 'note') body.params = { text: String(value) };
			else if (field.timestamp) body[key] = toTimestamp(value, parameter);
			else if (field.type === 'number' || field.type === 'options') body[key] = field.type === 'options' && key === 'entity_type' ? String(value) : Number(value);
			else if (field.type === 'boolean') body[key] = value === true || value === 'true';
			else body[key] = value as IDataObject[string];
			if ((field.type === 'number' || (field.type === 'options' && key !== 'entity_type')) && !Number.isFinite(body[key] as number)) {
				throw new FieldError(parameter, `"${String(value)}" is not a number`);
			}
			continue;
		}
		const customField = customById.get(key);
		if (customField) {
			customValues.push(customFieldValue(customField, value, parameter));
			continue;
		}
		if (key === 'custom_fields_values' || key === '_embedded') {
			body[key] = value as IDataObject[string];
			continue;
		}
		const known = [...standard.keys(), ...custom.map((f) => `${CUSTOM_FIELD_PREFIX}${f.id} (${f.name})`)].slice(0, 25).join(', ');
		throw new FieldError(parameter, `"${key}" is not a field of ${resource.name} (known: ${known})`);
	}
	if (customValues.length) body.custom_fields_values = customValues;
	if (resource.value === 'note') {
		body.note_type = body.note_type || 'common';
		body.entity_id = positiveId(param(ctx, 'entityId', itemIndex), 'entityId');
	}
	if (mode === 'create') {
		const missing = (resource.fields ?? []).find((f) => f.requiredOnCreate && body[f.name] === undefined && !(f.name === 'text' && body.params));
		if (missing) throw new FieldError(`fields.${missing.name}`, `is required for a new ${resource.name.toLowerCase()}`);
	}
	if (!Object.keys(body).length) throw new FieldError('fields', 'give at least one field to send');
	return body;
}

/**
 * Sends one chunk as an array. amoCRM refuses the whole request when one object is invalid and says which
 * (`validation-errors` by request_id): those items fail with their field, and the rest — nothing of which
 * was written — is sent again without them. When that resend fails, the refused items keep their own errors
 * and only the resent ones carry the resend's failure (one error object, shared: they were one request).
 */
async function sendChunk(
	client: AmoCrmClient,
	method: 'POST' | 'PATCH',
	path: string,
	embedded: string,
	chunk: Array<{ itemIndex: number; prepared: IDataObject }>,
): Promise<BulkOutcome[]> {
	const outcomes = new Map<number, BulkOutcome>();
	let pending = chunk;
	const failPending = (error: unknown) => {
		// The first request failed as a whole: the caller gives every item of the chunk the error.
		if (!outcomes.size) throw error;
		for (const { itemIndex } of pending) outcomes.set(itemIndex, { error });
	};
	while (pending.length) {
		const sent = await settle(
			client.request({
				method,
				path,
				body: pending.map(({ itemIndex, prepared }) => ({ ...prepared, request_id: String(itemIndex) })),
				returnValidationErrors: true,
			}),
		);
		if (!sent.ok) {
			failPending(sent.error);
			break;
		}
		const { status, body } = sent.value;
		if (status === 400) {
			const refused = new Set<number>();
			for (const error of validationErrors(body)) {
				// Only items of this request can be refused by it (an unknown request_id must not stall the resend loop).
				const itemIndex = pending.find((p) => String(p.itemIndex) === error.requestId)?.itemIndex;
				if (itemIndex === undefined || refused.has(itemIndex)) continue;
				refused.add(itemIndex);
				const apiError = crmApiError(client.node, { crm: 'amoCRM', code: error.code ?? 'VALIDATION', message: `${error.detail} (field "${error.path}")`, httpCode: 400, field: `fields.${error.path}` });
				outcomes.set(itemIndex, { error: apiError });
			}
			if (!refused.size) {
				failPending(client.errorFrom({ statusCode: 400, headers: {}, body, text: JSON.stringify(body) }));
				break;
			}
			pending = pending.filter((p) => !refused.has(p.itemIndex));
			continue;
		}
		const results = (((body ?? {})._embedded as IDataObject | undefined)?.[embedded] ?? (Array.isArray(body) ? body : [])) as IDataObject[];
		pending.forEach(({ itemIndex, prepared }, position) => {
			const result = results.find((r) => String(r.request_id) === String(itemIndex)) ?? (prepared.id ? results.find((r) => r.id === prepared.id) : undefined) ?? results[position];
			outcomes.set(itemIndex, result ? { result: result } : { error: new Error('amoCRM returned no result for this item') });
		});
		pending = [];
	}
	return chunk.map(({ itemIndex }) => outcomes.get(itemIndex)!);
}

async function bulkWrite(ctx: IExecuteFunctions, client: AmoCrmClient, mode: 'create' | 'update'): Promise<INodeExecutionData[][]> {
	const resource = resourceOf(param(ctx, 'resource', 0));
	const path = pathOf(ctx, resource, 0, true);
	return await runInChunks<IDataObject>(
		ctx,
		WRITE_CHUNK,
		async (itemIndex) => {
			const body = await recordBody(ctx, client, resource, itemIndex, mode);
			return mode === 'update' ? { id: positiveId(param(ctx, 'recordId', itemIndex), 'recordId'), ...body } : body;
		},
		async (chunk) => await sendChunk(client, mode === 'create' ? 'POST' : 'PATCH', path, resource.embedded, chunk),
	);
}

/** POST /leads/complex: each lead with one contact and one company, up to 50 per request. */
async function complexCreate(ctx: IExecuteFunctions, client: AmoCrmClient): Promise<INodeExecutionData[][]> {
	const resource = resourceOf('lead');
	return await runInChunks<IDataObject>(
		ctx,
		WRITE_CHUNK,
		async (itemIndex) => {
			const lead = await recordBody(ctx, client, resource, itemIndex, 'create');
			const contact = param<{ name?: string; first_name?: string; last_name?: string; phone?: string; email?: string }>(ctx, 'contact', itemIndex, {});
			const companyName = param<string>(ctx, 'companyName', itemIndex, '');
			const embedded: IDataObject = { ...((lead._embedded as IDataObject) ?? {}) };
			const contactValues: IDataObject[] = [];
			if (contact.phone) contactValues.push({ field_code: 'PHONE', values: String(contact.phone).split(',').map((value) => ({ value: value.trim(), enum_code: 'WORK' })) });
			if (contact.email) contactValues.push({ field_code: 'EMAIL', values: String(contact.email).split(',').map((value) => ({ value: value.trim(), enum_code: 'WORK' })) });
			const { phone: _p, email: _e, ...names } = contact;
			if (Object.values(names).some(Boolean) || contactValues.length) embedded.contacts = [{ ...names, ...(contactValues.length ? { custom_fields_values: contactValues } : {}) }];
			if (companyName) embedded.companies = [{ name: companyName }];
			return { ...lead, ...(Object.keys(embedded).length ? { _embedded: embedded } : {}) };
		},
		async (chunk) => {
			const { status, body } = await client.request<IDataObject[]>({
				method: 'POST',
				path: '/leads/complex',
				body: chunk.map(({ itemIndex, prepared }) => ({ ...prepared, request_id: String(itemIndex) })),
				returnValidationErrors: true,
			});
			if (status === 400) throw client.errorFrom({ statusCode: 400, headers: {}, body, text: JSON.stringify(body) });
			const results = Array.isArray(body) ? body : [];
			return chunk.map(({ itemIndex }, position): BulkOutcome => {
				const result = results.find((r) => String(r.request_id) === String(itemIndex)) ?? results[position];
				return result ? { result } : { error: new Error('amoCRM returned no result for this lead') };
			});
		},
	);
}

async function linkRecords(ctx: IExecuteFunctions, client: AmoCrmClient, itemIndex: number, unlink: boolean): Promise<IDataObject> {
	const path = pathOf(ctx, resourceOf('link'), itemIndex);
	const toType = param<string>(ctx, 'toEntityType', itemIndex, 'contacts');
	const toId = positiveId(param(ctx, 'toEntityId', itemIndex), 'toEntityId');
	const { body } = await client.request({ method: 'POST', path: `${path}/${unlink ? 'unlink' : 'link'}`, body: [{ to_entity_id: toId, to_entity_type: toType }] });
	return unlink ? { unlinked: true, to_entity_id: toId, to_entity_type: toType } : { linked: true, ...((body?._embedded as IDataObject | undefined)?.links as IDataObject[] | undefined)?.[0] };
}

async function customCall(ctx: IExecuteFunctions, client: AmoCrmClient, itemIndex: number): Promise<ItemResult> {
	const method = param<'GET' | 'POST' | 'PATCH' | 'DELETE'>(ctx, 'httpMethod', itemIndex, 'GET');
	const path = String(param(ctx, 'path', itemIndex, '')).trim();
	if (!/^\/[A-Za-z0-9_/.-]*$/.test(path) || path.includes('..')) throw new FieldError('path', `"${path}" is not a path under /api/v4 like /leads/123`);
	const qs = parseJsonObject(param(ctx, 'query', itemIndex, '{}'), 'query');
	const body = method === 'GET' ? undefined : (parseJsonObject(param(ctx, 'body', itemIndex, '{}'), 'body') as unknown);
	const reply = await client.request({ method, path, qs, body });
	return reply.body === undefined ? { status: reply.status } : Array.isArray(reply.body) ? (reply.body as IDataObject[]) : reply.body;
}

export async function executeAmoCrm(ctx: IExecuteFunctions, client: AmoCrmClient): Promise<INodeExecutionData[][]> {
	const resource = param<string>(ctx, 'resource', 0);
	const operation = param<string>(ctx, 'operation', 0);
	if (resource === 'custom') return await runPerItem(ctx, async (i) => await customCall(ctx, client, i));
	if (operation === 'create' || operation === 'update') return await bulkWrite(ctx, client, operation);
	if (operation === 'complexCreate') return await complexCreate(ctx, client);
	const handlers: Record<string, (i: number) => Promise<ItemResult>> = {
		get: async (i) => await getOne(ctx, client, i),
		getMany: async (i) => await getMany(ctx, client, i),
		link: async (i) => await linkRecords(ctx, client, i, false),
		unlink: async (i) => await linkRecords(ctx, client, i, true),
	};
	const handler = handlers[operation];
	if (!handler) throw new FieldError('operation', `"${operation}" is not supported for ${resource}`);
	return await runPerItem(ctx, handler);
}
