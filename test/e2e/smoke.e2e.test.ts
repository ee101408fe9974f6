// Smoke test: the packed package loads into a real n8n (the pinned 2.41.1 under Node 24) and the
// server machinery the other e2e tests rely on works (owner/login, import, publish, executions).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureN8n, packPackage, startN8n, nodeItems } = require('../../scripts/lib/n8n-server');

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(180_000);

describe('real n8n smoke', () => {
	let n8n: any;
	let userFolder: string;

	beforeAll(async () => {
		ensureN8n();
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-smoke-'));
		// E2E_PACKAGE_TGZ: test a tgz packed elsewhere (e.g. a consistent snapshot while dist/ is being rebuilt).
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it('the package is built', () => {
		expect(fs.existsSync(path.join(ROOT, 'dist', 'nodes', 'Vtiger', 'Vtiger.node.js'))).toBe(true);
		expect(fs.existsSync(path.join(ROOT, 'dist', 'nodes', 'Vtiger', 'VtigerTrigger.node.js'))).toBe(true);
		expect(fs.existsSync(path.join(ROOT, 'dist', 'credentials', 'VtigerApi.credentials.js'))).toBe(true);
	});

	it('n8n knows the Vtiger node, trigger and credential type', async () => {
		const types: Array<{ name: string; version: number | number[]; credentials?: Array<{ name: string }> }> = await n8n.nodeTypes();
		const byName = new Map(types.map((t) => [t.name, t]));
		expect(byName.has('n8n-nodes-base.manualTrigger')).toBe(true);
		const node = byName.get('n8n-nodes-crm-suite.vtiger');
		const trigger = byName.get('n8n-nodes-crm-suite.vtigerTrigger');
		if (!node || !trigger) throw new Error(`Vtiger types missing from /types/nodes.json; n8n log:\n${n8n.logTail(80)}`);
		expect(node.credentials?.map((c) => c.name)).toContain('vtigerApi');
		expect(trigger.credentials?.map((c) => c.name)).toContain('vtigerApi');
		const creds: Array<{ name: string }> = await n8n.credentialTypes();
		expect(creds.map((c) => c.name)).toContain('vtigerApi');
		expect(n8n.fullLog()).not.toMatch(/Unrecognized node type|failed to load|Error loading package/i);
	});

	it('imports, publishes and runs a webhook workflow; executions are readable over REST', async () => {
		const hookPath = `smoke-${randomUUID()}`;
		const id = await n8n.importWorkflow({
			name: 'smoke webhook',
			nodes: [
				{
					id: randomUUID(),
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2,
					position: [0, 0],
					webhookId: randomUUID(),
					parameters: { httpMethod: 'POST', path: hookPath, responseMode: 'lastNode' },
				},
				{
					id: randomUUID(),
					name: 'Set',
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					position: [220, 0],
					parameters: { assignments: { assignments: [{ id: randomUUID(), name: 'echo', value: '={{ $json.body.msg }}', type: 'string' }] } },
				},
			],
			connections: { Webhook: { main: [[{ node: 'Set', type: 'main', index: 0 }]] } },
		});
		await n8n.publish(id);
		const res = await fetch(`${n8n.baseUrl}/webhook/${hookPath}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ msg: 'hello' }),
		});
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ echo: 'hello' });
		const [execution] = await n8n.waitForExecutions(id, 1, 15_000);
		expect(execution.status).toBe('success');
		expect(nodeItems(execution.data, 'Set')).toEqual([{ echo: 'hello' }]);
		await n8n.unpublish(id);
	});
});
