/**
 * Runs our nodes inside n8n's own engine, in-process (n8n-core's WorkflowExecute, real node contexts,
 * real helpers.httpRequest), against the local emulators. See ../../../shared/notes/n8n-in-process-testing.md.
 */
import * as http from 'http';
import { randomUUID } from 'crypto';
import * as querystring from 'querystring';
import { Credentials, ExecutionLifecycleHooks, HookContext, LoadOptionsContext, PollContext, WebhookContext, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialsHelper,
	IDataObject,
	IExecuteData,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypes,
	IRun,
	IVersionedNodeType,
	IWorkflowExecuteAdditionalData,
	IConnections,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { createRunExecutionData, jsonParse, NodeHelpers, sanitizeXmlName, Workflow } from 'n8n-workflow';
import { AmoCrmApi } from '../../credentials/AmoCrmApi.credentials';
import { AmoCrm } from '../../nodes/AmoCrm/AmoCrm.node';
import { AmoCrmTrigger } from '../../nodes/AmoCrm/AmoCrmTrigger.node';
import { Bitrix24 } from '../../nodes/Bitrix24/Bitrix24.node';
import { SalesManApi } from '../../credentials/SalesManApi.credentials';
import { SalesMan } from '../../nodes/SalesMan/SalesMan.node';
import { SalesManTrigger } from '../../nodes/SalesMan/SalesManTrigger.node';
import { Bitrix24Trigger } from '../../nodes/Bitrix24/Bitrix24Trigger.node';
import { Vtiger } from '../../nodes/Vtiger/Vtiger.node';
import { VtigerTrigger } from '../../nodes/Vtiger/VtigerTrigger.node';

const PACKAGE = 'n8n-nodes-crm-suite';

const nodeClasses: Record<string, INodeType> = {
	[`${PACKAGE}.vtiger`]: new Vtiger(),
	[`${PACKAGE}.vtigerTrigger`]: new VtigerTrigger(),
	[`${PACKAGE}.bitrix24`]: new Bitrix24(),
	[`${PACKAGE}.amoCrm`]: new AmoCrm(),
	[`${PACKAGE}.salesMan`]: new SalesMan(),
	[`${PACKAGE}.salesManTrigger`]: new SalesManTrigger(),
	[`${PACKAGE}.amoCrmTrigger`]: new AmoCrmTrigger(),
	[`${PACKAGE}.bitrix24Trigger`]: new Bitrix24Trigger(),
	'n8n-nodes-base.manualTrigger': {
		description: {
			displayName: 'Manual Trigger',
			name: 'manualTrigger',
			group: ['trigger'],
			version: 1,
			description: '',
			defaults: {},
			inputs: [],
			outputs: ['main'],
			properties: [],
		},
		async execute() {
			return [[{ json: {} }]];
		},
	} as unknown as INodeType,
};

/** Adds a node type for one test or benchmark (e.g. a floor node that only replays requests through n8n's helper). */
export function registerNodeType(type: string, nodeType: INodeType): void {
	nodeClasses[type] = nodeType;
}

export const nodeTypes: INodeTypes = {
	getByName: (name) => nodeClasses[name] as INodeType | IVersionedNodeType,
	getByNameAndVersion: (name, version) => NodeHelpers.getVersionedNodeType(nodeClasses[name], version),
	getKnownTypes: () => ({}),
} as INodeTypes;

/** Credentials by type, as n8n would decrypt them. */
export type CredentialStore = Record<string, ICredentialDataDecryptedObject>;

/** Credential types whose `authenticate` is generic (header/query templates), read from the classes themselves. */
const GENERIC_AUTH: Record<string, { headers?: IDataObject; qs?: IDataObject }> = Object.fromEntries(
	[new AmoCrmApi(), new SalesManApi()].map((credential) => [credential.name, credential.authenticate.properties as { headers?: IDataObject; qs?: IDataObject }]),
);

/** Our OAuth2 credential types extend n8n's oAuth2Api: n8n core then signs requests and refreshes tokens. */
const OAUTH2_TYPES = new Set(['bitrix24OAuth2Api', 'amoCrmOAuth2Api']);

class TestCredentialsHelper implements ICredentialsHelper {
	constructor(private readonly store: CredentialStore) {}
	getParentTypes(name: string): string[] {
		return OAUTH2_TYPES.has(name) ? ['oAuth2Api'] : [];
	}
	isCredentialUsableByNode(): boolean {
		return true;
	}
	/** Applies a credential's generic `authenticate` ({{$credentials.x}} in headers/qs), as n8n does. */
	async authenticate(credentials: ICredentialDataDecryptedObject, type: string, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const authenticate = GENERIC_AUTH[type];
		if (!authenticate) return requestOptions;
		const resolve = (value: string) => value.replace(/^=/, '').replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_m, key: string) => String(credentials[key] ?? ''));
		const headers = Object.fromEntries(Object.entries(authenticate.headers ?? {}).map(([k, v]) => [k, resolve(String(v))]));
		const qs = Object.fromEntries(Object.entries(authenticate.qs ?? {}).map(([k, v]) => [k, resolve(String(v))]));
		return { ...requestOptions, headers: { ...(requestOptions.headers ?? {}), ...headers }, qs: { ...(requestOptions.qs ?? {}), ...qs } };
	}
	async preAuthentication(): Promise<undefined> {
		return undefined;
	}
	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}
	async getCredentials(details: INodeCredentialsDetails, type: string) {
		return new Credentials({ id: details.id, name: details.name }, type, '');
	}
	async getDecrypted(_a: IWorkflowExecuteAdditionalData, _d: INodeCredentialsDetails, type: string): Promise<ICredentialDataDecryptedObject> {
		const data = this.store[type];
		if (!data) throw new Error(`No test credential of type ${type}`);
		return { ...data };
	}
	async updateCredentials(): Promise<void> {}
	/** n8n core saves a refreshed token here; later reads in the same run must see it, as in n8n. */
	async updateCredentialsOauthTokenData(_d: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		this.store[type] = { ...this.store[type], oauthTokenData: data.oauthTokenData };
	}
	getCredentialsProperties(): INodeProperties[] {
		return [];
	}
}

function additionalData(store: CredentialStore, mode: WorkflowExecuteMode, workflowId: string): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper: new TestCredentialsHelper(store),
		hooks: new ExecutionLifecycleHooks(mode, `test-${workflowId}`, { id: workflowId, name: workflowId, nodes: [], connections: {}, active: false, settings: {} } as never),
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		restApiUrl: 'http://127.0.0.1/rest',
		instanceBaseUrl: 'http://127.0.0.1/',
		variables: {},
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;
}

let workflowCounter = 0;

export interface NodeSpec {
	type?: string;
	parameters: IDataObject;
	credentialType?: string;
	continueOnFail?: boolean;
	name?: string;
}

export function makeNode(spec: NodeSpec, position = 1): INode {
	const type = spec.type ?? `${PACKAGE}.vtiger`;
	const credentialType = spec.credentialType ?? 'vtigerApi';
	return {
		id: `node-${position}`,
		name: spec.name ?? `Node ${position}`,
		type,
		typeVersion: 1,
		position: [position * 200, 0],
		parameters: spec.parameters as INode['parameters'],
		credentials: { [credentialType]: { id: '1', name: 'test credential' } },
		...(spec.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
}

export interface RunResult {
	run: IRun;
	/** Output items of the last node (first output). */
	items: INodeExecutionData[];
	/** The error the run ended with, if any. */
	error?: Error & { description?: string; context?: IDataObject };
}

/**
 * Runs `input items → node` (or a chain of nodes) through WorkflowExecute, like a manual execution.
 */
export async function runNodes(store: CredentialStore, specs: NodeSpec[], inputItems: IDataObject[] = [{}]): Promise<RunResult> {
	const id = `wf-${++workflowCounter}`;
	const trigger: INode = { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };
	const nodes = specs.map((spec, index) => makeNode(spec, index + 1));
	const connections: IConnections = {};
	let previous = trigger.name;
	for (const node of nodes) {
		connections[previous] = { main: [[{ node: node.name, type: 'main', index: 0 }]] };
		previous = node.name;
	}
	const workflow = new Workflow({ id, name: id, nodes: [trigger, ...nodes], connections, nodeTypes, active: false, settings: {} });
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [
				{
					node: nodes[0],
					data: { main: [inputItems.map((json, index) => ({ json, pairedItem: { item: index } }))] },
					source: { main: [{ previousNode: trigger.name }] },
				} as IExecuteData,
			],
		},
	});
	runExecutionData.resultData.runData[trigger.name] = [
		{ startTime: Date.now(), executionTime: 0, executionIndex: 0, source: [], data: { main: [inputItems.map((json) => ({ json }))] } },
	] as never;
	const run = await new WorkflowExecute(additionalData(store, 'manual', id), 'manual', runExecutionData).processRunExecutionData(workflow);
	const last = nodes[nodes.length - 1].name;
	const items = run.data.resultData.runData[last]?.[0]?.data?.main?.[0] ?? [];
	return { run, items, error: run.data.resultData.error as RunResult['error'] };
}

/** A poll trigger bound to one workflow, so its static data (the cursor) persists between polls. */
export function pollingTrigger(store: CredentialStore, parameters: IDataObject, type = `${PACKAGE}.vtigerTrigger`) {
	const id = `wf-${++workflowCounter}`;
	const node = makeNode({ type, parameters }, 1);
	const workflow = new Workflow({ id, name: id, nodes: [node], connections: {}, nodeTypes, active: true, settings: {}, staticData: {} });
	const nodeType = nodeClasses[type];
	return {
		workflow,
		node,
		async poll(mode: 'trigger' | 'manual' = 'trigger'): Promise<IDataObject[] | null> {
			const ctx = new PollContext(workflow, node, additionalData(store, mode, id), mode, mode === 'manual' ? 'manual' : 'activate');
			const result = await nodeType.poll!.call(ctx);
			return result ? result[0].map((item) => item.json) : null;
		},
		staticData: () => workflow.getStaticData('node', node),
	};
}

/** Calls a loadOptions / resourceMapping method the way the editor does. */
export async function loadOptions(
	store: CredentialStore,
	parameters: IDataObject,
	group: 'loadOptions' | 'resourceMapping',
	method: string,
	type = `${PACKAGE}.vtiger`,
	credentialType?: string,
) {
	const id = `wf-${++workflowCounter}`;
	const node = makeNode({ type, parameters, credentialType }, 1);
	const workflow = new Workflow({ id, name: id, nodes: [node], connections: {}, nodeTypes, active: false, settings: {} });
	const ctx = new LoadOptionsContext(workflow, node, additionalData(store, 'manual', id), '');
	const methods = (nodeClasses[type] as unknown as { methods: Record<string, Record<string, (this: unknown) => Promise<unknown>>> }).methods;
	return await methods[group][method].call(ctx);
}

export interface Delivery {
	status: number;
	/** The items the trigger emitted (an execution would start), or undefined when it refused or ignored. */
	items?: IDataObject[];
	response?: unknown;
	/** What webhook() threw: n8n answers 500 and records a failed execution. */
	crash?: string;
	/** n8n refused the request before the node ran (its body parser), with this status. */
	refusedByN8n?: boolean;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const qs = require('qs') as { parse: (text: string, options: { allowPrototypes: boolean }) => IDataObject };
const xml2js = require('xml2js') as { Parser: new (options: IDataObject) => { parseStringPromise: (text: string) => Promise<unknown> } };
/* eslint-enable @typescript-eslint/no-require-imports */

/** n8n's largest request body: N8N_PAYLOAD_SIZE_MAX (16 MiB by default), in bytes. */
export const N8N_PAYLOAD_SIZE_MAX = 16 * 1024 * 1024;

/** The text fields of a multipart/form-data body, as formidable gives them to n8n (files are not needed here). */
function multipartFields(raw: Buffer, contentType: string): IDataObject {
	const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
	const fields: IDataObject = {};
	if (!boundary) return fields;
	for (const part of raw.toString('latin1').split(`--${boundary[1] ?? boundary[2]}`)) {
		const split = part.indexOf('\r\n\r\n');
		if (split < 0) continue;
		const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
		if (name !== undefined && !/filename=/i.test(part.slice(0, split))) fields[name] = Buffer.from(part.slice(split + 4).replace(/\r\n$/, ''), 'latin1').toString('utf8');
	}
	return fields;
}

/**
 * How n8n 2.41.1 reads a request to a version-1 trigger's webhook, before the node runs (middlewares/body-parser.js
 * `parseBody`, webhooks/webhook-helpers.js `parseRequestBody`; express 5 with `query parser: extended`, i.e. qs with
 * allowPrototypes): the content type is the header up to ";", lower-cased; application/json is parsed (invalid →
 * 422 "Failed to parse request body", no execution), x-www-form-urlencoded through querystring (≤ 1000 keys),
 * text/plain is a string, XML goes through xml2js, multipart/form-data becomes `{ data, files }`; an empty body or
 * any other type leaves the body undefined (express 5 initializes none). The raw bytes stay on the request (not for
 * multipart, which n8n streams into formidable).
 */
export async function parseRequestLikeN8n(
	headers: http.IncomingHttpHeaders,
	url: string,
	raw: Buffer,
): Promise<{ body: unknown; rawBody?: Buffer; query: IDataObject } | { refused: number; message: string }> {
	const query = qs.parse(new URL(url, 'http://localhost').search.slice(1), { allowPrototypes: true });
	const header = headers['content-type'];
	const type = header ? header.split(';')[0].toLowerCase() : undefined;
	// raw-body's "request entity too large" is not one of n8n's response errors: n8n answers it with its generic 500.
	if (raw.length > N8N_PAYLOAD_SIZE_MAX) return { refused: 500, message: 'There was a problem executing the workflow' };
	if (type === 'multipart/form-data') return { body: { data: multipartFields(raw, String(header)), files: {} }, query };
	if (type?.startsWith('multipart/')) return { body: {}, query };
	let body: unknown;
	if (raw.length) {
		const text = raw.toString('utf8').replace(/^\uFEFF/, '');
		try {
			if (type === 'application/json') body = jsonParse(text);
			else if (type?.endsWith('/xml') || type?.endsWith('+xml')) {
				const parser = new xml2js.Parser({ async: true, normalize: true, normalizeTags: true, explicitArray: false, tagNameProcessors: [sanitizeXmlName], attrNameProcessors: [sanitizeXmlName] });
				body = await parser.parseStringPromise(raw.toString('utf8'));
			} else if (type === 'application/x-www-form-urlencoded') body = querystring.parse(text, undefined, undefined, { maxKeys: 1000 });
			else if (type === 'text/plain') body = raw.toString('utf8');
		} catch (error) {
			return { refused: 422, message: `Failed to parse request body: ${(error as Error).message}` };
		}
	}
	return { body, rawBody: raw, query };
}

/**
 * A webhook trigger served over real HTTP on loopback, the way n8n serves it: activation runs the node's
 * checkExists/create (HookContext), every POST runs its webhook() (WebhookContext) with the raw body kept,
 * deactivation runs delete. The CRM emulator delivers to `url`.
 */
export async function webhookTrigger(store: CredentialStore, type: string, parameters: IDataObject, credentialType: string) {
	const id = `wf-${++workflowCounter}`;
	const node = { ...makeNode({ type, parameters, credentialType }, 1), webhookId: randomUUID() };
	const workflow = new Workflow({ id, name: id, nodes: [node], connections: {}, nodeTypes, active: true, settings: {}, staticData: {} });
	const nodeType = nodeClasses[type];
	const deliveries: Delivery[] = [];
	let data: IWorkflowExecuteAdditionalData;
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			void (async () => {
				const parsed = await parseRequestLikeN8n(req.headers, req.url ?? '/', Buffer.concat(chunks));
				if ('refused' in parsed) {
					deliveries.push({ status: parsed.refused, response: { message: parsed.message }, refusedByN8n: true });
					res.writeHead(parsed.refused, { 'content-type': 'application/json' });
					res.end(JSON.stringify({ code: parsed.refused, message: parsed.message }));
					return;
				}
				const { body, rawBody, query } = parsed;
				let status = 200;
				let response: unknown;
				const fakeRes = {
					status(code: number) {
						status = code;
						return fakeRes;
					},
					json(value: unknown) {
						response = value;
						return fakeRes;
					},
					send(value: unknown) {
						response = value;
						return fakeRes;
					},
					end() {
						return fakeRes;
					},
				};
				const request = { headers: req.headers, body, rawBody, params: {}, query, method: req.method, url: req.url };
				const ctx = new WebhookContext(workflow, node, { ...data, httpRequest: request, httpResponse: fakeRes } as never, 'webhook', {
					httpMethod: 'POST',
					node: node.name,
					path: 'x',
					webhookDescription: nodeType.description.webhooks![0],
					workflowId: id,
				} as never, [], null);
				let crash: string | undefined;
				const result = await nodeType.webhook!.call(ctx).catch((error: Error) => {
					status = 500;
					crash = error.message;
					response = { error: error.message };
					return { noWebhookResponse: true } as { noWebhookResponse: boolean; workflowData?: INodeExecutionData[][] };
				});
				const items = result.workflowData?.[0]?.map((item) => item.json);
				deliveries.push({ status, items, response, ...(crash === undefined ? {} : { crash }) });
				res.writeHead(status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(response ?? { ok: true }));
			})();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as { port: number }).port;
	data = { ...additionalData(store, 'trigger', id), webhookBaseUrl: `http://127.0.0.1:${port}/webhook`, webhookTestBaseUrl: `http://127.0.0.1:${port}/webhook-test` } as IWorkflowExecuteAdditionalData;
	const hooks = () => {
		const ctx = new HookContext(workflow, node, data, 'trigger', 'activate', { webhookDescription: nodeType.description.webhooks![0] } as never);
		return { ctx, methods: nodeType.webhookMethods!.default! };
	};
	return {
		node,
		deliveries,
		url: () => new HookContext(workflow, node, data, 'trigger', 'activate').getNodeWebhookUrl('default')!,
		async activate() {
			const { ctx, methods } = hooks();
			if (!(await methods.checkExists.call(ctx))) await methods.create.call(ctx);
		},
		async checkExists() {
			const { ctx, methods } = hooks();
			return await methods.checkExists.call(ctx);
		},
		async deactivate() {
			const { ctx, methods } = hooks();
			return await methods.delete.call(ctx);
		},
		async close() {
			await new Promise((resolve) => server.close(resolve));
		},
	};
}
