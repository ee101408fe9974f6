import type { IDataObject } from 'n8n-workflow';
import { FieldError } from '../common/errors';
import { ExpiringCache } from '../common/keyed';
import { parseJson } from '../common/json';
import type { EntitySpec } from './resources';
import type { Bitrix24Client } from './transport';

/** Field metadata from `*.fields`, cached per portal and entity, and conversion of values to what Bitrix24 takes. */

export interface Bitrix24Field {
	name: string;
	label: string;
	type: string;
	required: boolean;
	readOnly: boolean;
	multiple: boolean;
	/** Enumerations (`items`) of list fields. */
	items?: Array<{ ID: string; VALUE: string }>;
	/** crm_status fields: which status list (`DEAL_STAGE`, `SOURCE`, …). */
	statusType?: string;
}

const FIELDS_TTL_MS = 5 * 60_000;
const cache = new ExpiringCache<Map<string, Bitrix24Field>>();

/** The multi-fields of the classic CRM methods: arrays of `{ VALUE, VALUE_TYPE }`. */
export const MULTI_FIELD_TYPE = 'crm_multifield';

function normalize(name: string, raw: unknown): Bitrix24Field {
	if (typeof raw === 'string') return { name, label: raw || name, type: 'string', required: false, readOnly: false, multiple: false };
	const meta = (raw ?? {}) as IDataObject;
	const label = String(meta.formLabel || meta.listLabel || meta.title || name);
	return {
		name,
		label,
		type: String(meta.type ?? 'string'),
		required: meta.isRequired === true,
		readOnly: meta.isReadOnly === true,
		multiple: meta.isMultiple === true,
		items: Array.isArray(meta.items) ? (meta.items as Array<{ ID: string; VALUE: string }>) : undefined,
		statusType: meta.statusType === undefined ? undefined : String(meta.statusType),
	};
}

export async function fieldsOf(client: Bitrix24Client, entity: EntitySpec, entityTypeId?: number): Promise<Map<string, Bitrix24Field>> {
	const method = entity.methods.getFields;
	if (!method) return new Map();
	const key = `${client.endpoint.restBase}\u0000${method}\u0000${entityTypeId ?? ''}`;
	const cached = cache.get(key);
	if (cached) return cached;
	const { result } = await client.call<IDataObject>(method, entity.needsEntityTypeId ? { entityTypeId } : {});
	const raw = (result && typeof result === 'object' && 'fields' in result && typeof result.fields === 'object' ? result.fields : result) as IDataObject;
	const fields = new Map(Object.entries(raw ?? {}).map(([name, meta]) => [name, normalize(name, meta)]));
	cache.set(key, fields, FIELDS_TTL_MS);
	return fields;
}

/**
 * PHONE/EMAIL/WEB/IM: accepts what a user or an upstream node is likely to have — an array of
 * `{VALUE, VALUE_TYPE}` (sent as is), one object, a JSON array, or text with one or more values separated
 * by commas — and sends Bitrix24's array form (VALUE_TYPE WORK unless given).
 */
export function multiFieldValue(value: unknown, parameter: string): IDataObject[] {
	let parsed = value;
	if (typeof value === 'string' && value.trim().startsWith('[')) {
		const json = parseJson(value.trim());
		if (!json.ok) throw new FieldError(parameter, `looks like a JSON array but is not valid JSON (${json.message})`);
		parsed = json.value;
	}
	const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null ? [parsed] : String(parsed ?? '').split(',');
	return list
		.map((entry) => (typeof entry === 'object' && entry !== null ? (entry as IDataObject) : { VALUE: String(entry).trim() }))
		.filter((entry) => entry.DELETE === 'Y' || String(entry.VALUE ?? '') !== '')
		.map((entry) => ({ VALUE_TYPE: 'WORK', ...entry }));
}

function checkEnum(field: Bitrix24Field, value: unknown, parameter: string): unknown {
	if (!field.items?.length || value === '' || value === null) return value;
	const values = Array.isArray(value) ? value : [value];
	for (const v of values) {
		if (!field.items.some((item) => String(item.ID) === String(v))) {
			const allowed = field.items.map((item) => `${item.ID} (${item.VALUE})`).join(', ');
			throw new FieldError(parameter, `"${String(v)}" is not an option of this list (allowed IDs: ${allowed})`);
		}
	}
	return value;
}

/** Converts one value to what Bitrix24 stores for the field's type. */
function fieldValue(field: Bitrix24Field, value: unknown, parameter: string): unknown {
	if (field.type === MULTI_FIELD_TYPE) return multiFieldValue(value, parameter);
	// `char` flags (OPENED, EXPORT…) are Y/N in Bitrix24, not 1/0.
	if (field.type === 'char' && (typeof value === 'boolean' || /^(true|false|1|0|yes|no)$/i.test(String(value)))) {
		return value === true || /^(true|1|yes)$/i.test(String(value)) ? 'Y' : 'N';
	}
	if (field.multiple && typeof value === 'string' && field.items?.length) {
		return checkEnum(field, value.split(',').map((v) => v.trim()).filter(Boolean), parameter);
	}
	return checkEnum(field, value, parameter);
}

/**
 * Checks the fields of a create/update against `*.fields`: unknown and read-only fields are named, required
 * fields missing on create are named, list values must be one of the list's IDs, multi-fields are converted.
 */
export function recordFields(fields: Map<string, Bitrix24Field>, values: IDataObject, mode: 'create' | 'update', entityName: string): IDataObject {
	const out: IDataObject = {};
	for (const [name, value] of Object.entries(values)) {
		if (value === undefined || value === null) continue;
		const parameter = `fields.${name}`;
		const field = fields.get(name);
		if (fields.size && !field) {
			const known = [...fields.keys()].slice(0, 25).join(', ');
			throw new FieldError(parameter, `"${name}" is not a field of ${entityName} (known fields: ${known}${fields.size > 25 ? ', …' : ''})`);
		}
		if (field?.readOnly) throw new FieldError(parameter, `is read-only in ${entityName}`);
		out[name] = (field ? fieldValue(field, value, parameter) : value) as IDataObject[string];
	}
	if (mode === 'create') {
		const missing = [...fields.values()].filter((f) => f.required && !f.readOnly && (out[f.name] === undefined || out[f.name] === ''));
		if (missing.length) {
			throw new FieldError(`fields.${missing[0].name}`, `is required for a new ${entityName}${missing.length > 1 ? ` (also missing: ${missing.slice(1).map((f) => f.name).join(', ')})` : ''}`);
		}
	}
	if (!Object.keys(out).length) throw new FieldError('fields', 'give at least one field to send');
	return out;
}
