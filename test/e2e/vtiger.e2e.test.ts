// The Vtiger node and trigger inside a real n8n (2.41.1, Node 24), against the Vtiger emulator running in
// this jest process. Workflows run with `n8n execute --id --rawOutput` (a separate CLI process on the same
// database) and, for the trigger, inside the running server (published, polled once a minute).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chain, manualTrigger, mapped, noOp, vtiger, vtigerTrigger } from './workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems, runError } = require('../../scripts/lib/n8n-server');
const { createVtigerEmulator } = require('../emulators/vtiger/server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(240_000);

interface EmuRequest {
	method: string;
	operation: string;
	params: Record<string, string>;
}

describe('Vtiger in a real n8n', () => {
	let n8n: any;
	let emu: any;
	let userFolder: string;
	let accessKey: string;
	let cred: { id: string; name: string };
	const wf = { getMany: '', createGet: '', badFilter: '', trigger: '', filterEq: '' };
	/** Everything n8n printed through the CLI, checked for the access key at the end. */
	const cliOutput: string[] = [];

	const ops = () => (emu.requests as EmuRequest[]).map((r) => r.operation.toLowerCase());
	const count = (op: string) => ops().filter((o) => o === op).length;

	async function run(workflowId: string) {
		const r = await n8n.execute(workflowId);
		cliOutput.push(r.stdout, r.stderr);
		if (!r.output) throw new Error(`execute printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
		return r;
	}

	beforeAll(async () => {
		emu = createVtigerEmulator();
		const baseUrl: string = await emu.start();
		accessKey = emu.accessKeyFor('admin');
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-vtiger-'));
		// E2E_PACKAGE_TGZ: test a tgz packed elsewhere (e.g. a consistent snapshot while dist/ is being rebuilt).
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		const name = 'Vtiger emulator';
		const id = await n8n.createCredential({ name, type: 'vtigerApi', data: { baseUrl, username: 'admin', accessKey } });
		cred = { id, name };
		// One import:workflow CLI call for all of them (each CLI start costs seconds).
		[wf.getMany, wf.createGet, wf.badFilter, wf.trigger, wf.filterEq] = await n8n.importWorkflows([
			chain('e2e get many accounts', [
				manualTrigger(),
				vtiger('Get Accounts', { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true }, cred),
			]),
			chain('e2e create then get', [
				manualTrigger(),
				vtiger(
					'Create Account',
					{ resource: 'record', operation: 'create', module: 'Accounts', fields: mapped({ accountname: 'E2E Create Co', assigned_user_id: '19x1', website: 'https://e2e.example' }) },
					cred,
				),
				vtiger('Get Account', { resource: 'record', operation: 'get', module: 'Accounts', recordId: '={{ $json.id }}' }, cred),
			]),
			chain('e2e bad filter', [
				manualTrigger(),
				vtiger(
					'Bad Filter',
					{
						resource: 'record',
						operation: 'getMany',
						module: 'Accounts',
						returnAll: false,
						limit: 10,
						filters: { conditions: [{ field: 'no_such_field', operator: 'notEquals', value: 'x' }] },
					},
					cred,
					{ continueOnFail: true, onError: 'continueRegularOutput' },
				),
			]),
			chain('e2e trigger accounts created', [vtigerTrigger('Vtiger Trigger', { module: 'Accounts', event: 'created' }, cred), noOp('NoOp')]),
			chain('e2e filter equals', [
				manualTrigger(),
				vtiger(
					'Technology Accounts',
					{
						resource: 'record',
						operation: 'getMany',
						module: 'Accounts',
						returnAll: true,
						filters: { conditions: [{ field: 'industry', operator: 'equals', value: 'Technology' }] },
						options: { sortField: 'accountname', sortDirection: 'ASC' },
					},
					cred,
				),
			]),
		]);
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (emu) await emu.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it('a. Get Many Accounts, Return All: 250 records, one login, three queries', async () => {
		emu.seed('Accounts', 250);
		emu.clearRequests();
		const r = await run(wf.getMany);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Get Accounts');
		expect(items).toHaveLength(250);
		expect(new Set(items.map((i: any) => i.id)).size).toBe(250);
		expect(items[0]).toHaveProperty('accountname');
		expect(count('getchallenge')).toBe(1);
		expect(count('login')).toBe(1);
		expect(count('query')).toBe(3);
	});

	it('b. Create an Account, then Get it by {{ $json.id }}', async () => {
		emu.clearRequests();
		const r = await run(wf.createGet);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const [created] = nodeItems(r.output.data, 'Create Account');
		const got = nodeItems(r.output.data, 'Get Account');
		expect(created.id).toMatch(/^11x\d+$/);
		expect(got).toHaveLength(1);
		expect(got[0]).toMatchObject({ id: created.id, accountname: 'E2E Create Co', website: 'https://e2e.example' });
		expect(emu.getRecord(created.id)).toMatchObject({ accountname: 'E2E Create Co' });
		expect(count('create')).toBe(1);
		expect(count('retrieve')).toBe(1);
	});

	it('c. an unknown field in a Get Many filter with continueOnFail gives an item with the error', async () => {
		const r = await run(wf.badFilter);
		// The run itself succeeds: the error is on the item. (Not the CLI's exit code: on a loaded machine the
		// CLI was once seen ending by a signal after it had printed the whole execution.)
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Bad Filter');
		expect(items).toHaveLength(1);
		const error = JSON.stringify(items[0].error);
		expect(error).toMatch(/no_such_field/);
		expect(error).not.toMatch(/unknown operator/);
	});

	it('d. a Get Many filter with the "=" operator (as the editor saves it) returns only matching records', async () => {
		// n8n reads any parameter value that starts with "=" as an expression: the option value "=" must survive that.
		const r = await run(wf.filterEq);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Technology Accounts');
		expect(items.length).toBeGreaterThan(0);
		expect(items.every((i: any) => i.industry === 'Technology')).toBe(true);
		const names = items.map((i: any) => String(i.accountname).toLowerCase());
		expect(names).toEqual([...names].sort());
	});

	it('the trigger emits a new record once, and nothing twice after a restart', async () => {
		const wfId = wf.trigger;
		await n8n.publish(wfId); // runs poll() once: that first poll only sets the cursor
		const before = (await n8n.executions(wfId)).map((e: any) => e.id);
		const withId = (recordId: string) => (e: any) => nodeItems(e.data, 'NoOp').some((i: any) => i.id === recordId);

		const first = emu.createRecord('Accounts', { accountname: 'E2E Trigger One', assigned_user_id: '19x1' });
		const [hit] = await n8n.waitForExecutions(wfId, 1, 80_000, withId(first.id));
		expect(hit.status).toBe('success');
		expect(nodeItems(hit.data, 'NoOp').map((i: any) => i.id)).toEqual([first.id]);

		await n8n.restart();
		const seen = new Set([...before, ...(await n8n.executions(wfId)).map((e: any) => e.id)]);
		const second = emu.createRecord('Accounts', { accountname: 'E2E Trigger Two', assigned_user_id: '19x1' });
		await n8n.waitForExecutions(wfId, 1, 80_000, withId(second.id));
		await new Promise((r) => setTimeout(r, 2000));
		const fresh = (await n8n.executions(wfId)).filter((e: any) => !seen.has(e.id));
		const emitted = fresh.map((e: any) => nodeItems(e.data, 'NoOp').map((i: any) => i.id));
		expect(emitted).toEqual([[second.id]]);
		await n8n.unpublish(wfId);
	});

	it('the access key appears in neither the n8n log nor the CLI output', () => {
		expect(accessKey.length).toBeGreaterThan(8);
		expect(n8n.fullLog()).not.toContain(accessKey);
		expect(cliOutput.join('\n')).not.toContain(accessKey);
	});
});
