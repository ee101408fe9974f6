import type { IDataObject, IHookFunctions, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { settle } from '../common/errors';
import { secretsEqual } from '../common/secrets';
import { entityEventOptions, fetchRecordOption } from '../common/ui';
import { ignoreDelivery, rejectDelivery } from '../common/webhook';
import { readRecord } from './operations';
import { resourceOf } from './resources';
import { SalesManClient } from './transport';

/** Events SalesMan fires (developer/events.php), and the ID key and method of each entity. */
const ENTITIES: Record<string, { idKey: string; method: string; events: string[] }> = {
	client: { idKey: 'clid', method: 'client', events: ['add', 'edit', 'delete'] },
	person: { idKey: 'pid', method: 'person', events: ['add', 'edit', 'delete'] },
	deal: { idKey: 'did', method: 'deal', events: ['add', 'edit', 'change.step', 'close', 'change.user', 'delete'] },
	lead: { idKey: 'id', method: 'lead', events: ['add'] },
	task: { idKey: 'id', method: 'task', events: ['add', 'edit', 'doit', 'delete'] },
};
const LABELS: Record<string, string> = { add: 'Created', edit: 'Updated', delete: 'Deleted', 'change.step': 'Stage Changed', close: 'Closed', 'change.user': 'Responsible Changed', doit: 'Done' };

/** Shortest secret accepted: the URL is the only proof a delivery came from SalesMan (it signs nothing). */
const MIN_SECRET = 16;

export class SalesManTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'SalesMan CRM Trigger',
		name: 'salesManTrigger',
		icon: { light: 'file:salesman.svg', dark: 'file:salesman.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Starts the workflow on SalesMan CRM webhooks (client, person, deal, lead, task events)',
		defaults: { name: 'SalesMan CRM Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'salesManApi', required: true }],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'salesman' }],
		properties: [
			{
				displayName:
					'In SalesMan (Settings → Webhooks) add this node\'s Production URL followed by ?secret= and the Secret below, e.g. https://n8n.example.com/webhook/…/salesman?secret=…, and tick the events',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Secret',
				name: 'secret',
				type: 'string',
				typeOptions: { password: true },
				required: true,
				default: '',
				description:
					'A long random text (at least 16 characters) that you also put in the URL: SalesMan signs nothing, so deliveries without it are refused',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: entityEventOptions(
					Object.fromEntries(Object.entries(ENTITIES).map(([entity, { events }]) => [entity, events])),
					(entity, event) => `${entity}.${event}`,
					LABELS,
				),
				default: [],
			},
			fetchRecordOption('Whether to read the whole record with "info" (SalesMan delivers only IDs)'),
		],
	};

	/**
	 * SalesMan's webhooks are set by its administrator in the CRM (no API registers them), so there is nothing to
	 * create remotely. Activation still checks the secret, so a weak one fails there instead of at every delivery.
	 */
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const secret = String(this.getNodeParameter('secret', '') ?? '').trim();
				if (secret.length < MIN_SECRET) {
					throw new NodeOperationError(this.getNode(), `Secret: give at least ${MIN_SECRET} characters; it is the only proof a delivery comes from SalesMan`);
				}
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const secret = String(this.getNodeParameter('secret', '') ?? '').trim();
		if (secret.length < MIN_SECRET) return rejectDelivery(this, 401, `the trigger needs a secret of at least ${MIN_SECRET} characters`);
		// n8n's query parser can hand over an object or array (?secret[x]=…): only a plain string can be the secret.
		const given = (this.getQueryData() as IDataObject).secret;
		if (typeof given !== 'string' || !secretsEqual(given, secret)) return rejectDelivery(this, 401, 'wrong or missing secret');
		const body = this.getBodyData() as IDataObject;
		const event = typeof body?.event === 'string' ? body.event : '';
		const [entity, ...rest] = event.split('.');
		const spec = Object.hasOwn(ENTITIES, entity) ? ENTITIES[entity] : undefined;
		if (!spec || !rest.length) return rejectDelivery(this, 400, 'not a SalesMan event');
		if (!(this.getNodeParameter('events') as string[]).includes(event)) return ignoreDelivery(this);

		const rawId = body[spec.idKey];
		const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined;
		const item: IDataObject = { event, entity, action: rest.join('.'), id, data: body };
		if (this.getNodeParameter('fetchRecord', false) && id && !event.endsWith('.delete')) {
			const fetched = await settle((async () => await readRecord(await SalesManClient.fromContext(this), resourceOf(spec.method), Number(id)))());
			if (fetched.ok) item.record = fetched.value;
			else item.recordError = (fetched.error as Error).message;
		}
		return { workflowData: [this.helpers.returnJsonArray([item])] };
	}
}
