import type { IDataObject } from 'n8n-workflow';
import { crmCodeOf, FieldError, settle } from '../common/errors';
import { ExpiringCache } from '../common/keyed';
import { SYSTEM_FIELDS } from './resources';
import type { VtigerClient } from './transport';

/** Module metadata from `describe`, cached per account for a few minutes (fields rarely change). */

export interface VtigerFieldType {
	name: string;
	picklistValues?: Array<{ label: string; value: string }>;
	refersTo?: string[];
	format?: string;
}

export interface VtigerField {
	name: string;
	label: string;
	mandatory: boolean;
	editable: boolean;
	type: VtigerFieldType;
	default?: string;
}

export interface VtigerModule {
	name: string;
	label: string;
	idPrefix?: string;
	fields: VtigerField[];
	byName: Map<string, VtigerField>;
}

const DESCRIBE_TTL_MS = 5 * 60_000;
const describes = new ExpiringCache<VtigerModule>();

export async function describeModule(client: VtigerClient, module: string): Promise<VtigerModule> {
	const name = String(module ?? '').trim();
	if (!name) throw new FieldError('module', 'choose a module');
	const key = `${client.accountKey}\u0000${name}`;
	const cached = describes.get(key);
	if (cached) return cached;
	const outcome = await settle(client.call<IDataObject>('describe', { elementType: name }));
	if (!outcome.ok) {
		const code = crmCodeOf(outcome.error);
		if (code === 'ACCESS_DENIED' || code === 'INVALID_MODULE') {
			throw new FieldError('module', `"${name}" is not a Vtiger module this user can access (${code})`);
		}
		throw outcome.error;
	}
	const raw = outcome.value;
	const fields = ((raw.fields as IDataObject[]) ?? []).map(
		(field): VtigerField => ({
			name: String(field.name),
			label: String(field.label ?? field.name),
			mandatory: field.mandatory === true || field.mandatory === 'true',
			editable: field.editable !== false && field.editable !== 'false' && !SYSTEM_FIELDS.has(String(field.name)),
			type: (field.type as unknown as VtigerFieldType) ?? { name: 'string' },
			default: field.default === undefined || field.default === null ? undefined : String(field.default),
		}),
	);
	const described: VtigerModule = {
		name,
		label: String(raw.label ?? name),
		idPrefix: raw.idPrefix === undefined ? undefined : String(raw.idPrefix),
		fields,
		byName: new Map(fields.map((field) => [field.name, field])),
	};
	describes.set(key, described, DESCRIBE_TTL_MS);
	return described;
}

export function fieldOf(module: VtigerModule, name: string, parameter: string): VtigerField {
	const field = module.byName.get(name);
	if (!field) {
		const known = module.fields.map((f) => f.name).slice(0, 25).join(', ');
		throw new FieldError(parameter, `"${name}" is not a field of ${module.name} (known fields: ${known}${module.fields.length > 25 ? ', …' : ''})`);
	}
	return field;
}

export const WEBSERVICE_ID = /^\d+x\d+$/;

export function checkId(value: unknown, parameter: string): string {
	const id = String(value ?? '').trim();
	if (!WEBSERVICE_ID.test(id)) {
		throw new FieldError(parameter, `"${id}" is not a Vtiger record ID; IDs look like 11x123 (module prefix, "x", record number)`);
	}
	return id;
}

const pad = (n: number) => String(n).padStart(2, '0');

function toVtigerDate(value: unknown, withTime: boolean, parameter: string): string {
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/.test(value.trim())) return value.trim();
	const date = value instanceof Date ? value : new Date(String(value));
	if (Number.isNaN(date.getTime())) throw new FieldError(parameter, `"${String(value)}" is not a date; use YYYY-MM-DD${withTime ? ' HH:MM:SS' : ''}`);
	const day = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
	return withTime ? `${day} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` : day;
}

/**
 * Checks one value against the module's metadata and converts it to what Vtiger stores:
 * dates as YYYY-MM-DD, booleans as 1/0, references as webservice IDs, picklists from their list.
 */
export function toVtigerValue(field: VtigerField, value: unknown, parameter: string): unknown {
	if (value === '' || value === null) return '';
	switch (field.type.name) {
		case 'boolean':
			if (typeof value === 'boolean') return value ? '1' : '0';
			if (['1', 'true', 'yes', 'on'].includes(String(value).toLowerCase())) return '1';
			if (['0', 'false', 'no', 'off'].includes(String(value).toLowerCase())) return '0';
			throw new FieldError(parameter, `"${String(value)}" is not a yes/no value`);
		case 'date':
			return toVtigerDate(value, false, parameter);
		case 'datetime':
			return toVtigerDate(value, true, parameter);
		case 'integer':
		case 'double':
		case 'currency': {
			const number = typeof value === 'number' ? value : Number(String(value).trim());
			if (!Number.isFinite(number)) throw new FieldError(parameter, `"${String(value)}" is not a number`);
			return number;
		}
		case 'reference':
		case 'owner':
			return checkId(value, parameter);
		case 'picklist': {
			const allowed = field.type.picklistValues?.map((option) => option.value) ?? [];
			if (allowed.length && !allowed.includes(String(value))) {
				throw new FieldError(parameter, `"${String(value)}" is not a value of this picklist (allowed: ${allowed.join(', ')})`);
			}
			return String(value);
		}
		case 'multipicklist':
			return Array.isArray(value) ? value.map(String).join(' |##| ') : String(value);
		default:
			return typeof value === 'object' ? JSON.stringify(value) : value;
	}
}

/**
 * Validates and converts the fields of a create or update: unknown and read-only fields are refused,
 * each named; on create, missing mandatory fields are named before anything is sent.
 */
export function recordElement(
	module: VtigerModule,
	values: IDataObject,
	mode: 'create' | 'update',
	defaults: { assignedUserId: string },
): IDataObject {
	const element: IDataObject = {};
	for (const [name, value] of Object.entries(values)) {
		if (value === undefined || value === null) continue;
		const parameter = `fields.${name}`;
		const field = fieldOf(module, name, parameter);
		if (!field.editable) throw new FieldError(parameter, `is read-only in ${module.name}; Vtiger sets it itself`);
		element[name] = toVtigerValue(field, value, parameter) as IDataObject[string];
	}
	if (mode === 'create') {
		if (module.byName.has('assigned_user_id') && (element.assigned_user_id === undefined || element.assigned_user_id === '')) {
			element.assigned_user_id = defaults.assignedUserId;
		}
		const missing = module.fields.filter(
			(field) => field.mandatory && field.editable && (element[field.name] === undefined || element[field.name] === '') && !field.default,
		);
		if (missing.length) {
			throw new FieldError(
				`fields.${missing[0].name}`,
				`is mandatory in ${module.name}` +
					(missing.length > 1 ? ` (also missing: ${missing.slice(1).map((f) => f.name).join(', ')})` : ''),
			);
		}
	}
	if (!Object.keys(element).length) throw new FieldError('fields', 'give at least one field to send');
	return element;
}
