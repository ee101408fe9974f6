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
