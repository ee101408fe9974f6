import type { IDataObject } from 'n8n-workflow';
import { FieldError } from '../common/errors';
import { ExpiringCache } from '../common/keyed';
import { parseJson } from '../common/json';
import type { AmoCrmClient } from './transport';

/** Custom-field metadata (`/{entity}/custom_fields`), cached per account, and typed value conversion. */

export interface AmoCustomField {
	id: number;
	name: string;
	type: string;
	code?: string;
	enums?: Array<{ id: number; value: string; enum?: string }>;
}

const TTL_MS = 5 * 60_000;
const cache = new ExpiringCache<AmoCustomField[]>();

/** Forgets every account's custom fields (tests and benchmarks start cold with it). */
export function clearCustomFieldCache(): void {
	cache.clear();
}

export async function customFieldsOf(client: AmoCrmClient, entity: string): Promise<AmoCustomField[]> {
	const key = `${client.baseUrl}\u0000${entity}`;
	const cached = cache.get(key);
	if (cached) return cached;
	const fields: AmoCustomField[] = [];
	let path: string | undefined = `/${entity}/custom_fields`;
	let qs: IDataObject | undefined = { limit: 250 };
	while (path) {
		const reply: { body?: IDataObject } = await client.request({ method: 'GET', path, qs });
		const list = ((reply.body?._embedded as IDataObject | undefined)?.custom_fields ?? []) as AmoCustomField[];
		fields.push(...list);
		const next = ((reply.body?._links as IDataObject | undefined)?.next as IDataObject | undefined)?.href;
		path = typeof next === 'string' ? next : undefined;
		qs = undefined;
	}
	cache.set(key, fields, TTL_MS);
	return fields;
}

/** The key a custom field has in the resource mapper: `cf_<id>`. */
export const CUSTOM_FIELD_PREFIX = 'cf_';

function toTimestamp(value: unknown, parameter: string): number {
	if (typeof value === 'number') return Math.trunc(value > 1e12 ? value / 1000 : value);
	const text = String(value).trim();
	if (/^\d+$/.test(text)) return Number(text);
	const time = Date.parse(text);
	if (Number.isNaN(time)) throw new FieldError(parameter, `"${text}" is not a date (use ISO 8601 like 2026-12-31 or a unix timestamp)`);
	return Math.trunc(time / 1000);
}

function enumOf(field: AmoCustomField, value: unknown, parameter: string): number {
	const text = String(value).trim();
	const match = field.enums?.find((e) => String(e.id) === text) ?? field.enums?.find((e) => e.value.toLowerCase() === text.toLowerCase());
	if (!match) {
		const allowed = (field.enums ?? []).map((e) => `${e.id} (${e.value})`).join(', ');
		throw new FieldError(parameter, `"${text}" is not an option of "${field.name}" (allowed: ${allowed})`);
	}
	return match.id;
}

function listOf(value: unknown, parameter: string): unknown[] {
	if (Array.isArray(value)) return value;
	if (typeof value === 'string' && value.trim().startsWith('[')) {
		const parsed = parseJson(value.trim());
		if (!parsed.ok) throw new FieldError(parameter, `looks like a JSON array but is not valid JSON (${parsed.message})`);
		return Array.isArray(parsed.value) ? parsed.value : [parsed.value];
	}
	if (typeof value === 'object' && value !== null) return [value];
	return String(value)
		.split(',')
		.map((part) => part.trim())
		.filter(Boolean);
}

/**
 * One `custom_fields_values` entry from a user's value, typed by the field: numbers, yes/no, select by
 * enum ID or label, multiselect, dates as unix time, phone/e-mail with an enum code (WORK unless given).
 * `null` (or the text "null") clears the field.
 */
export function customFieldValue(field: AmoCustomField, value: unknown, parameter: string): IDataObject {
	if (value === null || value === 'null') return { field_id: field.id, values: null };
	let values: IDataObject[];
	switch (field.type) {
		case 'numeric':
		case 'price':
		case 'monetary': {
			const number = typeof value === 'number' ? value : Number(String(value).trim());
			if (!Number.isFinite(number)) throw new FieldError(parameter, `"${String(value)}" is not a number ("${field.name}" is numeric)`);
			values = [{ value: number }];
			break;
		}
		case 'checkbox':
			values = [{ value: value === true || ['1', 'true', 'yes', 'on'].includes(String(value).toLowerCase()) }];
			break;
		case 'select':
		case 'radiobutton':
		case 'category':
			values = [{ enum_id: enumOf(field, value, parameter) }];
			break;
		case 'multiselect':
			values = listOf(value, parameter).map((v) => ({ enum_id: enumOf(field, v, parameter) }));
			break;
		case 'date':
		case 'date_time':
		case 'birthday':
			values = [{ value: toTimestamp(value, parameter) }];
			break;
		case 'multitext':
			values = listOf(value, parameter).map((v) => (typeof v === 'object' && v !== null ? { enum_code: 'WORK', ...(v as IDataObject) } : { value: String(v), enum_code: 'WORK' }));
			break;
		default:
			values = [{ value: typeof value === 'object' ? JSON.stringify(value) : String(value) }];
	}
	return { field_id: field.id, values };
}

/** `custom_fields_values` flattened for downstream nodes: `{ [code or name]: value | value[] }`. */
export function simplifyCustomFields(record: IDataObject): IDataObject {
	const list = record.custom_fields_values as Array<{ field_name?: string; field_code?: string | null; values?: Array<{ value?: unknown }> }> | null | undefined;
	if (!Array.isArray(list)) return record;
	const custom: IDataObject = {};
	for (const field of list) {
		const values = (field.values ?? []).map((v) => v.value) as IDataObject[string][];
		custom[String(field.field_code || field.field_name)] = (values.length === 1 ? values[0] : values) as IDataObject[string];
	}
	const { custom_fields_values: _omit, ...rest } = record;
	return { ...rest, custom_fields: custom };
}

export { toTimestamp };
