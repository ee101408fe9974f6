import type {
	IDataObject,
	IHookFunctions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { crmCodeOf, settle } from '../common/errors';
import { secretsEqual } from '../common/secrets';
import { fetchRecordOption } from '../common/ui';
import { ignoreDelivery, readFormDelivery, rejectDelivery } from '../common/webhook';
import type { Bitrix24Authentication } from './transport';
import { Bitrix24Client, credentialTypeOf } from './transport';

/** The events offered, and how to fetch the record each one is about. */
const EVENTS: Array<{ value: string; name: string; fetch?: { method: string; idParam: string; wrap?: string } }> = [
	...(['LEAD', 'DEAL', 'CONTACT', 'COMPANY'] as const).flatMap((entity) => {
		const label = entity.charAt(0) + entity.slice(1).toLowerCase();
		const fetch = { method: `crm.${entity.toLowerCase()}.get`, idParam: 'id' };
		return [
			{ value: `ONCRM${entity}ADD`, name: `${label} Created`, fetch },
			{ value: `ONCRM${entity}UPDATE`, name: `${label} Updated`, fetch },
			{ value: `ONCRM${entity}DELETE`, name: `${label} Deleted` },
		];
	}),
	{ value: 'ONCRMDYNAMICITEMADD', name: 'Smart Process Item Created', fetch: { method: 'crm.item.get', idParam: 'id', wrap: 'item' } },
	{ value: 'ONCRMDYNAMICITEMUPDATE', name: 'Smart Process Item Updated', fetch: { method: 'crm.item.get', idParam: 'id', wrap: 'item' } },
	{ value: 'ONCRMDYNAMICITEMDELETE', name: 'Smart Process Item Deleted' },
	{ value: 'ONTASKADD', name: 'Task Created', fetch: { method: 'tasks.task.get', idParam: 'taskId', wrap: 'task' } },
	{ value: 'ONTASKUPDATE', name: 'Task Updated', fetch: { method: 'tasks.task.get', idParam: 'taskId', wrap: 'task' } },
	{ value: 'ONTASKDELETE', name: 'Task Deleted' },
];

const hostOf = (url: string) => {
	try {
		return new URL(url).host.toLowerCase();
	} catch {
		return '';
	}
};

/** A delivered value that must be text. Anything else (an object, a list: a forged JSON body) is not read. */
const textOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** A delivered object (a form's nested keys, or a JSON object); anything else reads as empty. */
const objectOf = (value: unknown): IDataObject => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as IDataObject) : {});

/** The record id a delivery is about: `data[FIELDS][ID]` (CRM) or `data[FIELDS_AFTER][ID]` (tasks). */
function deliveredId(data: IDataObject): string | undefined {
	const fields = objectOf(data.FIELDS ?? data.FIELDS_AFTER ?? data.FIELDS_BEFORE);
	const id = fields.ID ?? fields.id;
	return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? String(id) : undefined;
}

export class Bitrix24Trigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Bitrix24 Trigger',
		name: 'bitrix24Trigger',
		icon: { light: 'file:bitrix24.svg', dark: 'file:bitrix24.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Starts the workflow on Bitrix24 events (lead, deal, contact, company, smart process, task)',
		defaults: { name: 'Bitrix24 Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'bitrix24WebhookApi', required: true, displayOptions: { show: { authentication: ['webhook'] } } },
			{ name: 'bitrix24OAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'bitrix24' }],
		properties: [
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{ name: 'Inbound Webhook (Paste URL Into an Outbound Webhook)', value: 'webhook' },
					{ name: 'OAuth2 (Registers Itself With Event.bind)', value: 'oAuth2' },
				],
				default: 'webhook',
			},
			{
				displayName:
					'In Bitrix24 open Developer resources → Other → Outbound webhook, paste this node\'s Production URL (above), tick the same events, save, and copy the application token it shows into Application Token below',
				name: 'outboundNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { authentication: ['webhook'] } },
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: EVENTS.map(({ value, name }) => ({ value, name })),
				default: [],
			},
			{
				displayName: 'Application Token',
				name: 'applicationToken',
				type: 'string',
				typeOptions: { password: true },
				default: '',
				description:
					'The token Bitrix24 sends as auth[application_token] with every event (shown by the outbound webhook; for an OAuth app, the one it received at installation). Deliveries with another token, or any delivery while this is empty, are refused.',
			},
			fetchRecordOption('Whether to read the whole record for the ID delivered (Bitrix24 sends only the ID)'),
		],
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				if (this.getNodeParameter('authentication') !== 'oAuth2') return true;
				const url = this.getNodeWebhookUrl('default');
				const events = this.getNodeParameter('events') as string[];
				const client = await Bitrix24Client.fromContext(this, 'oAuth2');
				const { result } = await client.call<Array<{ event: string; handler: string }>>('event.get', {});
				const bound = new Set((result ?? []).filter((b) => b.handler === url).map((b) => b.event.toUpperCase()));
				return events.every((event) => bound.has(event));
			},
			async create(this: IHookFunctions): Promise<boolean> {
				if (this.getNodeParameter('authentication') !== 'oAuth2') return true;
				const handler = this.getNodeWebhookUrl('default');
				const client = await Bitrix24Client.fromContext(this, 'oAuth2');
				for (const event of this.getNodeParameter('events') as string[]) {
					const bound = await settle(client.call('event.bind', { event, handler }, true));
					// Bitrix24 refuses a second identical binding; that binding is what we want.
					if (!bound.ok && !/already/i.test(String((bound.error as Error).message))) throw bound.error;
				}
				this.getWorkflowStaticData('node').boundEvents = this.getNodeParameter('events') as string[];
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				if (this.getNodeParameter('authentication') !== 'oAuth2') return true;
				const handler = this.getNodeWebhookUrl('default');
				const staticData = this.getWorkflowStaticData('node');
				const events = (staticData.boundEvents as string[] | undefined) ?? (this.getNodeParameter('events') as string[]);
				const client = await Bitrix24Client.fromContext(this, 'oAuth2');
				for (const event of events) {
					const unbound = await settle(client.call('event.unbind', { event, handler }, true));
					if (!unbound.ok && crmCodeOf(unbound.error) !== 'ERROR_EVENT_NOT_FOUND') return false;
				}
				delete staticData.boundEvents;
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const authentication = this.getNodeParameter('authentication') as Bitrix24Authentication;
		const payload = objectOf(readFormDelivery(this));
		// Every delivered value is checked for its type before it is used: a JSON body can make any of them an
		// object (one whose toString is not a function makes String() throw).
		const auth = objectOf(payload.auth);
		// member_id and the domain are not secret: the application token is what proves a delivery came from the portal.
		const expectedToken = (textOf(this.getNodeParameter('applicationToken', '')) ?? '').trim();
		if (!expectedToken) return rejectDelivery(this, 401, 'the trigger has no application token configured');
		const givenToken = textOf(auth.application_token);
		if (givenToken === undefined || !secretsEqual(givenToken, expectedToken)) {
			return rejectDelivery(this, 401, 'application token does not match');
		}
		const credentials = await this.getCredentials(credentialTypeOf(authentication));
		const portal = textOf(authentication === 'webhook' ? credentials.webhookUrl : credentials.portalUrl) ?? '';
		const domain = textOf(auth.domain);
		if (domain === undefined || domain.toLowerCase() !== hostOf(portal)) return rejectDelivery(this, 403, 'delivery is from another portal');
		const memberId = (credentials.oauthTokenData as IDataObject | undefined)?.member_id;
		if (memberId !== undefined && memberId !== null && textOf(auth.member_id) !== String(memberId)) return rejectDelivery(this, 403, 'delivery is from another portal');

		const event = (textOf(payload.event) ?? '').toUpperCase();
		if (!event) return rejectDelivery(this, 400, 'not a Bitrix24 event');
		if (!(this.getNodeParameter('events') as string[]).includes(event)) return ignoreDelivery(this);

		const data = objectOf(payload.data);
		const id = deliveredId(data);
		const item: IDataObject = {
			event,
			id,
			data,
			ts: payload.ts,
			eventHandlerId: payload.event_handler_id,
			domain: auth.domain,
			memberId: auth.member_id,
		};
		const fetch = EVENTS.find((e) => e.value === event)?.fetch;
		if (this.getNodeParameter('fetchRecord', false) && fetch && id) {
			// Bitrix24 does not resend an event: if the record cannot be read (already deleted, no rights),
			// the event still starts the workflow, with the reason.
			const deliveredType = objectOf(data.FIELDS).ENTITY_TYPE_ID;
			const entityTypeId = typeof deliveredType === 'string' || typeof deliveredType === 'number' ? deliveredType : undefined;
			const fetched = await settle(
				(async () => {
					const client = await Bitrix24Client.fromContext(this, authentication);
					return await client.call<IDataObject>(fetch.method, { [fetch.idParam]: id, ...(entityTypeId ? { entityTypeId } : {}) });
				})(),
			);
			if (fetched.ok) item.record = (fetch.wrap ? fetched.value.result?.[fetch.wrap] : fetched.value.result) as IDataObject;
			else {
				item.record = null;
				item.recordError = (fetched.error as Error).message;
			}
		}
		return { workflowData: [this.helpers.returnJsonArray([item])] };
	}
}
