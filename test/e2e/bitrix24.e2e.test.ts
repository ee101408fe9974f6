// The Bitrix24 node and trigger inside a real n8n (2.41.1, Node 24), against the Bitrix24 emulator running in
// this jest process. One n8n for the whole file. Action workflows run with `n8n execute --id --rawOutput` (a
// separate CLI process on the same database); trigger workflows are published in the running server and the
// emulator delivers its events to their production URLs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { bitrix24, bitrix24Trigger, chain, codeItems, manualTrigger, mapped, noOp } from './workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems, runError } = require('../../scripts/lib/n8n-server');
const { createBitrix24Emulator } = require('../emulators/bitrix24/server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(120_000);

interface EmuRequest {
	restMethod: string | null;
	auth: 'webhook' | 'oauth' | null;
	status: number | null;
	commands?: Array<{ key: string; restMethod: string; status: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true (or the time is up); returns its last answer. */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
	const t0 = Date.now();
	for (;;) {
		if (await check()) return true;
		if (Date.now() - t0 > timeoutMs) return false;
		await sleep(200);
	}
}

describe('Bitrix24 in a real n8n', () => {
	let n8n: any;
	let emu: any;
	let userFolder: string;
	const wf = { getMany: '', create: '', oauthGetMany: '', outboundTrigger: '', oauthTrigger: '' };
	const hook = { outbound: randomUUID(), oauth: randomUUID() };
	let outboundUrl: string;
	let oauthHandlerUrl: string;
	/** The token pair the OAuth2 credential was created with. */
	let initialTokens: Record<string, unknown>;
	/** Everything n8n printed through the CLI, checked for secrets at the end. */
	const cliOutput: string[] = [];

	const requests = () => emu.requests as EmuRequest[];
	const restRequests = () => requests().filter((r) => r.restMethod !== null && r.restMethod !== 'oauth/token');

	async function run(workflowId: string) {
		const r = await n8n.execute(workflowId);
		cliOutput.push(r.stdout, r.stderr);
		if (!r.output) throw new Error(`execute printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
		return r;
	}

	beforeAll(async () => {
		emu = createBitrix24Emulator();
		const portal: string = await emu.start();
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-bitrix24-'));
		// E2E_PACKAGE_TGZ: test a tgz packed elsewhere (e.g. a consistent snapshot while dist/ is being rebuilt).
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		outboundUrl = `${n8n.baseUrl}/webhook/${hook.outbound}/bitrix24`;
		oauthHandlerUrl = `${n8n.baseUrl}/webhook/${hook.oauth}/bitrix24`;

		const webhookName = 'Bitrix24 emulator (inbound webhook)';
		const webhookCred = {
			webhook: {
				name: webhookName,
				id: await n8n.createCredential({ name: webhookName, type: 'bitrix24WebhookApi', data: { webhookUrl: emu.webhookUrl(), plan: 'standard' } }),
			},
		};
		// An OAuth2 credential that is already connected: POST /rest/credentials keeps `oauthTokenData` on create
		// (only the update endpoint strips it), so the token response of the emulator goes in as it is, as after the consent screen.
		const oauthName = 'Bitrix24 emulator (OAuth2 app)';
		initialTokens = emu.issueTokens();
		const oauthCred = {
			oAuth2: {
				name: oauthName,
				id: await n8n.createCredential({
					name: oauthName,
					type: 'bitrix24OAuth2Api',
					data: {
						portalUrl: portal,
						authUrl: emu.oauthUrls().authorize,
						accessTokenUrl: emu.oauthUrls().token,
						clientId: emu.app.clientId,
						clientSecret: emu.app.clientSecret,
						grantType: 'authorizationCode',
						authentication: 'body',
						scope: '',
						authQueryParameters: '',
						plan: 'standard',
						oauthTokenData: initialTokens,
					},
				}),
			},
		};

		const applicationToken = emu.addOutboundWebhook(outboundUrl, ['ONCRMLEADADD']);
		// One import:workflow CLI call for all of them (each CLI start costs seconds).
		[wf.getMany, wf.create, wf.oauthGetMany, wf.outboundTrigger, wf.oauthTrigger] = await n8n.importWorkflows([
			chain('e2e bitrix24 get many leads', [
				manualTrigger(),
				bitrix24('Get Leads', { resource: 'lead', operation: 'getMany', returnAll: true }, webhookCred),
			]),
			chain('e2e bitrix24 create leads', [
				manualTrigger(),
				codeItems('Two Leads', [
					{ title: 'E2E batch lead A', phone: '+1 555 0100' },
					{ title: 'E2E batch lead B', phone: '+1 555 0101' },
				]),
				bitrix24('Create Lead', { resource: 'lead', operation: 'create', fields: mapped({ TITLE: '={{ $json.title }}', PHONE: '={{ $json.phone }}' }) }, webhookCred),
			]),
			chain('e2e bitrix24 oauth get many', [
				manualTrigger(),
				bitrix24('Get Leads OAuth', { resource: 'lead', operation: 'getMany', returnAll: false, limit: 5 }, oauthCred),
			]),
			chain('e2e bitrix24 trigger outbound webhook', [
				bitrix24Trigger('Bitrix24 Trigger', { events: ['ONCRMLEADADD'], applicationToken, fetchRecord: true }, webhookCred, hook.outbound),
				noOp('NoOp'),
			]),
			chain('e2e bitrix24 trigger oauth', [
				bitrix24Trigger('Bitrix24 Trigger', { events: ['ONCRMDEALADD'], applicationToken: emu.app.applicationToken, fetchRecord: true }, oauthCred, hook.oauth),
				noOp('NoOp'),
			]),
		]);
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (emu) await emu.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it('webhook credential: Get Many Return All reads 3,000 leads in a list call and batches', async () => {
		emu.seed('lead', 3000);
		emu.clearRequests();
		const r = await run(wf.getMany);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Get Leads');
		expect(items).toHaveLength(3000);
		expect(new Set(items.map((i: any) => i.ID)).size).toBe(3000);
		expect(items[0]).toHaveProperty('TITLE');
		const sent = restRequests();
		expect(sent.length).toBeLessThanOrEqual(3);
		expect(sent[0].restMethod).toBe('crm.lead.list');
		expect(sent.slice(1).every((q) => q.restMethod === 'batch')).toBe(true);
		expect(sent.every((q) => q.auth === 'webhook' && q.status === 200)).toBe(true);
	});

	it('webhook credential: Create of 2 input items writes both in one batch request', async () => {
		emu.clearRequests();
		const r = await run(wf.create);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const created = nodeItems(r.output.data, 'Create Lead');
		expect(created).toHaveLength(2);
		const stored = created.map((c: any) => emu.getRecord('lead', c.ID));
		expect(stored.map((s: any) => s.TITLE)).toEqual(['E2E batch lead A', 'E2E batch lead B']);
		expect(stored.map((s: any) => s.PHONE?.[0]?.VALUE)).toEqual(['+1 555 0100', '+1 555 0101']);
		// The node checks the mapped fields against crm.lead.fields before it writes; the writes are one batch.
		const sent = restRequests();
		expect(sent.map((q) => q.restMethod)).toEqual(['crm.lead.fields', 'batch']);
		expect(sent[1].commands?.map((c) => c.restMethod)).toEqual(['crm.lead.add', 'crm.lead.add']);
	});

	it('OAuth2 credential: Get Many works, and after the access token expired n8n refreshes it once', async () => {
		emu.clearRequests();
		const first = await run(wf.oauthGetMany);
		expect(runError(first.output.data)?.message).toBeUndefined();
		expect(nodeItems(first.output.data, 'Get Leads OAuth')).toHaveLength(5);
		expect(restRequests().length).toBeGreaterThan(0);
		expect(restRequests().every((q) => q.auth === 'oauth')).toBe(true);
		expect(requests().filter((q) => q.restMethod === 'oauth/token')).toHaveLength(0);

		emu.expireAccessTokens();
		emu.clearRequests();
		const second = await run(wf.oauthGetMany);
		expect(runError(second.output.data)?.message).toBeUndefined();
		expect(nodeItems(second.output.data, 'Get Leads OAuth')).toHaveLength(5);
		const refreshes = requests().filter((q) => q.restMethod === 'oauth/token');
		expect(refreshes).toHaveLength(1);
		expect(refreshes[0].status).toBe(200);
		const lists = restRequests().filter((q) => q.restMethod === 'crm.lead.list');
		expect(lists[lists.length - 1]).toMatchObject({ auth: 'oauth', status: 200 });
	});

	it('trigger, outbound-webhook mode: a new lead starts one execution; a forged delivery gets 401 and starts none', async () => {
		await n8n.publish(wf.outboundTrigger);
		// The leads created by the earlier tests were delivered too, while nothing listened (n8n answered 404).
		await emu.flushDeliveries();
		emu.clearDeliveries();
		const lead = emu.createRecord('lead', { TITLE: 'E2E lead' });
		await emu.flushDeliveries();
		const delivered = emu.deliveries.filter((d: any) => d.url === outboundUrl);
		expect(delivered.map((d: any) => d.status)).toEqual([200]);
		const [execution] = await n8n.waitForExecutions(wf.outboundTrigger, 1, 20_000);
		expect(execution.status).toBe('success');
		const [item] = nodeItems(execution.data, 'NoOp');
		expect(item).toMatchObject({ event: 'ONCRMLEADADD', id: String(lead.ID), domain: emu.domain });
		expect(item.record).toMatchObject({ ID: String(lead.ID), TITLE: 'E2E lead' });

		const forged = new URLSearchParams({
			event: 'ONCRMLEADADD',
			'data[FIELDS][ID]': String(lead.ID),
			ts: String(Math.floor(Date.now() / 1000)),
			'auth[domain]': emu.domain,
			'auth[member_id]': emu.memberId,
			'auth[application_token]': 'not-the-application-token-0000000',
		});
		const res = await fetch(outboundUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: forged.toString(),
		});
		expect(res.status).toBe(401);
		await sleep(1500);
		expect(await n8n.executions(wf.outboundTrigger)).toHaveLength(1);

		// After an n8n restart the published trigger still receives the portal's deliveries, once each.
		await n8n.restart();
		emu.clearDeliveries();
		const later = emu.createRecord('lead', { TITLE: 'After restart' });
		await emu.flushDeliveries();
		expect(emu.deliveries.filter((d: any) => d.url === outboundUrl).map((d: any) => d.status)).toEqual([200]);
		const after = await n8n.waitForExecutions(wf.outboundTrigger, 2, 20_000);
		expect(after).toHaveLength(2);
		expect(after.some((e: any) => nodeItems(e.data, 'NoOp')[0]?.id === String(later.ID))).toBe(true);
		await n8n.unpublish(wf.outboundTrigger);
	});

	it('trigger, OAuth mode: publishing binds the handler, a new deal starts an execution, unpublishing unbinds', async () => {
		emu.clearRequests();
		await n8n.publish(wf.oauthTrigger);
		emu.clearDeliveries();
		const bound = () => emu.eventHandlers.filter((h: any) => h.handler === oauthHandlerUrl).map((h: any) => h.event);
		expect(bound()).toEqual(['ONCRMDEALADD']);
		// The server used the access token the CLI run above refreshed and saved: no refresh of its own.
		expect(requests().filter((q) => q.restMethod === 'event.bind')).toEqual([expect.objectContaining({ auth: 'oauth', status: 200 })]);
		expect(requests().filter((q) => q.restMethod === 'oauth/token')).toHaveLength(0);

		const deal = emu.createRecord('deal', { TITLE: 'E2E deal' });
		await emu.flushDeliveries();
		expect(emu.deliveries.filter((d: any) => d.url === oauthHandlerUrl).map((d: any) => d.status)).toEqual([200]);
		const [execution] = await n8n.waitForExecutions(wf.oauthTrigger, 1, 20_000);
		expect(execution.status).toBe('success');
		const [item] = nodeItems(execution.data, 'NoOp');
		expect(item).toMatchObject({ event: 'ONCRMDEALADD', id: String(deal.ID), memberId: emu.memberId });
		expect(item.record).toMatchObject({ ID: String(deal.ID), TITLE: 'E2E deal' });

		await n8n.unpublish(wf.oauthTrigger);
		expect(await eventually(() => bound().length === 0)).toBe(true);
		expect(emu.eventHandlers).toEqual([]);
		expect(requests().filter((q) => q.restMethod === 'event.unbind')).toEqual([expect.objectContaining({ auth: 'oauth', status: 200 })]);
	});

	it("neither the webhook URL's secret code nor the OAuth client secret or tokens appear in n8n's log or CLI output", () => {
		const secrets = {
			webhookCode: emu.webhook.code as string,
			clientSecret: emu.app.clientSecret as string,
			accessToken: initialTokens.access_token as string,
			refreshToken: initialTokens.refresh_token as string,
		};
		const log = n8n.fullLog();
		const cli = cliOutput.join('\n');
		for (const [what, secret] of Object.entries(secrets)) {
			expect(secret.length).toBeGreaterThan(8);
			expect({ what, inLog: log.includes(secret), inCli: cli.includes(secret) }).toEqual({ what, inLog: false, inCli: false });
		}
	});
});
