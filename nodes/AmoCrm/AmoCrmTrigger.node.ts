import type { IDataObject, IHookFunctions, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes, sleep } from 'n8n-workflow';
import { settle } from '../common/errors';
import { newSecret, secretsEqual } from '../common/secrets';
import { entityEventOptions, fetchRecordOption } from '../common/ui';
import { ignoreDelivery, readFormDelivery, rejectDelivery } from '../common/webhook';
import type { AmoCrmAuthentication } from './transport';
import { AmoCrmClient } from './transport';

/** Webhook settings amoCRM offers, per entity. */
const ENTITY_EVENTS: Record<string, string[]> = {
	lead: ['add', 'update', 'status', 'responsible', 'note', 'delete'],
	contact: ['add', 'update', 'responsible', 'note', 'delete'],
	company: ['add', 'update', 'responsible', 'note', 'delete'],
	task: ['add', 'update', 'delete'],
};
const ACTION_LABELS: Record<string, string> = { add: 'Created', update: 'Updated', status: 'Status Changed', responsible: 'Responsible Changed', note: 'Note Added', delete: 'Deleted' };
const API_PATH: Record<string, string> = { lead: 'leads', contact: 'contacts', company: 'companies', task: 'tasks' };

/**
 * A delivered value as text, or `undefined` when it is not a plain value: n8n's query parser (qs) and JSON bodies
 * can hand over objects and lists (`?s[toString]=1`), which String() may even fail to convert.
 */
function scalar(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** amoCRM retries and finally disables a webhook that does not answer within 2 s: fetching stops before. */
const FETCH_BUDGET_MS = 1200;

/**
 * One item per entity event in a delivery. Deliveries use the old v2 names: `leads[add][0][id]`,
 * `contacts[update][0][type]=company` for companies, `task[add][0]` for tasks.
 */
function eventsOf(payload: IDataObject): Array<{ event: string; entity: string; action: string; id?: string; data: IDataObject }> {
	const out: Array<{ event: string; entity: string; action: string; id?: string; data: IDataObject }> = [];
	for (const [group, entityOf] of [
		['leads', () => 'lead'],
		['contacts', (data: IDataObject) => (data.type === 'company' ? 'company' : 'contact')],
		['companies', () => 'company'],
		['task', () => 'task'],
		['tasks', () => 'task'],
	] as Array<[string, (data: IDataObject) => string]>) {
		const actions = payload[group];
		if (!actions || typeof actions !== 'object') continue;
		for (const [action, list] of Object.entries(actions as IDataObject)) {
			const records = Array.isArray(list) ? (list as IDataObject[]) : list && typeof list === 'object' ? (Object.values(list) as IDataObject[]) : [];
			for (const data of records) {
				if (!data || typeof data !== 'object') continue;
				const entity = entityOf(data);
				const note = data.note && typeof data.note === 'object' ? (data.note as IDataObject) : undefined;
				out.push({ event: `${action}_${entity}`, entity, action, id: scalar(data.id ?? note?.element_id), data });
			}
		}
	}
	return out;
}

export class AmoCrmTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'amoCRM / Kommo Trigger',
		name: 'amoCrmTrigger',
		icon: { light: 'file:amocrm.svg', dark: 'file:amocrm.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Starts the workflow on amoCRM / Kommo events; registers its webhook on activation and removes it on deactivation',
		defaults: { name: 'amoCRM Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'amoCrmApi', required: true, displayOptions: { show: { authentication: ['longLivedToken'] } } },
			{ name: 'amoCrmOAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'amocrm' }],
		properties: [
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{ name: 'Long-Lived Token (Recommended)', value: 'longLivedToken' },
					{ name: 'OAuth2', value: 'oAuth2' },
				],
				default: 'longLivedToken',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: entityEventOptions(ENTITY_EVENTS, (entity, action) => `${action}_${entity}`, ACTION_LABELS),
				default: [],
			},
			fetchRecordOption('Whether to read the v4 record for each delivered ID (within the 2 seconds amoCRM waits for an answer)'),
		],
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				if (!staticData.secret) return false;
				const client = await AmoCrmClient.fromContext(this);
				const { body } = await client.request({ method: 'GET', path: '/webhooks' });
				const hooks = ((body?._embedded as IDataObject | undefined)?.webhooks ?? []) as Array<{ destination: string; settings: string[] }>;
				const wanted = new Set(this.getNodeParameter('events') as string[]);
				return hooks.some((hook) => hook.destination === staticData.destination && hook.settings.length === wanted.size && hook.settings.every((s) => wanted.has(s)));
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				const client = await AmoCrmClient.fromContext(this);
				// The destination carries a secret only this workflow knows: amoCRM signs nothing, so the URL is the proof.
				const secret = newSecret();
				const destination = `${this.getNodeWebhookUrl('default')}?s=${secret}`;
				const { body: account } = await client.request({ method: 'GET', path: '/account' });
				await client.request({ method: 'POST', path: '/webhooks', body: { destination, settings: this.getNodeParameter('events') as string[] } });
				Object.assign(staticData, { secret, destination, accountId: String(account?.id ?? ''), subdomain: String(account?.subdomain ?? '') });
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				if (!staticData.destination) return true;
				const client = await AmoCrmClient.fromContext(this);
				const removed = await settle(client.request({ method: 'DELETE', path: '/webhooks', body: { destination: staticData.destination } }));
				if (!removed.ok && !/404|not found/i.test(String((removed.error as Error).message))) return false;
				for (const key of ['secret', 'destination', 'accountId', 'subdomain']) delete staticData[key];
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const staticData = this.getWorkflowStaticData('node');
		// Only a plain string can be the secret (an object or a list from the query parser is refused, not converted).
		const given = (this.getQueryData() as IDataObject).s;
		if (typeof given !== 'string' || !secretsEqual(given, staticData.secret as string | undefined)) return rejectDelivery(this, 401, 'unknown webhook secret');
		const payload = readFormDelivery(this);
		const account = (payload.account && typeof payload.account === 'object' ? payload.account : {}) as IDataObject;
		// Missing reads as '' (as stored when amoCRM named none); an object or a list is never the account.
		const accountId = account.id === undefined || account.id === null ? '' : scalar(account.id);
		const subdomain = account.subdomain === undefined || account.subdomain === null ? '' : scalar(account.subdomain);
		if (accountId === undefined || subdomain === undefined || accountId !== String(staticData.accountId ?? '') || subdomain.toLowerCase() !== String(staticData.subdomain ?? '').toLowerCase()) {
			return rejectDelivery(this, 403, 'delivery is from another account');
		}
		const chosen = new Set(this.getNodeParameter('events') as string[]);
		const events = eventsOf(payload).filter((e) => chosen.has(e.event));
		if (!events.length) return ignoreDelivery(this);

		const items: IDataObject[] = events.map((e) => ({ event: e.event, entity: e.entity, action: e.action, id: e.id, account: { id: account.id, subdomain: account.subdomain }, data: e.data }));
		if (this.getNodeParameter('fetchRecord', false)) {
			const client = await AmoCrmClient.fromContext(this, this.getNodeParameter('authentication') as AmoCrmAuthentication);
			const fetches = items.map(async (item, index) => {
				const event = events[index];
				if (event.action === 'delete' || !event.id) return;
				const got = await settle(client.request({ method: 'GET', path: `/${API_PATH[event.entity]}/${event.id}` }));
				if (got.ok) item.record = (got.value.body ?? null) as IDataObject;
				else item.recordError = (got.error as Error).message;
			});
			const done = await Promise.race([Promise.all(fetches).then(() => true), sleep(FETCH_BUDGET_MS).then(() => false)]);
			if (!done) for (const item of items) if (item.record === undefined && item.recordError === undefined) item.recordError = 'not fetched within the 2 seconds amoCRM waits for an answer';
		}
		// Copies: a fetch still running after the budget must not change what the workflow received.
		return { workflowData: [this.helpers.returnJsonArray(items.map((item) => ({ ...item })))] };
	}
}
