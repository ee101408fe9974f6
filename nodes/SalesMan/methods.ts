import type { IDataObject, ILoadOptionsFunctions, INodePropertyOptions, ResourceMapperFields } from 'n8n-workflow';
import { guideMethod, resourceOf } from './resources';
import { SalesManClient } from './transport';

/** Pickers and the resource mapper, loaded live from SalesMan (fields with their labels, guides, users). */

const dataOf = (body: unknown): unknown => (body && typeof body === 'object' && !Array.isArray(body) && 'data' in body ? (body as IDataObject).data : body);

async function guide(ctx: ILoadOptionsFunctions, name: string, label: (row: IDataObject) => string, value: (row: IDataObject) => string): Promise<INodePropertyOptions[]> {
	const rows = dataOf(await (await SalesManClient.fromContext(ctx)).call(guideMethod(name), name));
	const list = Array.isArray(rows) ? (rows as IDataObject[]) : Object.values((rows ?? {}) as IDataObject) as IDataObject[];
	return list.filter((row) => row && typeof row === 'object').map((row) => ({ name: label(row), value: value(row) }));
}

export const salesManMethods = {
	loadOptions: {
		async getUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const rows = dataOf(await (await SalesManClient.fromContext(this)).call('user', 'user.list'));
			return ((Array.isArray(rows) ? rows : []) as IDataObject[]).map((u) => ({ name: `${String(u.title ?? u.login)} (${String(u.login ?? u.iduser)})`, value: String(u.login ?? u.iduser) }));
		},
		async getDealSteps(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await guide(this, 'steplist', (r) => `${String(r.title ?? r.name ?? '')} (${String(r.content ?? r.percent ?? r.id ?? '')})`.trim(), (r) => String(r.title ?? r.id));
		},
		async getCategories(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await guide(this, 'category', (r) => String(r.title ?? r.name), (r) => String(r.idcategory ?? r.id));
		},
		async getSources(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await guide(this, 'clientpath', (r) => String(r.name ?? r.title), (r) => String(r.id));
		},
		async getCloseStatuses(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			return await guide(this, 'statusclose', (r) => `${String(r.title ?? r.name)}${r.result_close ? ` (${String(r.result_close)})` : ''}`, (r) => String(r.title ?? r.name));
		},
	},
	resourceMapping: {
		/** The resource's fields with SalesMan's labels; custom inputN fields show the label the account gave them. */
		async getFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
			const resource = resourceOf(this.getNodeParameter('resource', 'client') as string);
			if (resource.value === 'lead') {
				return { fields: ['title', 'clientname', 'phone', 'email', 'description', 'path', 'user'].map((id) => ({ id, displayName: id, required: id === 'title', defaultMatch: false, display: true, type: 'string' })) };
			}
			if (!resource.operations.includes('getFields')) return { fields: [] };
			const fields = dataOf(await (await SalesManClient.fromContext(this)).call(resource.method, 'fields')) as IDataObject;
			const readOnly = new Set([resource.idParam, 'uid', 'date_create', 'date_edit', 'datum', 'datum_izm']);
			return {
				fields: Object.entries(fields ?? {})
					.filter(([name, label]) => !readOnly.has(name) && typeof label === 'string')
					.map(([name, label]) => ({ id: name, displayName: /^input\d+$/.test(name) ? `${String(label)} (${name})` : String(label), required: resource.requiredOnCreate?.includes(name) ?? false, defaultMatch: false, display: true, type: 'string' as const })),
			};
		},
	},
};
