// Small builders for the workflow JSON the e2e tests import into a real n8n.
import { randomUUID } from 'crypto';

export interface WfNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
	continueOnFail?: boolean;
	onError?: string;
}

export const manualTrigger = (name = 'Manual'): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-base.manualTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
});

export const noOp = (name = 'NoOp'): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-base.noOp',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
});

export const vtiger = (name: string, parameters: Record<string, unknown>, cred: { id: string; name: string }, extra: Partial<WfNode> = {}): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-crm-suite.vtiger',
	typeVersion: 1,
	position: [0, 0],
	parameters,
	credentials: { vtigerApi: cred },
	...extra,
});

export const vtigerTrigger = (name: string, parameters: Record<string, unknown>, cred: { id: string; name: string }): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-crm-suite.vtigerTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: { pollTimes: { item: [{ mode: 'everyMinute' }] }, ...parameters },
	credentials: { vtigerApi: cred },
});

/** A straight chain A → B → C… (positions laid out left to right). */
export function chain(name: string, nodes: WfNode[]) {
	const connections: Record<string, { main: Array<Array<{ node: string; type: string; index: number }>> }> = {};
	nodes.forEach((n, i) => {
		n.position = [i * 220, 0];
		if (i + 1 < nodes.length) connections[n.name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	});
	return { name, nodes, connections, active: false, settings: { executionOrder: 'v1' } };
}

/** The resource-mapper value the Vtiger node's `fields` parameter takes. */
export const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });

/** Emits the given items (a Code node, run by n8n's JavaScript task runner). */
export const codeItems = (name: string, items: Array<Record<string, unknown>>): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-base.code',
	typeVersion: 2,
	position: [0, 0],
	parameters: { jsCode: `return ${JSON.stringify(items.map((json) => ({ json })))};` },
});

type CredRef = { id: string; name: string };
/** Which credential a Bitrix24 node uses: the inbound webhook or the OAuth2 application. */
export type Bitrix24Cred = { webhook: CredRef } | { oAuth2: CredRef };
const bitrix24Credentials = (cred: Bitrix24Cred): { authentication: string; credentials: Record<string, CredRef> } =>
	'webhook' in cred
		? { authentication: 'webhook', credentials: { bitrix24WebhookApi: cred.webhook } }
		: { authentication: 'oAuth2', credentials: { bitrix24OAuth2Api: cred.oAuth2 } };

export const bitrix24 = (name: string, parameters: Record<string, unknown>, cred: Bitrix24Cred, extra: Partial<WfNode> = {}): WfNode => {
	const { authentication, credentials } = bitrix24Credentials(cred);
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-crm-suite.bitrix24',
		typeVersion: 1,
		position: [0, 0],
		parameters: { authentication, ...parameters },
		credentials,
		...extra,
	};
};

/** A Bitrix24 Trigger; its production URL is `${baseUrl}/webhook/${webhookId}/bitrix24`. */
export const bitrix24Trigger = (name: string, parameters: Record<string, unknown>, cred: Bitrix24Cred, webhookId = randomUUID()): WfNode => {
	const { authentication, credentials } = bitrix24Credentials(cred);
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-crm-suite.bitrix24Trigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: { authentication, ...parameters },
		credentials,
		webhookId,
	};
};

/** Which credential an amoCRM node uses: the long-lived token or the OAuth2 integration. */
export type AmoCrmCred = { longLivedToken: CredRef } | { oAuth2: CredRef };
const amoCrmCredentials = (cred: AmoCrmCred): { authentication: string; credentials: Record<string, CredRef> } =>
	'longLivedToken' in cred
		? { authentication: 'longLivedToken', credentials: { amoCrmApi: cred.longLivedToken } }
		: { authentication: 'oAuth2', credentials: { amoCrmOAuth2Api: cred.oAuth2 } };

export const amoCrm = (name: string, parameters: Record<string, unknown>, cred: AmoCrmCred, extra: Partial<WfNode> = {}): WfNode => {
	const { authentication, credentials } = amoCrmCredentials(cred);
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-crm-suite.amoCrm',
		typeVersion: 1,
		position: [0, 0],
		parameters: { authentication, ...parameters },
		credentials,
		...extra,
	};
};

/** An amoCRM Trigger; its production URL is `${baseUrl}/webhook/${webhookId}/amocrm`. */
export const amoCrmTrigger = (name: string, parameters: Record<string, unknown>, cred: AmoCrmCred, webhookId = randomUUID()): WfNode => {
	const { authentication, credentials } = amoCrmCredentials(cred);
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-crm-suite.amoCrmTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: { authentication, ...parameters },
		credentials,
		webhookId,
	};
};

/** A SalesMan CRM node (credential `salesManApi`). */
export const salesMan = (name: string, parameters: Record<string, unknown>, cred: CredRef, extra: Partial<WfNode> = {}): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-crm-suite.salesMan',
	typeVersion: 1,
	position: [0, 0],
	parameters,
	credentials: { salesManApi: cred },
	...extra,
});

/** A SalesMan CRM Trigger; its production URL is `${baseUrl}/webhook/${webhookId}/salesman` (SalesMan calls it with `?secret=`). */
export const salesManTrigger = (name: string, parameters: Record<string, unknown>, cred: CredRef, webhookId = randomUUID()): WfNode => ({
	id: randomUUID(),
	name,
	type: 'n8n-nodes-crm-suite.salesManTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters,
	credentials: { salesManApi: cred },
	webhookId,
});
