import type { FieldType, IDataObject, ILoadOptionsFunctions, INodePropertyOptions, ResourceMapperField, ResourceMapperFields } from 'n8n-workflow';
import { CUSTOM_FIELD_PREFIX, customFieldsOf } from './metadata';
import { resourceOf } from './resources';
import { AmoCrmClient } from './transport';

/** Pickers and the resource mapper, loaded live from the account. */

const client = async (ctx: ILoadOptionsFunctions) => await AmoCrmClient.fromContext(ctx);
const WON = 142;
const LOST = 143;

async function pipelines(ctx: ILoadOptionsFunctions) {
	const { body } = await (await client(ctx)).request({ method: 'GET', path: '/leads/pipelines' });
	return ((body?._embedded as IDataObject | undefined)?.pipelines ?? []) as Array<{ id: number; name: string; _embedded?: { statuses?: Array<{ id: number; name: string }> } }>;
}

const statusLabel = (status: { id: number; name: string }) => (status.id === WON ? `${status.name} (won)` : status.id === LOST ? `${status.name} (lost)` : status.name);

async function users(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { body } = await (await client(ctx)).request({ method: 'GET', path: '/users', qs: { limit: 250 } });
	return (((body?._embedded as IDataObject | undefined)?.users ?? []) as Array<{ id: number; name: string }>).map((u) => ({ name: u.name, value: u.id }));
}

async function taskTypes(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { body } = await (await client(ctx)).request({ method: 'GET', path: '/account', qs: { with: 'task_types' } });
	return (((body?._embedded as IDataObject | undefined)?.task_types ?? []) as Array<{ id: number; name: string }>).map((t) => ({ name: t.name, value: t.id }));
}

const OPTION_LOADERS = {
	getPipelines: async (ctx: ILoadOptionsFunctions) => (await pipelines(ctx)).map((p) => ({ name: p.name, value: p.id })),
	getStatuses: async (ctx: ILoadOptionsFunctions) =>
		(await pipelines(ctx)).flatMap((p) => (p._embedded?.statuses ?? []).map((s) => ({ name: `${p.name}: ${statusLabel(s)}`, value: s.id }))),
	getUsers: users,
	getTaskTypes: taskTypes,
};

const CUSTOM_TYPES: Record<string, FieldType> = { numeric: 'number', price: 'number', monetary: 'number', checkbox: 'boolean', select: 'options', radiobutton: 'options', category: 'options' };

async function mapper(ctx: ILoadOptionsFunctions, mode: 'create' | 'update'): Promise<ResourceMapperFields> {
	const resource = resourceOf(ctx.getNodeParameter('resource', 'lead') as string);
	const fields: ResourceMapperField[] = [];
	for (const field of resource.fields ?? []) {
		const options = field.options ? await OPTION_LOADERS[field.options](ctx) : undefined;
		fields.push({
			id: field.name,
			displayName: field.label,
			required: mode === 'create' && Boolean(field.requiredOnCreate),
			defaultMatch: false,
			canBeUsedToMatch: false,
			display: true,
			type: options ? 'options' : field.type === 'dateTime' ? 'dateTime' : field.type === 'options' ? 'string' : field.type,
			options,
		});
	}
	if (resource.customFieldsOf) {
		for (const field of await customFieldsOf(await client(ctx), resource.customFieldsOf)) {
			const type = CUSTOM_TYPES[field.type] ?? 'string';
			fields.push({
				id: `${CUSTOM_FIELD_PREFIX}${field.id}`,
				displayName: `${field.name} (${field.type}${field.code ? `, ${field.code}` : ''})`,
				required: false,
				defaultMatch: false,
				canBeUsedToMatch: false,
				display: true,
				type,
				options: type === 'options' ? (field.enums ?? []).map((e) => ({ name: e.value, value: e.id })) : undefined,
			});
		}
	}
	return { fields };
}

export const amoCrmMethods = {
	loadOptions: {
		async getPipelines(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await OPTION_LOADERS.getPipelines(this);
		},
		async getStatuses(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await OPTION_LOADERS.getStatuses(this);
		},
		/** "pipeline:status" pairs for the Get Many filter (amoCRM filters statuses by pair). */
		async getStatusPairs(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return (await pipelines(this)).flatMap((p) => (p._embedded?.statuses ?? []).map((s) => ({ name: `${p.name}: ${statusLabel(s)}`, value: `${p.id}:${s.id}` })));
		},
		async getUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await users(this);
		},
		async getTaskTypes(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await taskTypes(this);
		},
		async getTags(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const entityType = (this.getNodeParameter('entityType', 'leads') as string) || 'leads';
			const { body } = await (await client(this)).request({ method: 'GET', path: `/${entityType}/tags`, qs: { limit: 250 } });
			return (((body?._embedded as IDataObject | undefined)?.tags ?? []) as Array<{ id: number; name: string }>).map((t) => ({ name: t.name, value: t.name }));
		},
		async getCustomFields(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const resource = resourceOf(this.getNodeParameter('resource', 'lead') as string);
			if (!resource.customFieldsOf) return [];
			return (await customFieldsOf(await client(this), resource.customFieldsOf)).map((f) => ({ name: `${f.name} (${f.type})`, value: f.id }));
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
