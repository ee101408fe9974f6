// The package pack-installed into a real n8n (2.41.1), against the real Vtiger 8 and SalesMan 2025.4 of
// ../shared/real-crm: the editor's credential tests, action workflows run with `n8n execute`, the Vtiger poller and
// the SalesMan trigger published in the running server and started by the real CRMs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { chain, codeItems, manualTrigger, mapped, noOp, salesMan, salesManTrigger, vtiger, vtigerTrigger } from '../e2e/workflows';
import { assertReachable, RawVtiger, registerSalesManWebhook, RUN, salesMan as rawSalesMan, SALESMAN, VTIGER } from './setup';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems, runError } = require('../../scripts/lib/n8n-server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(180_000);

describe('the package in a real n8n, against the real Vtiger and SalesMan', () => {
	let n8n: any;
	let userFolder: string;
	const vtigerData = { baseUrl: VTIGER.baseUrl, username: VTIGER.username, accessKey: VTIGER.accessKey };
	const salesManData = { baseUrl: SALESMAN.baseUrl, login: SALESMAN.login, apiKey: SALESMAN.apiKey };
	const creds = { vtiger: { id: '', name: 'Real Vtiger' }, salesMan: { id: '', name: 'Real SalesMan' } };
	const wf = { vtigerGetMany: '', vtigerTrigger: '', salesManCreate: '', salesManTrigger: '' };
	const hookId = randomUUID();
	const secret = `realN8nSalesManSecret-${RUN}`;
	const cliOutput: string[] = [];
	const vtigerRaw = new RawVtiger();

	async function run(workflowId: string) {
		const r = await n8n.execute(workflowId);
		cliOutput.push(r.stdout, r.stderr);
		if (!r.output) throw new Error(`execute printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
		expect(runError(r.output.data)?.message).toBeUndefined();
		return r;
	}

	beforeAll(async () => {
		await assertReachable(VTIGER.baseUrl, 'The real Vtiger');
		await assertReachable(SALESMAN.baseUrl, 'The real SalesMan');
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-real-'));
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		creds.vtiger.id = await n8n.createCredential({ name: creds.vtiger.name, type: 'vtigerApi', data: vtigerData });
		creds.salesMan.id = await n8n.createCredential({ name: creds.salesMan.name, type: 'salesManApi', data: salesManData });
		[wf.vtigerGetMany, wf.vtigerTrigger, wf.salesManCreate, wf.salesManTrigger] = await n8n.importWorkflows([
			chain('real vtiger get many', [
				manualTrigger(),
				vtiger('Run Accounts', { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true, filters: { conditions: [{ field: 'accountname', operator: 'like', value: `${RUN} n8n %` }] } }, creds.vtiger),
			]),
			chain('real vtiger trigger', [vtigerTrigger('Vtiger Trigger', { module: 'Accounts', event: 'created' }, creds.vtiger), noOp('NoOp')]),
			chain('real salesman create many', [
				manualTrigger(),
				codeItems('Two Clients', [{ title: `${RUN} n8n client A` }, { title: `${RUN} n8n client B` }]),
				salesMan('Create Clients', { resource: 'client', operation: 'createMany', fields: mapped({ title: '={{ $json.title }}' }) }, creds.salesMan),
			]),
			chain('real salesman trigger', [salesManTrigger('SalesMan Trigger', { secret, events: ['client.add'], fetchRecord: true }, creds.salesMan, hookId), noOp('NoOp')]),
		]);
	});

	afterAll(async () => {
		registerSalesManWebhook('http://127.0.0.1:9/unused', ['none']);
		if (n8n) await n8n.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it("the editor's credential test passes with the right keys and fails clearly with wrong ones", async () => {
		expect(await n8n.testCredential({ ...creds.vtiger, type: 'vtigerApi', data: vtigerData })).toEqual({ status: 'OK', message: 'Logged in as user 19x1' });
		expect(await n8n.testCredential({ ...creds.salesMan, type: 'salesManApi', data: salesManData })).toMatchObject({ status: 'OK' });

		const badVtiger = await n8n.testCredential({ ...creds.vtiger, type: 'vtigerApi', data: { ...vtigerData, accessKey: 'wrongAccessKey42' } });
		expect(badVtiger.status).toBe('Error');
		expect(badVtiger.message).toMatch(/Login refused for user "admin"/);
		const badSalesMan = await n8n.testCredential({ ...creds.salesMan, type: 'salesManApi', data: { ...salesManData, apiKey: 'wrongApiKey42wrongApiKey42' } });
		expect(badSalesMan.status).toBe('Error');
		expect(JSON.stringify([badVtiger, badSalesMan])).not.toMatch(/wrongAccessKey42|wrongApiKey42/);
	});

	it('a Vtiger workflow reads the accounts it should, across a page bound', async () => {
		const names = Array.from({ length: 105 }, (_, i) => `${RUN} n8n ${String(i).padStart(3, '0')}`);
		for (const accountname of names) await vtigerRaw.create('Accounts', { accountname });
		const r = await run(wf.vtigerGetMany);
		const items = nodeItems(r.output.data, 'Run Accounts');
		expect(items.map((i: any) => i.accountname).sort()).toEqual(names);
	});

	it('a SalesMan workflow creates clients in one add.list, and SalesMan has them', async () => {
		const r = await run(wf.salesManCreate);
		const created = nodeItems(r.output.data, 'Create Clients');
		expect(created).toHaveLength(2);
		for (const [i, item] of created.entries()) {
			const stored = await rawSalesMan('client', { action: 'info', clid: Number(item.clid) });
			expect(stored.json.data.title).toBe(`${RUN} n8n client ${'AB'[i]}`);
		}
	});

	it('the published SalesMan trigger runs for a real delivery from SalesMan, with the fetched record', async () => {
		await n8n.publish(wf.salesManTrigger);
		registerSalesManWebhook(`${n8n.baseUrl}/webhook/${hookId}/salesman?secret=${encodeURIComponent(secret)}`, ['client.add']);
		const title = `${RUN} n8n hooked client`;
		const clid = Number((await rawSalesMan('client', { action: 'add', title })).json.data);
		const [execution] = await n8n.waitForExecutions(wf.salesManTrigger, 1, 30_000);
		expect(execution.status).toBe('success');
		expect(nodeItems(execution.data, 'NoOp')).toEqual([expect.objectContaining({ event: 'client.add', id: String(clid), record: expect.objectContaining({ clid, title }) })]);

		const forged = await fetch(`${n8n.baseUrl}/webhook/${hookId}/salesman`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clid: String(clid), event: 'client.add' }) });
		expect(forged.status).toBe(401);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		expect(await n8n.executions(wf.salesManTrigger)).toHaveLength(1);
		await n8n.unpublish(wf.salesManTrigger);
	});

	it('the published Vtiger trigger picks up an account created in Vtiger, once', async () => {
		await n8n.publish(wf.vtigerTrigger); // the first poll only sets the cursor
		const created = await vtigerRaw.create('Accounts', { accountname: `${RUN} n8n polled` });
		const withId = (e: any) => nodeItems(e.data, 'NoOp').some((i: any) => i.id === created.id);
		const [hit] = await n8n.waitForExecutions(wf.vtigerTrigger, 1, 90_000, withId);
		expect(hit.status).toBe('success');
		expect(nodeItems(hit.data, 'NoOp').map((i: any) => i.accountname)).toEqual([`${RUN} n8n polled`]);
		await n8n.unpublish(wf.vtigerTrigger);
		expect((await n8n.executions(wf.vtigerTrigger)).filter(withId)).toHaveLength(1);
	});

	it("no key or secret appears in n8n's log or CLI output", () => {
		const text = `${n8n.fullLog()}\n${cliOutput.join('\n')}`;
		for (const [what, value] of Object.entries({ vtigerKey: VTIGER.accessKey, salesManKey: SALESMAN.apiKey, secret })) {
			expect({ what, found: text.includes(value) }).toEqual({ what, found: false });
		}
	});
});
