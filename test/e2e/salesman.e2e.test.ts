// The SalesMan CRM node and trigger inside a real n8n (2.41.1, Node 24), against the SalesMan emulator running in
// this jest process. One n8n for the whole file. Action workflows run with `n8n execute --id --rawOutput` (a
// separate CLI process on the same database); the trigger workflow is published in the running server. SalesMan
// has no API to register webhooks: its administrator enters `<production URL>?secret=<secret>` in the CRM, which
// the test does with `emu.addWebhook`, and the emulator then delivers the events of API writes to it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes, randomUUID } from 'crypto';
import { chain, codeItems, manualTrigger, mapped, noOp, salesMan, salesManTrigger } from './workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems, runError } = require('../../scripts/lib/n8n-server');
const { createSalesManEmulator } = require('../emulators/salesman/server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(120_000);

interface EmuRequest {
	method: string;
	path: string;
	methodName: string;
	action: string;
	params: Record<string, any>;
	authStyle: 'headers' | 'query' | 'form' | 'body';
	login: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SalesMan CRM in a real n8n', () => {
	let n8n: any;
	let emu: any;
	let userFolder: string;
	const wf = { getMany: '', createMany: '', trigger: '' };
	const hookId = randomUUID();
	let productionUrl: string;
	let emuBase: string;
	// Random per run, so that finding them in the log means they leaked (the emulator's default key is in its README).
	const apiKey = `e2eSalesManKey${randomBytes(12).toString('hex')}`;
	const secret = `e2eSalesManSecret${randomBytes(12).toString('hex')}`;
	/** Everything n8n printed through the CLI, checked for secrets at the end. */
	const cliOutput: string[] = [];

	const requests = () => emu.requests as EmuRequest[];

	async function run(workflowId: string) {
		const r = await n8n.execute(workflowId);
		cliOutput.push(r.stdout, r.stderr);
		if (!r.output) throw new Error(`execute printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
		return r;
	}

	beforeAll(async () => {
		emu = createSalesManEmulator({ apiKey });
		const base: string = (emuBase = await emu.start());
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-salesman-'));
		// E2E_PACKAGE_TGZ: test a tgz packed elsewhere (e.g. a consistent snapshot while dist/ is being rebuilt).
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		productionUrl = `${n8n.baseUrl}/webhook/${hookId}/salesman`;

		const credName = 'SalesMan emulator';
		const cred = { name: credName, id: await n8n.createCredential({ name: credName, type: 'salesManApi', data: { baseUrl: base, login: emu.login, apiKey } }) };

		// One import:workflow CLI call for all of them (each CLI start costs seconds).
		[wf.getMany, wf.createMany, wf.trigger] = await n8n.importWorkflows([
			chain('e2e salesman get many clients', [
				manualTrigger(),
				salesMan('Get Clients', { resource: 'client', operation: 'getMany', returnAll: true }, cred),
			]),
			chain('e2e salesman create many clients', [
				manualTrigger(),
				codeItems('Three Clients', [
					{ title: 'E2E batch client A', phone: '+7 900 000-01-01' },
					{ title: 'E2E batch client B', phone: '+7 900 000-01-02' },
					{ title: 'E2E batch client C', phone: '+7 900 000-01-03' },
				]),
				salesMan('Create Clients', { resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}', phone: '={{ $json.phone }}' }) }, cred),
			]),
			chain('e2e salesman trigger', [salesManTrigger('SalesMan Trigger', { secret, events: ['client.add'], fetchRecord: true }, cred, hookId), noOp('NoOp')]),
		]);
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (emu) await emu.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it('Get Many Return All reads 450 clients in 3 list requests (offset 0, 1, 2) with login/apikey headers', async () => {
		emu.seed('client', 450);
		emu.clearRequests();
		const r = await run(wf.getMany);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Get Clients');
		expect(items).toHaveLength(450);
		expect(new Set(items.map((i: any) => i.clid)).size).toBe(450);
		expect(items[0]).toHaveProperty('title');

		const sent = requests();
		expect(sent.map((q) => [q.method, q.path, q.methodName, q.action, Number(q.params.offset)])).toEqual([
			['POST', '/developer/v2/client', 'client', 'list', 0],
			['POST', '/developer/v2/client', 'client', 'list', 1],
			['POST', '/developer/v2/client', 'client', 'list', 2],
		]);
		expect(sent.map((q) => [q.authStyle, q.login])).toEqual(sent.map(() => ['headers', emu.login]));
	});

	it('Create Many of 3 input items writes all three in one add.list request', async () => {
		const before = emu.count('client');
		emu.clearRequests();
		const r = await run(wf.createMany);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const created = nodeItems(r.output.data, 'Create Clients');
		expect(created).toHaveLength(3);
		expect(emu.count('client')).toBe(before + 3);
		const stored = created.map((c: any) => emu.getRecord('client', c.clid));
		expect(stored.map((s: any) => [s?.title, s?.phone])).toEqual([
			['E2E batch client A', '+7 900 000-01-01'],
			['E2E batch client B', '+7 900 000-01-02'],
			['E2E batch client C', '+7 900 000-01-03'],
		]);

		const sent = requests();
		expect(sent.map((q) => [q.methodName, q.action, q.authStyle])).toEqual([['client', 'add.list', 'headers']]);
		expect(sent[0].params.client.map((c: any) => c.title)).toEqual(['E2E batch client A', 'E2E batch client B', 'E2E batch client C']);
	});

	it('trigger: a published workflow gets client.add with the fetched record; a delivery without the secret gets 401', async () => {
		await n8n.publish(wf.trigger);
		emu.addWebhook(`${productionUrl}?secret=${encodeURIComponent(secret)}`, ['client.add']);
		expect(await n8n.executions(wf.trigger)).toHaveLength(0);

		// A client created through SalesMan's API (as any API client or the CRM itself would): SalesMan delivers
		// client.add to the published trigger. A direct call instead of a node run saves a CLI process (seconds).
		const res = await fetch(`${emuBase}/developer/v2/client`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', login: emu.login, apikey: apiKey },
			body: JSON.stringify({ action: 'add', title: 'E2E hook client' }),
		});
		const answer = (await res.json()) as { result?: string; data?: unknown };
		expect(answer).toMatchObject({ result: 'Успешно' });
		const clid = Number(answer.data);
		expect(emu.getRecord('client', clid)?.title).toBe('E2E hook client');
		await emu.flushDeliveries();
		expect(emu.deliveries.map((d: any) => [d.event, d.status, d.error])).toEqual([['client.add', 200, null]]);

		const [execution] = await n8n.waitForExecutions(wf.trigger, 1, 20_000);
		expect(execution.status).toBe('success');
		const items = nodeItems(execution.data, 'NoOp');
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({ event: 'client.add', entity: 'client', action: 'add', id: String(clid) });
		expect(items[0].data).toMatchObject({ clid: String(clid), event: 'client.add' });
		expect(items[0].recordError).toBeUndefined();
		expect(items[0].record).toMatchObject({ clid, title: 'E2E hook client' });

		// Forged deliveries: no secret, a wrong secret → 401 and no execution.
		const forged = JSON.stringify({ clid: String(clid), autor: '1', user: '1', event: 'client.add', identity: '1', iduser1: '1' });
		for (const url of [productionUrl, `${productionUrl}?secret=not-the-secret-0000000000000000`]) {
			const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: forged });
			expect({ url, status: res.status }).toEqual({ url, status: 401 });
		}
		await sleep(1000);
		expect(await n8n.executions(wf.trigger)).toHaveLength(1);

		// After an n8n restart the URL SalesMan calls still starts the workflow, once per event.
		await n8n.restart();
		emu.deliveries.length = 0;
		const again = await fetch(`${emuBase}/developer/v2/client`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', login: emu.login, apikey: apiKey },
			body: JSON.stringify({ action: 'add', title: 'After restart client' }),
		});
		const second = Number(((await again.json()) as { data?: unknown }).data);
		await emu.flushDeliveries();
		expect(emu.deliveries.map((d: any) => d.status)).toEqual([200]);
		const after = await n8n.waitForExecutions(wf.trigger, 2, 20_000);
		expect(after).toHaveLength(2);
		expect(after.some((e: any) => nodeItems(e.data, 'NoOp')[0]?.id === String(second))).toBe(true);

		await n8n.unpublish(wf.trigger);
	});

	it("neither the API key nor the trigger secret appear in n8n's log or CLI output", () => {
		const log = n8n.fullLog();
		const cli = cliOutput.join('\n');
		expect(log.length).toBeGreaterThan(0);
		expect(cli.length).toBeGreaterThan(0);
		for (const [what, value] of Object.entries({ apiKey, secret })) {
			expect({ what, inLog: log.includes(value), inCli: cli.includes(value) }).toEqual({ what, inLog: false, inCli: false });
		}
	});
});
