/**
 * Our nodes against the naive baseline, in the same real n8n (2.41.1, the package pack-installed) and the same run:
 * n8n's own HTTP Request node configured the way a user would (its pagination options; one request per item for
 * writes, plainly and then spaced with its batching options to stay under the limit), against the emulators with
 * the CRMs' documented rate limits on (Bitrix24: 2 req/s, burst 50; amoCRM: 7 req/s; Vtiger and SalesMan document
 * none). Per scenario: HTTP calls, rate-limit refusals, outcome, the node's execution time (n8n's own figure),
 * items/s and the ratio to the rate-limit bound. Run with `npm run bench:baseline` (≈ 30 min: the spaced baseline
 * writes take as long as the limits say); results are recorded in docs/benchmarks.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { amoCrm, bitrix24, chain, codeItems, manualTrigger, mapped, salesMan, vtiger } from '../e2e/workflows';
import type { WfNode } from '../e2e/workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n } = require(path.join(process.cwd(), 'scripts/lib/n8n-server'));
const emulator = (name: string) => require(path.join(process.cwd(), `test/emulators/${name}/server`));
/* eslint-enable @typescript-eslint/no-require-imports */

const READS = Number(process.env.BASELINE_READS || 9_000);
const WRITES = Number(process.env.BASELINE_WRITES || 1_000);
const ONLY = process.env.BASELINE_CRMS?.split(',');

/** n8n's HTTP Request node (typeVersion 4.2), as the editor stores it. */
function httpRequest(name: string, request: { method: string; url: string; headers?: Record<string, string>; query?: Record<string, string>; json?: string; form?: Record<string, string> }, options: Record<string, unknown> = {}): WfNode {
	const pairs = (o?: Record<string, string>) => Object.entries(o ?? {}).map(([n, value]) => ({ name: n, value }));
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		position: [0, 0],
		parameters: {
			method: request.method,
			url: request.url,
			...(request.query ? { sendQuery: true, queryParameters: { parameters: pairs(request.query) } } : {}),
			...(request.headers ? { sendHeaders: true, headerParameters: { parameters: pairs(request.headers) } } : {}),
			...(request.json ? { sendBody: true, specifyBody: 'json', jsonBody: request.json } : {}),
			...(request.form ? { sendBody: true, contentType: 'form-urlencoded', bodyParameters: { parameters: pairs(request.form) } } : {}),
			options,
		},
	};
}

const paginate = (pagination: Record<string, unknown>) => ({ pagination: { pagination } });
const spaced = (intervalMs: number) => ({ batching: { batch: { batchSize: 1, batchInterval: intervalMs } } });
const splitOut = (name: string, field: string): WfNode => ({ id: randomUUID(), name, type: 'n8n-nodes-base.splitOut', typeVersion: 1, position: [0, 0], parameters: { fieldToSplitOut: field, options: {} } });

interface Measured {
	crm: string;
	scenario: string;
	approach: string;
	calls: number;
	refused: number;
	outcome: string;
	seconds: number;
	itemsPerSecond: number;
	bound?: number;
}

interface Emu {
	clearRequests(): void;
	/** API calls since the last clear, and how many were refused for the rate limit. */
	calls(): { calls: number; refused: number };
	stop(): Promise<void>;
}

interface Scenario {
	scenario: string;
	approach: string;
	workflow: () => ReturnType<typeof chain>;
	/** The node whose execution time is measured, and the node whose items are the records (Split Out for pages). */
	node: string;
	itemsNode?: string;
	expected: number;
}

async function main() {
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-baseline-'));
	const n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(process.cwd()) });
	const results: Measured[] = [];
	const boundOf: Record<string, (calls: number) => number | undefined> = {
		Bitrix24: (calls) => Math.max(0, (calls - 50) / 2),
		// 7/s counted in a sliding window: N calls at the documented rate take N / 7 s (the first 7 may go at once).
		amoCRM: (calls) => calls / 7,
		Vtiger: () => undefined,
		SalesMan: () => undefined,
	};

	async function measure(crm: string, emu: Emu, scenarios: Scenario[]) {
		const ids = await n8n.importWorkflows(scenarios.map((s) => s.workflow()));
		for (const [i, s] of scenarios.entries()) {
			emu.clearRequests();
			// The spaced baselines take as long as the limits say (1,000 writes at 2/s: over 8 minutes).
			const r = await n8n.execute(ids[i], { timeoutMs: 1_200_000 });
			const runData = r.output?.data?.resultData?.runData ?? {};
			const nodeRun = runData[s.node]?.[0];
			const items = (runData[s.itemsNode ?? s.node]?.[0]?.data?.main?.[0] ?? []) as Array<{ json: Record<string, unknown> }>;
			// A failed item: the node's own { error } (continueOnFail) or a CRM envelope that says error (HTTP 200 answers).
			const failedItems = items.filter((item) => Boolean(item.json.error) || item.json.result === 'Error' || item.json.success === false).length;
			const error = nodeRun?.error?.message ?? r.output?.data?.resultData?.error?.message;
			if (process.env.BASELINE_DEBUG) console.log(s.approach, JSON.stringify(runData[s.itemsNode ?? s.node]?.[0]?.error ?? null).slice(0, 300), JSON.stringify(runData[s.node]?.[0]?.data?.main?.[0]?.[0]?.json ?? null).slice(0, 300));
			const { calls, refused } = emu.calls();
			const seconds = (nodeRun?.executionTime ?? 0) / 1000;
			const good = items.length - failedItems;
			const outcome = !r.output ? `no result (CLI exit ${r.code} after ${Math.round(r.ms / 1000)} s)` : error ? `failed: ${String(error).slice(0, 60)}` : good === s.expected ? `${good} ok` : `${good} ok, ${failedItems} failed (of ${s.expected})`;
			const row: Measured = { crm, scenario: s.scenario, approach: s.approach, calls, refused, outcome, seconds, itemsPerSecond: seconds ? Math.round((error ? 0 : good) / seconds) : 0, bound: boundOf[crm](calls) };
			results.push(row);
			console.log(JSON.stringify(row));
		}
	}

	const wanted = (crm: string) => !ONLY || ONLY.includes(crm);
	/** Input items for one write scenario; titles differ per scenario (SalesMan refuses a second client of the same title). */
	const inputFor = (tag: string) => Array.from({ length: WRITES }, (_, i) => ({ title: `Bench ${tag} ${i}` }));

	// ---------------------------------------------------------------- Bitrix24 (webhook credential)
	if (wanted('Bitrix24')) {
		const emu = emulator('bitrix24').createBitrix24Emulator();
		await emu.start();
		const hook: string = emu.webhookUrl();
		const cred = { webhook: { id: await n8n.createCredential({ name: 'B24', type: 'bitrix24WebhookApi', data: { webhookUrl: hook, plan: 'standard' } }), name: 'B24' } };
		emu.seed('lead', READS);
		const updateIds = emu.seed('lead', WRITES) as number[];
		const updates = updateIds.map((id, i) => ({ id, title: `Updated ${i}` }));
		const listPages = { paginationMode: 'updateAParameterInEachRequest', parameters: { parameters: [{ type: 'qs', name: 'start', value: '={{ $response.body.next }}' }] }, paginationCompleteWhen: 'other', completeExpression: '={{ $response.body.next === undefined }}' };
		const b24: Emu = {
			clearRequests: () => emu.clearRequests(),
			calls: () => {
				const rest = (emu.requests as Array<{ restMethod: string | null; status: number }>).filter((q) => q.restMethod);
				return { calls: rest.length, refused: rest.filter((q) => q.status === 503).length };
			},
			stop: () => emu.stop(),
		};
		await measure('Bitrix24', b24, [
			{ scenario: `Return All ${READS + WRITES}`, approach: 'this node', node: 'Leads', expected: READS + WRITES, workflow: () => chain('b24 read node', [manualTrigger(), bitrix24('Leads', { resource: 'lead', operation: 'getMany', returnAll: true }, cred)]) },
			{ scenario: `Return All ${READS + WRITES}`, approach: 'HTTP Request, pagination', node: 'Leads', itemsNode: 'Split', expected: READS + WRITES, workflow: () => chain('b24 read http', [manualTrigger(), httpRequest('Leads', { method: 'GET', url: `${hook}crm.lead.list.json` }, paginate(listPages)), splitOut('Split', 'result')]) },
			{ scenario: `Return All ${READS + WRITES}`, approach: 'HTTP Request, pagination, 500 ms apart', node: 'Leads', itemsNode: 'Split', expected: READS + WRITES, workflow: () => chain('b24 read http spaced', [manualTrigger(), httpRequest('Leads', { method: 'GET', url: `${hook}crm.lead.list.json` }, paginate({ ...listPages, requestInterval: 500 })), splitOut('Split', 'result')]) },
			{ scenario: `Create ${WRITES}`, approach: 'this node', node: 'Create', expected: WRITES, workflow: () => chain('b24 create node', [manualTrigger(), codeItems('Input', inputFor('1')), bitrix24('Create', { resource: 'lead', operation: 'create', fields: mapped({ TITLE: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Create ${WRITES}`, approach: 'HTTP Request per item', node: 'Create', expected: WRITES, workflow: () => chain('b24 create http', [manualTrigger(), codeItems('Input', inputFor('2')), httpRequest('Create', { method: 'POST', url: `${hook}crm.lead.add.json`, json: '={{ JSON.stringify({ fields: { TITLE: $json.title } }) }}' })]) },
			{ scenario: `Create ${WRITES}`, approach: 'HTTP Request per item, 500 ms apart', node: 'Create', expected: WRITES, workflow: () => chain('b24 create http spaced', [manualTrigger(), codeItems('Input', inputFor('3')), httpRequest('Create', { method: 'POST', url: `${hook}crm.lead.add.json`, json: '={{ JSON.stringify({ fields: { TITLE: $json.title } }) }}' }, spaced(500))]) },
			{ scenario: `Update ${WRITES}`, approach: 'this node', node: 'Update', expected: WRITES, workflow: () => chain('b24 update node', [manualTrigger(), codeItems('Input', updates), bitrix24('Update', { resource: 'lead', operation: 'update', recordId: '={{ $json.id }}', fields: mapped({ TITLE: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Update ${WRITES}`, approach: 'HTTP Request per item, 500 ms apart', node: 'Update', expected: WRITES, workflow: () => chain('b24 update http spaced', [manualTrigger(), codeItems('Input', updates), httpRequest('Update', { method: 'POST', url: `${hook}crm.lead.update.json`, json: '={{ JSON.stringify({ id: $json.id, fields: { TITLE: $json.title } }) }}' }, spaced(500))]) },
		]);
		await b24.stop();
	}

	// ---------------------------------------------------------------- amoCRM (long-lived token)
	if (wanted('amoCRM')) {
		const emu = emulator('amocrm').createAmoCrmEmulator();
		const base: string = await emu.start();
		const token: string = emu.longLivedToken;
		const cred = { longLivedToken: { id: await n8n.createCredential({ name: 'amo', type: 'amoCrmApi', data: { accountDomain: `${emu.account.subdomain}.amocrm.ru`, accessToken: token, baseUrl: base } }), name: 'amo' } };
		emu.seed('leads', READS);
		const updateIds = emu.seed('leads', WRITES) as number[];
		const updates = updateIds.map((id, i) => ({ id, title: `Updated ${i}` }));
		const auth = { Authorization: `Bearer ${token}` };
		const listPages = { paginationMode: 'updateAParameterInEachRequest', parameters: { parameters: [{ type: 'qs', name: 'page', value: '={{ $pageCount + 1 }}' }] }, paginationCompleteWhen: 'receiveSpecificStatusCodes', statusCodesWhenComplete: '204' };
		const amo: Emu = {
			clearRequests: () => emu.clearRequests(),
			calls: () => {
				const api = (emu.requests as Array<{ path: string; status: number }>).filter((q) => q.path.startsWith('/api/v4'));
				return { calls: api.length, refused: api.filter((q) => q.status === 429).length };
			},
			stop: () => emu.stop(),
		};
		const list = (name: string, pages: Record<string, unknown>) => httpRequest(name, { method: 'GET', url: `${base}/api/v4/leads`, headers: auth, query: { limit: '250' } }, { ...paginate(pages), response: { response: { responseFormat: 'json' } } });
		await measure('amoCRM', amo, [
			{ scenario: `Return All ${READS + WRITES}`, approach: 'this node', node: 'Leads', expected: READS + WRITES, workflow: () => chain('amo read node', [manualTrigger(), amoCrm('Leads', { resource: 'lead', operation: 'getMany', returnAll: true }, cred)]) },
			{ scenario: `Return All ${READS + WRITES}`, approach: 'HTTP Request, pagination', node: 'Leads', itemsNode: 'Split', expected: READS + WRITES, workflow: () => chain('amo read http', [manualTrigger(), list('Leads', listPages), splitOut('Split', '_embedded.leads')]) },
			{ scenario: `Return All ${READS + WRITES}`, approach: 'HTTP Request, pagination, 150 ms apart', node: 'Leads', itemsNode: 'Split', expected: READS + WRITES, workflow: () => chain('amo read http spaced', [manualTrigger(), list('Leads', { ...listPages, requestInterval: 150 }), splitOut('Split', '_embedded.leads')]) },
			{ scenario: `Create ${WRITES}`, approach: 'this node', node: 'Create', expected: WRITES, workflow: () => chain('amo create node', [manualTrigger(), codeItems('Input', inputFor('4')), amoCrm('Create', { resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Create ${WRITES}`, approach: 'HTTP Request per item', node: 'Create', expected: WRITES, workflow: () => chain('amo create http', [manualTrigger(), codeItems('Input', inputFor('5')), httpRequest('Create', { method: 'POST', url: `${base}/api/v4/leads`, headers: auth, json: '={{ JSON.stringify([{ name: $json.title }]) }}' }, { response: { response: { responseFormat: 'json' } } })]) },
			{ scenario: `Create ${WRITES}`, approach: 'HTTP Request per item, 150 ms apart', node: 'Create', expected: WRITES, workflow: () => chain('amo create http spaced', [manualTrigger(), codeItems('Input', inputFor('6')), httpRequest('Create', { method: 'POST', url: `${base}/api/v4/leads`, headers: auth, json: '={{ JSON.stringify([{ name: $json.title }]) }}' }, spaced(150))]) },
			{ scenario: `Update ${WRITES}`, approach: 'this node', node: 'Update', expected: WRITES, workflow: () => chain('amo update node', [manualTrigger(), codeItems('Input', updates), amoCrm('Update', { resource: 'lead', operation: 'update', recordId: '={{ $json.id }}', fields: mapped({ name: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Update ${WRITES}`, approach: 'HTTP Request per item, 150 ms apart', node: 'Update', expected: WRITES, workflow: () => chain('amo update http spaced', [manualTrigger(), codeItems('Input', updates), httpRequest('Update', { method: 'PATCH', url: `=${base}/api/v4/leads/{{ $json.id }}`, headers: auth, json: '={{ JSON.stringify({ name: $json.title }) }}' }, spaced(150))]) },
		]);
		await amo.stop();
	}

	// ---------------------------------------------------------------- Vtiger (no documented limit)
	if (wanted('Vtiger')) {
		const emu = emulator('vtiger').createVtigerEmulator();
		const base: string = await emu.start();
		const accessKey: string = emu.accessKeyFor('admin');
		const cred = { id: await n8n.createCredential({ name: 'vt', type: 'vtigerApi', data: { baseUrl: base, username: 'admin', accessKey } }), name: 'vt' };
		emu.seed('Accounts', READS);
		const updateIds = emu.seed('Accounts', WRITES) as string[];
		const updates = updateIds.map((id, i) => ({ id, title: `Updated ${i}` }));
		const ws = `${base}/webservice.php`;
		// The login a user builds by hand: getchallenge, then login with md5(token + access key) (n8n's .hash()).
		const login = () => [
			httpRequest('Challenge', { method: 'GET', url: ws, query: { operation: 'getchallenge', username: 'admin' } }),
			httpRequest('Login', { method: 'POST', url: ws, form: { operation: 'login', username: 'admin', accessKey: `={{ ($json.result.token + '${accessKey}').hash('md5') }}` } }),
		];
		const session = "={{ $('Login').first().json.result.sessionName }}";
		const vt: Emu = {
			clearRequests: () => emu.clearRequests(),
			calls: () => ({ calls: emu.requests.length, refused: 0 }),
			stop: () => emu.stop(),
		};
		await measure('Vtiger', vt, [
			{ scenario: `Return All ${READS + WRITES}`, approach: 'this node', node: 'Accounts', expected: READS + WRITES, workflow: () => chain('vt read node', [manualTrigger(), vtiger('Accounts', { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true }, cred)]) },
			{
				scenario: `Return All ${READS + WRITES}`,
				approach: 'HTTP Request, pagination (+ login by hand)',
				node: 'Accounts',
				itemsNode: 'Split',
				expected: READS + WRITES,
				workflow: () =>
					chain('vt read http', [
						manualTrigger(),
						...login(),
						httpRequest('Accounts', { method: 'GET', url: ws, query: { operation: 'query', sessionName: session, query: '=SELECT * FROM Accounts LIMIT {{ $pageCount * 100 }}, 100;' } }, paginate({ paginationMode: 'updateAParameterInEachRequest', parameters: { parameters: [{ type: 'qs', name: 'query', value: '=SELECT * FROM Accounts LIMIT {{ $pageCount * 100 }}, 100;' }] }, paginationCompleteWhen: 'other', completeExpression: '={{ $response.body.result.length < 100 }}' })),
						splitOut('Split', 'result'),
					]),
			},
			{ scenario: `Create ${WRITES}`, approach: 'this node', node: 'Create', expected: WRITES, workflow: () => chain('vt create node', [manualTrigger(), codeItems('Input', inputFor('7')), vtiger('Create', { resource: 'record', operation: 'create', module: 'Accounts', fields: mapped({ accountname: '={{ $json.title }}' }) }, cred)]) },
			{
				scenario: `Create ${WRITES}`,
				approach: 'HTTP Request per item (+ login by hand)',
				node: 'Create',
				expected: WRITES,
				workflow: () => chain('vt create http', [manualTrigger(), ...login(), codeItems('Input', inputFor('8')), httpRequest('Create', { method: 'POST', url: ws, form: { operation: 'create', sessionName: session, elementType: 'Accounts', element: "={{ JSON.stringify({ accountname: $json.title, assigned_user_id: '19x1' }) }}" } })]),
			},
			{ scenario: `Update ${WRITES}`, approach: 'this node', node: 'Update', expected: WRITES, workflow: () => chain('vt update node', [manualTrigger(), codeItems('Input', updates), vtiger('Update', { resource: 'record', operation: 'update', module: 'Accounts', recordId: '={{ $json.id }}', fields: mapped({ accountname: '={{ $json.title }}' }) }, cred)]) },
			{
				scenario: `Update ${WRITES}`,
				approach: 'HTTP Request per item (+ login by hand)',
				node: 'Update',
				expected: WRITES,
				workflow: () => chain('vt update http', [manualTrigger(), ...login(), codeItems('Input', updates), httpRequest('Update', { method: 'POST', url: ws, form: { operation: 'revise', sessionName: session, element: '={{ JSON.stringify({ id: $json.id, accountname: $json.title }) }}' } })]),
			},
		]);
		await vt.stop();
	}

	// ---------------------------------------------------------------- SalesMan (no documented limit)
	if (wanted('SalesMan')) {
		const emu = emulator('salesman').createSalesManEmulator();
		const base: string = await emu.start();
		const cred = { id: await n8n.createCredential({ name: 'sm', type: 'salesManApi', data: { baseUrl: base, login: emu.login, apiKey: emu.apiKey } }), name: 'sm' };
		emu.seed('client', READS);
		const updateIds = emu.seed('client', WRITES) as number[];
		const updates = updateIds.map((id, i) => ({ id, title: `Updated ${i}` }));
		const headers = { login: emu.login, apikey: emu.apiKey };
		const api = `${base}/developer/v2/client`;
		const sm: Emu = {
			clearRequests: () => emu.clearRequests(),
			calls: () => ({ calls: emu.requests.length, refused: 0 }),
			stop: () => emu.stop(),
		};
		await measure('SalesMan', sm, [
			{ scenario: `Return All ${READS + WRITES}`, approach: 'this node', node: 'Clients', expected: READS + WRITES, workflow: () => chain('sm read node', [manualTrigger(), salesMan('Clients', { resource: 'client', operation: 'getMany', returnAll: true }, cred)]) },
			{
				scenario: `Return All ${READS + WRITES}`,
				approach: 'HTTP Request, pagination',
				node: 'Clients',
				itemsNode: 'Split',
				expected: READS + WRITES,
				workflow: () => chain('sm read http', [manualTrigger(), httpRequest('Clients', { method: 'POST', url: api, headers, json: '{"action": "list", "offset": 0}' }, paginate({ paginationMode: 'updateAParameterInEachRequest', parameters: { parameters: [{ type: 'body', name: 'offset', value: '={{ $pageCount }}' }] }, paginationCompleteWhen: 'other', completeExpression: '={{ !$response.body.data || $response.body.data.length === 0 }}' })), splitOut('Split', 'data')]),
			},
			{ scenario: `Create ${WRITES}`, approach: 'this node (Create Many)', node: 'Create', expected: WRITES, workflow: () => chain('sm create node', [manualTrigger(), codeItems('Input', inputFor('9')), salesMan('Create', { resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Create ${WRITES}`, approach: 'HTTP Request per item', node: 'Create', expected: WRITES, workflow: () => chain('sm create http', [manualTrigger(), codeItems('Input', inputFor('10')), httpRequest('Create', { method: 'POST', url: api, headers, json: '={{ JSON.stringify({ action: "add", title: $json.title }) }}' })]) },
			{ scenario: `Update ${WRITES}`, approach: 'this node', node: 'Update', expected: WRITES, workflow: () => chain('sm update node', [manualTrigger(), codeItems('Input', updates), salesMan('Update', { resource: 'client', operation: 'update', recordId: '={{ $json.id }}', fields: mapped({ title: '={{ $json.title }}' }) }, cred)]) },
			{ scenario: `Update ${WRITES}`, approach: 'HTTP Request per item', node: 'Update', expected: WRITES, workflow: () => chain('sm update http', [manualTrigger(), codeItems('Input', updates), httpRequest('Update', { method: 'POST', url: api, headers, json: '={{ JSON.stringify({ action: "update", clid: $json.id, title: $json.title }) }}' })]) },
		]);
		await sm.stop();
	}

	await n8n.stop();
	fs.rmSync(userFolder, { recursive: true, force: true });
	console.log('\n| CRM | scenario | approach | HTTP calls | rate-limit refusals | outcome | node time (s) | items/s | bound (s) | time / bound |');
	console.log('|---|---|---|---|---|---|---|---|---|---|');
	for (const r of results) {
		const ratio = r.bound ? (r.seconds / r.bound).toFixed(2) : '—';
		console.log(`| ${r.crm} | ${r.scenario} | ${r.approach} | ${r.calls} | ${r.refused} | ${r.outcome} | ${r.seconds.toFixed(1)} | ${r.itemsPerSecond} | ${r.bound === undefined ? '—' : r.bound.toFixed(1)} | ${ratio} |`);
	}
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
