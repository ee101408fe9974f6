import type { FieldType, IDataObject, ILoadOptionsFunctions, INodePropertyOptions, ResourceMapperField, ResourceMapperFields } from 'n8n-workflow';
import type { Bitrix24Field } from './metadata';
import { fieldsOf, MULTI_FIELD_TYPE } from './metadata';
import { entityOf } from './resources';
import { Bitrix24Client } from './transport';

/** Pickers and the resource mapper, loaded live from the portal. */

const TYPES: Record<string, FieldType> = {
	integer: 'number',
	double: 'number',
	char: 'boolean',
	boolean: 'boolean',
	enumeration: 'options',
	crm_status: 'options',
	crm_category: 'options',
	user: 'options',
};

async function client(ctx: ILoadOptionsFunctions) {
	return await Bitrix24Client.fromContext(ctx);
}

async function entityFields(ctx: ILoadOptionsFunctions) {
	const entity = entityOf(ctx.getNodeParameter('resource', 'lead') as string);
	const entityTypeId = entity.needsEntityTypeId ? Number(ctx.getNodeParameter('entityTypeId', 0)) || undefined : undefined;
	if (entity.needsEntityTypeId && !entityTypeId) return { entity, fields: new Map<string, Bitrix24Field>() };
	return { entity, fields: await fieldsOf(await client(ctx), entity, entityTypeId) };
}

async function statuses(ctx: ILoadOptionsFunctions, entityId: string): Promise<INodePropertyOptions[]> {
	const { result } = await (await client(ctx)).call<IDataObject[]>('crm.status.list', { filter: { ENTITY_ID: entityId }, order: { SORT: 'ASC' } });
	return (result ?? []).map((status) => ({ name: String(status.NAME), value: String(status.STATUS_ID) }));
}

async function users(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { result } = await (await client(ctx)).call<IDataObject[]>('user.get', { FILTER: { ACTIVE: true }, SORT: 'ID', ORDER: 'ASC' });
	return (result ?? []).map((user) => ({
		name: `${[user.NAME, user.LAST_NAME].filter(Boolean).join(' ') || String(user.EMAIL ?? user.ID)} (${String(user.ID)})`,
		value: String(user.ID),
	}));
}

async function pipelines(ctx: ILoadOptionsFunctions, entityTypeId = 2): Promise<INodePropertyOptions[]> {
	const { result } = await (await client(ctx)).call<{ categories?: IDataObject[] }>('crm.category.list', { entityTypeId });
	return (result?.categories ?? []).map((category) => ({ name: String(category.name), value: String(category.id) }));
}

async function optionsFor(ctx: ILoadOptionsFunctions, field: Bitrix24Field, cache: Map<string, INodePropertyOptions[]>): Promise<INodePropertyOptions[] | undefined> {
	const key = field.type === 'crm_status' ? `status:${field.statusType}` : field.type;
	if (cache.has(key)) return cache.get(key);
	let options: INodePropertyOptions[] | undefined;
	if (field.items?.length) return field.items.map((item) => ({ name: String(item.VALUE), value: String(item.ID) }));
	if (field.type === 'crm_status' && field.statusType) options = await statuses(ctx, field.statusType);
	else if (field.type === 'crm_category') options = await pipelines(ctx);
	else if (field.type === 'user') options = await users(ctx);
	if (options) cache.set(key, options);
	return options;
}

async function mapper(ctx: ILoadOptionsFunctions, mode: 'create' | 'update'): Promise<ResourceMapperFields> {
	const { fields } = await entityFields(ctx);
	const cache = new Map<string, INodePropertyOptions[]>();
	const out: ResourceMapperField[] = [];
	for (const field of fields.values()) {
		if (field.readOnly) continue;
		const options = TYPES[field.type] === 'options' || field.items?.length ? await optionsFor(ctx, field, cache) : undefined;
		const multi = field.type === MULTI_FIELD_TYPE ? ' (one or more, comma-separated)' : '';
		out.push({
			id: field.name,
			displayName: field.label === field.name ? field.name : `${field.label} (${field.name})${multi}`,
			required: mode === 'create' && field.required,
			defaultMatch: false,
			canBeUsedToMatch: false,
			display: true,
			type: options?.length && !field.multiple ? 'options' : (TYPES[field.type] === 'options' ? 'string' : (TYPES[field.type] ?? 'string')),
			options: options?.length && !field.multiple ? options : undefined,
		});
	}
	return { fields: out };
}

export const bitrix24Methods = {
	loadOptions: {
		async getSmartProcessTypes(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const { result } = await (await client(this)).call<{ types?: IDataObject[] }>('crm.type.list', {});
			return (result?.types ?? []).map((type) => ({ name: `${String(type.title)} (${String(type.entityTypeId)})`, value: Number(type.entityTypeId) }));
		},
		async getFieldNames(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const { fields } = await entityFields(this);
			return [...fields.values()].map((field) => ({ name: field.label === field.name ? field.name : `${field.label} (${field.name})`, value: field.name }));
		},
		async getPipelines(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await pipelines(this);
		},
		async getDealStages(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await statuses(this, 'DEAL_STAGE');
		},
		async getLeadStatuses(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await statuses(this, 'STATUS');
		},
		async getSources(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await statuses(this, 'SOURCE');
		},
		async getUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await users(this);
		},
	},
	resourceMapping: {
		async getCreateFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
			return await mapper(this, 'create');
		},
		async getUpdateFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
			return await mapper(this, 'update');
		},
	},
};
