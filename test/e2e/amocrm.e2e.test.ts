// The amoCRM node and trigger inside a real n8n (2.41.1, Node 24), against the amoCRM emulator running in this
// jest process. One n8n for the whole file. Action workflows run with `n8n execute --id --rawOutput` (a separate
// CLI process on the same database); the trigger workflow is published in the running server, registers its
// webhook with the emulator, and the emulator delivers its events to the production URL.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { amoCrm, amoCrmTrigger, chain, codeItems, manualTrigger, mapped, noOp } from './workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems, runError } = require('../../scripts/lib/n8n-server');
const { createAmoCrmEmulator } = require('../emulators/amocrm/server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(120_000);

interface EmuRequest {
	method: string;
	path: string;
	query: Record<string, any>;
	body: any;
	token: string | null;
	status: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true (or the time is up). */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
	const t0 = Date.now();
	for (;;) {
		if (await check()) return true;
		if (Date.now() - t0 > timeoutMs) return false;
		await sleep(200);
	}
}

describe('amoCRM in a real n8n', () => {
	let n8n: any;
	let emu: any;
	let userFolder: string;
	const wf = { getMany: '', create: '', oauthGetMany: '', trigger: '' };
	const hookId = randomUUID();
	let productionUrl: string;
	/** The token pair the OAuth2 credential was created with. */
	let initialTokens: Record<string, unknown>;
	/** The access token n8n got by refreshing. */
	let refreshedAccessToken = '';
	/** The secret the trigger put into its webhook destination (`?s=`). */
	let webhookSecret = '';
	/** Everything n8n printed through the CLI, checked for secrets at the end. */
	const cliOutput: string[] = [];

	const requests = () => emu.requests as EmuRequest[];
	const apiRequests = () => requests().filter((r) => r.path.startsWith('/api/v4/'));
	const tokenRequests = () => requests().filter((r) => r.path === '/oauth2/access_token');

	async function run(workflowId: string) {
		const r = await n8n.execute(workflowId);
		cliOutput.push(r.stdout, r.stderr);
		if (!r.output) throw new Error(`execute printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
		return r;
	}

	beforeAll(async () => {
		emu = createAmoCrmEmulator();
		const base: string = await emu.start();
		const accountDomain = `${emu.account.subdomain}.${emu.account.domain}`;
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-amocrm-'));
		// E2E_PACKAGE_TGZ: test a tgz packed elsewhere (e.g. a consistent snapshot while dist/ is being rebuilt).
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		productionUrl = `${n8n.baseUrl}/webhook/${hookId}/amocrm`;

		const tokenName = 'amoCRM emulator (long-lived token)';
		const tokenCred = {
			longLivedToken: {
				name: tokenName,
				id: await n8n.createCredential({ name: tokenName, type: 'amoCrmApi', data: { accountDomain, accessToken: emu.longLivedToken, baseUrl: base } }),
			},
		};
		// An OAuth2 credential that is already connected: POST /rest/credentials keeps `oauthTokenData` on create
		// (only the update endpoint strips it), so the emulator's token response goes in as after the consent screen.
		const oauthName = 'amoCRM emulator (OAuth2 integration)';
		initialTokens = emu.issueTokens();
		const oauthCred = {
			oAuth2: {
				name: oauthName,
				id: await n8n.createCredential({
					name: oauthName,
					type: 'amoCrmOAuth2Api',
					data: {
						accountDomain,
						baseUrl: base,
						grantType: 'authorizationCode',
						authUrl: `${base}/oauth`,
						accessTokenUrl: `${base}/oauth2/access_token`,
						clientId: emu.oauthClient.client_id,
						clientSecret: emu.oauthClient.client_secret,
						scope: '',
						authQueryParameters: 'mode=popup',
						authentication: 'body',
						oauthTokenData: initialTokens,
					},
				}),
			},
		};

		// One import:workflow CLI call for all of them (each CLI start costs seconds).
		[wf.getMany, wf.create, wf.oauthGetMany, wf.trigger] = await n8n.importWorkflows([
			chain('e2e amocrm get many leads', [
				manualTrigger(),
				amoCrm('Get Leads', { resource: 'lead', operation: 'getMany', returnAll: true }, tokenCred),
			]),
			chain('e2e amocrm create leads', [
				manualTrigger(),
				codeItems('Three Leads', [
					{ name: 'E2E batch lead A', price: 100 },
					{ name: 'E2E batch lead B', price: 200 },
					{ name: 'E2E batch lead C', price: 300 },
				]),
				amoCrm('Create Lead', { resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', price: '={{ $json.price }}' }) }, tokenCred),
			]),
			chain('e2e amocrm oauth get many', [
				manualTrigger(),
				amoCrm('Get Leads OAuth', { resource: 'lead', operation: 'getMany', returnAll: false, limit: 5 }, oauthCred),
			]),
			chain('e2e amocrm trigger', [amoCrmTrigger('amoCRM Trigger', { events: ['add_lead'], fetchRecord: true }, tokenCred, hookId), noOp('NoOp')]),
		]);
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (emu) await emu.stop();
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
	});

	it('long-lived token: Get Many Return All reads 600 leads in pages of 250', async () => {
		emu.seed('leads', 600);
		emu.clearRequests();
		const r = await run(wf.getMany);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const items = nodeItems(r.output.data, 'Get Leads');
		expect(items).toHaveLength(600);
		expect(new Set(items.map((i: any) => i.id)).size).toBe(600);
		expect(items[0]).toHaveProperty('name');

		const sent = apiRequests();
		// Three full-or-partial pages; a fourth request may only be the 204 that ends a listing.
		expect(sent.length === 3 || (sent.length === 4 && sent[3].status === 204)).toBe(true);
		expect(sent.map((q) => [q.method, q.path])).toEqual(sent.map(() => ['GET', '/api/v4/leads']));
		expect(sent.slice(0, 3).map((q) => [String(q.query.limit), String(q.query.page), q.status])).toEqual([
			['250', '1', 200],
			['250', '2', 200],
			['250', '3', 200],
		]);
		expect(sent.every((q) => q.token === emu.longLivedToken)).toBe(true);
	});

	it('long-lived token: Create of 3 input items writes all three in one POST /api/v4/leads', async () => {
		emu.clearRequests();
		const r = await run(wf.create);
		expect(runError(r.output.data)?.message).toBeUndefined();
		const created = nodeItems(r.output.data, 'Create Lead');
		expect(created).toHaveLength(3);
		const stored = created.map((c: any) => emu.getRecord('leads', c.id));
		expect(stored.map((s: any) => [s.name, s.price])).toEqual([
			['E2E batch lead A', 100],
			['E2E batch lead B', 200],
			['E2E batch lead C', 300],
		]);
		const writes = apiRequests().filter((q) => q.method !== 'GET');
		expect(writes.map((q) => [q.method, q.path, q.status])).toEqual([['POST', '/api/v4/leads', 200]]);
		expect(writes[0].body.map((b: any) => b.name)).toEqual(['E2E batch lead A', 'E2E batch lead B', 'E2E batch lead C']);
		// Before writing the node reads only the custom-field definitions it maps against.
		expect(apiRequests().filter((q) => q.method === 'GET').every((q) => q.path === '/api/v4/leads/custom_fields')).toBe(true);
	});

	it('OAuth2: Get Many works, and after the access token expired n8n refreshes it exactly once', async () => {
		emu.clearRequests();
		const first = await run(wf.oauthGetMany);
		expect(runError(first.output.data)?.message).toBeUndefined();
		expect(nodeItems(first.output.data, 'Get Leads OAuth')).toHaveLength(5);
		expect(apiRequests().length).toBeGreaterThan(0);
		expect(apiRequests().every((q) => q.token === initialTokens.access_token && q.status === 200)).toBe(true);
		expect(tokenRequests()).toHaveLength(0);

		emu.expireAccessTokens();
		emu.clearRequests();
		const second = await run(wf.oauthGetMany);
		const refreshes = tokenRequests();
		expect(runError(second.output.data)?.message).toBeUndefined();
		expect(nodeItems(second.output.data, 'Get Leads OAuth')).toHaveLength(5);
		expect(refreshes.map((q) => [q.method, q.status, q.body?.grant_type])).toEqual([['POST', 200, 'refresh_token']]);
		const reads = apiRequests();
		// The expired token is refused once (401), then the read is repeated with the new token.
		expect(reads[0]).toMatchObject({ token: initialTokens.access_token, status: 401 });
		const last = reads[reads.length - 1];
		expect(last.status).toBe(200);
		expect(last.token).not.toBe(initialTokens.access_token);
		expect(emu.tokenInfo(last.token)).toMatchObject({ kind: 'oauth', revoked: false });
		refreshedAccessToken = last.token as string;
	});

	it('trigger: publishing registers a secret webhook, a new lead starts one execution, a forged delivery gets 401, unpublishing removes it', async () => {
		expect(emu.webhooks()).toEqual([]);
		await n8n.publish(wf.trigger);
		const hooks = emu.webhooks();
		expect(hooks).toHaveLength(1);
		expect(hooks[0].destination.startsWith(`${productionUrl}?s=`)).toBe(true);
		expect(hooks[0].destination.length).toBeGreaterThan(`${productionUrl}?s=`.length + 16);
		expect(hooks[0].settings).toEqual(['add_lead']);
		webhookSecret = new URL(hooks[0].destination).searchParams.get('s') ?? '';

		emu.clearDeliveries();
		const lead = emu.createRecord('leads', { name: 'E2E hook' });
		await emu.flushDeliveries();
		expect(emu.deliveries.map((d: any) => [d.destination, d.status])).toEqual([[hooks[0].destination, 200]]);
		const [execution] = await n8n.waitForExecutions(wf.trigger, 1, 20_000);
		expect(execution.status).toBe('success');
		const items = nodeItems(execution.data, 'NoOp');
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({ event: 'add_lead', entity: 'lead', action: 'add', id: String(lead.id) });
		expect(items[0].account).toEqual({ id: String(emu.account.id), subdomain: emu.account.subdomain });
		expect(items[0].record).toMatchObject({ id: lead.id, name: 'E2E hook' });

		// A delivery without the secret, and one with a wrong secret: 401, no execution.
		const forged = new URLSearchParams({
			'leads[add][0][id]': String(lead.id),
			'leads[add][0][name]': 'Forged',
			'account[subdomain]': emu.account.subdomain,
			'account[id]': String(emu.account.id),
		}).toString();
		for (const url of [productionUrl, `${productionUrl}?s=not-the-secret-0000000000000000`]) {
			const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: forged });
			expect({ url, status: res.status }).toEqual({ url, status: 401 });
		}
		await sleep(1500);
		expect(await n8n.executions(wf.trigger)).toHaveLength(1);

		// After an n8n restart the same webhook (and its secret, kept in the workflow's static data) still works:
		// one new execution for one new lead, nothing registered twice.
		await n8n.restart();
		emu.clearDeliveries();
		const later = emu.createRecord('leads', { name: 'After restart' });
		await emu.flushDeliveries();
		expect(emu.deliveries.map((d: any) => d.status)).toEqual([200]);
		const after = await n8n.waitForExecutions(wf.trigger, 2, 20_000);
		expect(after).toHaveLength(2);
		const newest = after.find((e: any) => nodeItems(e.data, 'NoOp')[0]?.id === String(later.id));
		expect(newest?.status).toBe('success');
		expect(emu.webhooks()).toHaveLength(1);

		await n8n.unpublish(wf.trigger);
		expect(await eventually(() => emu.webhooks().length === 0)).toBe(true);
		expect(requests().filter((q) => q.method === 'DELETE' && q.path === '/api/v4/webhooks').map((q) => q.status)).toEqual([204]);
	});

	it("neither the long-lived token, the OAuth client secret and tokens nor the webhook secret appear in n8n's log or CLI output", () => {
		const secrets: Record<string, string> = {
			longLivedToken: emu.longLivedToken,
			clientSecret: emu.oauthClient.client_secret,
			accessToken: initialTokens.access_token as string,
			refreshToken: initialTokens.refresh_token as string,
		};
		if (refreshedAccessToken) secrets.refreshedAccessToken = refreshedAccessToken;
		if (webhookSecret) secrets.webhookSecret = webhookSecret;
		const log = n8n.fullLog();
		const cli = cliOutput.join('\n');
		for (const [what, secret] of Object.entries(secrets)) {
			expect(secret.length).toBeGreaterThan(8);
			expect({ what, inLog: log.includes(secret), inCli: cli.includes(secret) }).toEqual({ what, inLog: false, inCli: false });
		}
	});
});
