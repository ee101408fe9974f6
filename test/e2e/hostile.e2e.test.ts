// Hostile deliveries to the three webhook triggers inside a real n8n (2.41.1): what only n8n itself can show —
// its body parser (size limit, invalid JSON, deep nesting, content types, qs query parsing) runs before our node,
// a node that throws gets a failed execution recorded, and the process must stay up. One n8n, three published
// triggers (Bitrix24 outbound-webhook mode, amoCRM, SalesMan), each in front of its emulator, plus one workflow of
// failing actions whose stored execution and n8n's log are searched for credentials. The in-process counterpart
// with many more cases is test/reliability/hostile.test.ts. Build first (`npm run build`); about 45 s.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes, randomUUID } from 'crypto';
import { apache404, trapProxy } from '../reliability/trapProxy';
import { amoCrmTrigger, bitrix24, bitrix24Trigger, chain, mapped, noOp, salesMan, salesManTrigger } from './workflows';

/* eslint-disable @typescript-eslint/no-require-imports */
const { packPackage, startN8n, nodeItems } = require('../../scripts/lib/n8n-server');
const { createBitrix24Emulator } = require('../emulators/bitrix24/server');
const { createAmoCrmEmulator } = require('../emulators/amocrm/server');
const { createSalesManEmulator } = require('../emulators/salesman/server');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(120_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const MB = 1024 * 1024;

/** `a[b][b]…[b]=1`, `depth` brackets deep. */
const deepFormKey = (depth: number) => `a${'[b]'.repeat(depth)}=1`;
/** `{"x":{"x":…{}}}`, `depth` objects deep. */
const deepJson = (depth: number) => `${'{"x":'.repeat(depth)}{}${'}'.repeat(depth)}`;

interface Case {
	name: string;
	url: string;
	body: string | Buffer;
	contentType?: string;
	/** What n8n / the trigger should answer. */
	status: number;
}

describe('hostile deliveries in a real n8n', () => {
	let n8n: any;
	let b24: any;
	let amo: any;
	let sm: any;
	let userFolder: string;
	const wf = { b24: '', amo: '', sm: '', failing: '' };
	/** A web server in front of the Bitrix24 emulator that answers crm.lead.get with Apache's own 404 page. */
	let apache: Awaited<ReturnType<typeof trapProxy>>;
	/** The stored execution of the failing-actions workflow. */
	let failingRun: any;
	const hooks = { b24: randomUUID(), amo: randomUUID(), sm: randomUUID(), failing: randomUUID() };
	const url = { b24: '', amo: '', sm: '' };
	// Random per run, so that finding them in n8n's log means they leaked.
	const smKey = `e2eHostileSalesManKey${randomBytes(10).toString('hex')}`;
	const smSecret = `e2eHostileSalesManSecret${randomBytes(10).toString('hex')}`;
	const smWrongKeyValue = `e2eHostileWrongKey${randomBytes(10).toString('hex')}`;
	let b24Token = '';
	let amoSecretUrl = '';
	let amoSecret = '';
	const answered: Array<{ name: string; status: number; ms: number }> = [];

	async function post(target: string, body: string | Buffer, contentType?: string) {
		const t0 = Date.now();
		const res = await fetch(target, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });
		await res.arrayBuffer();
		return { status: res.status, ms: Date.now() - t0 };
	}
	const healthy = async () => (await fetch(`${n8n.baseUrl}/healthz`)).status === 200;
	const count = async (workflowId: string) => (await n8n.executions(workflowId)).length;

	beforeAll(async () => {
		b24 = createBitrix24Emulator();
		amo = createAmoCrmEmulator();
		sm = createSalesManEmulator({ apiKey: smKey });
		const [, amoBase, smBase] = await Promise.all([b24.start(), amo.start(), sm.start()]);
		userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-hostile-'));
		n8n = await startN8n({ userFolder, packageTgz: process.env.E2E_PACKAGE_TGZ || packPackage(ROOT) });
		url.b24 = `${n8n.baseUrl}/webhook/${hooks.b24}/bitrix24`;
		url.amo = `${n8n.baseUrl}/webhook/${hooks.amo}/amocrm`;
		url.sm = `${n8n.baseUrl}/webhook/${hooks.sm}/salesman`;

		const cred = async (name: string, type: string, data: Record<string, unknown>) => ({ name, id: await n8n.createCredential({ name, type, data }) });
		const b24Cred = await cred('Bitrix24 emulator', 'bitrix24WebhookApi', { webhookUrl: b24.webhookUrl(), plan: 'standard' });
		const amoCred = await cred('amoCRM emulator', 'amoCrmApi', { accountDomain: `${amo.account.subdomain}.${amo.account.domain}`, accessToken: amo.longLivedToken, baseUrl: amoBase });
		const smCred = await cred('SalesMan emulator', 'salesManApi', { baseUrl: smBase, login: sm.login, apiKey: smKey });
		const smWrongKey = await cred('SalesMan emulator, wrong key', 'salesManApi', { baseUrl: smBase, login: sm.login, apiKey: smWrongKeyValue });
		apache = await trapProxy(b24.baseUrl);
		Object.assign(apache.state, { trap: (url: string) => url.includes('crm.lead.get'), page: apache404, status: 404 });
		const b24BehindApache = await cred('Bitrix24 behind a web server', 'bitrix24WebhookApi', { webhookUrl: String(b24.webhookUrl()).replace(b24.baseUrl, apache.url), plan: 'standard' });
		b24Token = b24.addOutboundWebhook(url.b24, ['ONCRMLEADADD']);
		[wf.b24, wf.amo, wf.sm, wf.failing] = await n8n.importWorkflows([
			chain('e2e hostile bitrix24', [bitrix24Trigger('Bitrix24 Trigger', { events: ['ONCRMLEADADD'], applicationToken: b24Token }, { webhook: b24Cred }, hooks.b24), noOp('NoOp')]),
			chain('e2e hostile amocrm', [amoCrmTrigger('amoCRM Trigger', { events: ['add_lead'] }, { longLivedToken: amoCred }, hooks.amo), noOp('NoOp')]),
			chain('e2e hostile salesman', [salesManTrigger('SalesMan Trigger', { secret: smSecret, events: ['client.add'] }, smCred, hooks.sm), noOp('NoOp')]),
			// Failing actions, each with Continue On Fail, started by a delivery (no CLI process: the server runs it).
			chain('e2e hostile failing actions', [
				salesManTrigger('Start', { secret: smSecret, events: ['client.add'] }, smCred, hooks.failing),
				salesMan('SalesMan Create (answer lost)', { resource: 'client', operation: 'create', fields: mapped({ title: 'Lost' }) }, smCred, { onError: 'continueRegularOutput' }),
				salesMan('SalesMan Get (wrong key)', { resource: 'client', operation: 'get', recordId: '1' }, smWrongKey, { onError: 'continueRegularOutput' }),
				bitrix24('Bitrix24 Get (Apache 404)', { resource: 'lead', operation: 'get', recordId: '1' }, { webhook: b24BehindApache }, { onError: 'continueRegularOutput' }),
			]),
		]);
		await Promise.all([n8n.publish(wf.b24), n8n.publish(wf.amo), n8n.publish(wf.sm), n8n.publish(wf.failing)]);
		amoSecretUrl = amo.webhooks()[0].destination;
		amoSecret = new URL(amoSecretUrl).searchParams.get('s') ?? '';
	});

	afterAll(async () => {
		if (n8n) await n8n.stop();
		if (apache) await apache.close();
		await Promise.all([b24, amo, sm].filter(Boolean).map(async (emu) => await emu.stop()));
		if (userFolder && !process.env.E2E_KEEP) fs.rmSync(userFolder, { recursive: true, force: true });
		// eslint-disable-next-line no-console
		if (answered.length && process.env.HOSTILE_VERBOSE) console.log(answered.map((a) => `${String(a.status).padEnd(4)} ${String(a.ms).padStart(5)} ms  ${a.name}`).join('\n'));
	});

	it('hostile bodies: n8n or the trigger answers 4xx (n8n: 500 past 16 MiB), n8n stays healthy, no execution starts', async () => {
		const smWithSecret = `${url.sm}?secret=${smSecret}`;
		const b24Forged = () => `event=ONCRMLEADADD&data[FIELDS][ID]=1&auth[domain]=${encodeURIComponent(b24.domain)}&auth[application_token]=forged`;
		const tenMb = 'x'.repeat(10 * MB);
		const cases: Case[] = [
			// n8n's JSON parser refuses invalid JSON before any node runs.
			{ name: 'bitrix24: invalid JSON', url: url.b24, body: '{"auth": {"application_token": ', contentType: JSON_TYPE, status: 422 },
			{ name: 'amocrm (secret): invalid JSON', url: amoSecretUrl, body: '{"account": [}', contentType: JSON_TYPE, status: 422 },
			{ name: 'salesman (secret): invalid JSON', url: smWithSecret, body: '{"event": "client.add", "clid": ', contentType: JSON_TYPE, status: 422 },
			// Binary garbage under every content type.
			{ name: 'bitrix24: binary garbage as a form', url: url.b24, body: randomBytes(4096), contentType: FORM, status: 401 },
			{ name: 'bitrix24: binary garbage, octet-stream', url: url.b24, body: randomBytes(4096), contentType: 'application/octet-stream', status: 401 },
			{ name: 'amocrm (secret): binary garbage as a form', url: amoSecretUrl, body: randomBytes(4096), contentType: FORM, status: 403 },
			{ name: 'salesman (secret): binary garbage as JSON', url: smWithSecret, body: Buffer.concat([Buffer.from([0xff, 0xfe]), randomBytes(4096)]), contentType: JSON_TYPE, status: 422 },
			// 10 MB bodies (under n8n's 16 MiB limit) reach the trigger, which refuses them.
			{ name: 'bitrix24: forged 10 MB form', url: url.b24, body: `${b24Forged()}&pad=${tenMb}`, contentType: FORM, status: 401 },
			{ name: 'amocrm: no secret, 10 MB form', url: url.amo, body: `pad=${tenMb}`, contentType: FORM, status: 401 },
			{ name: 'salesman: no secret, 10 MB JSON', url: url.sm, body: JSON.stringify({ event: 'client.add', clid: '1', pad: tenMb }), contentType: JSON_TYPE, status: 401 },
			{ name: 'salesman (secret): 10 MB JSON that is no event', url: smWithSecret, body: JSON.stringify({ event: 'nothing', pad: tenMb }), contentType: JSON_TYPE, status: 400 },
			// Over n8n's limit (N8N_PAYLOAD_SIZE_MAX, 16 MiB): n8n's raw-body reader throws "request entity too large"
			// before the node runs, and n8n answers that with its generic 500 (no execution is recorded).
			{ name: 'bitrix24: 17 MB form (n8n: 500, no execution)', url: url.b24, body: `pad=${'x'.repeat(17 * MB)}`, contentType: FORM, status: 500 },
			// 10,000-deep nesting in form keys and in JSON.
			{ name: 'bitrix24: 10,000-deep form key', url: url.b24, body: `${b24Forged()}&${deepFormKey(10_000)}`, contentType: FORM, status: 401 },
			{ name: 'amocrm (secret): 10,000-deep form key', url: amoSecretUrl, body: deepFormKey(10_000), contentType: FORM, status: 403 },
			{ name: 'bitrix24: 10,000-deep JSON', url: url.b24, body: `{"auth":{"application_token":"forged"},"data":${deepJson(10_000)}}`, contentType: JSON_TYPE, status: 401 },
			{ name: 'salesman: no secret, 10,000-deep JSON', url: url.sm, body: `{"event":"client.add","clid":"1","x":${deepJson(10_000)}}`, contentType: JSON_TYPE, status: 401 },
			{ name: 'salesman (secret): 10,000-deep JSON that is no event', url: smWithSecret, body: `{"event":"nothing","x":${deepJson(10_000)}}`, contentType: JSON_TYPE, status: 400 },
			// Prototype keys in the body and in the query string (n8n parses queries with qs, allowPrototypes).
			{ name: 'bitrix24: __proto__ form keys', url: url.b24, body: `__proto__[polluted]=1&a[__proto__][polluted]=1&constructor[prototype][polluted]=1&${b24Forged()}`, contentType: FORM, status: 401 },
			{ name: 'bitrix24: __proto__ JSON', url: url.b24, body: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"auth":{"__proto__":{"application_token":"x"}}}', contentType: JSON_TYPE, status: 401 },
			{ name: 'amocrm: __proto__ in the query', url: `${url.amo}?__proto__[polluted]=1&constructor[prototype][polluted]=1&s[__proto__]=x`, body: 'a=1', contentType: FORM, status: 401 },
			{ name: 'salesman: __proto__ in the query', url: `${url.sm}?__proto__[secret]=${smSecret}&constructor[prototype][polluted]=1`, body: '{"event":"client.add","clid":"1"}', contentType: JSON_TYPE, status: 401 },
			{ name: 'salesman (secret): __proto__ JSON event', url: smWithSecret, body: '{"__proto__":{"event":"client.add"},"constructor":{"prototype":{"polluted":1}}}', contentType: JSON_TYPE, status: 400 },
			// Wrong content types.
			{ name: 'bitrix24: form body sent as text/plain', url: url.b24, body: b24Forged(), contentType: 'text/plain', status: 401 },
			{ name: 'bitrix24: form body sent as JSON', url: url.b24, body: b24Forged(), contentType: JSON_TYPE, status: 422 },
			{ name: 'bitrix24: multipart', url: url.b24, body: multipart({ event: 'ONCRMLEADADD', 'auth[application_token]': 'forged' }), contentType: `multipart/form-data; boundary=${BOUNDARY}`, status: 401 },
			{ name: 'bitrix24: XML', url: url.b24, body: '<auth><application_token>forged</application_token></auth>', contentType: 'application/xml', status: 401 },
			{ name: 'bitrix24: no content type', url: url.b24, body: b24Forged(), status: 401 },
			{ name: 'salesman (secret): JSON sent as text/plain', url: smWithSecret, body: '{"event":"client.add","clid":"1"}', contentType: 'text/plain', status: 400 },
			{ name: 'salesman (secret): JSON sent as a form', url: smWithSecret, body: '{"event":"client.add","clid":"1"}', contentType: FORM, status: 400 },
			{ name: 'salesman (secret): multipart', url: smWithSecret, body: multipart({ event: 'client.add', clid: '1' }), contentType: `multipart/form-data; boundary=${BOUNDARY}`, status: 400 },
			{ name: 'amocrm (secret): JSON body', url: amoSecretUrl, body: '{"leads":{"add":[{"id":"1"}]}}', contentType: JSON_TYPE, status: 403 },
		];
		const before = { b24: await count(wf.b24), amo: await count(wf.amo), sm: await count(wf.sm) };
		const results: Array<{ name: string; status: number }> = [];
		for (const c of cases) {
			const { status, ms } = await post(c.url, c.body, c.contentType);
			answered.push({ name: c.name, status, ms });
			results.push({ name: c.name, status });
		}
		expect(results).toEqual(cases.map((c) => ({ name: c.name, status: c.status })));
		expect(await healthy()).toBe(true);
		await sleep(1500);
		expect({ b24: await count(wf.b24), amo: await count(wf.amo), sm: await count(wf.sm) }).toEqual(before);
	});

	it('genuine deliveries still start one execution each afterwards (and a replay starts another: no nonce)', async () => {
		const before = { b24: await count(wf.b24), amo: await count(wf.amo), sm: await count(wf.sm) };
		b24.clearDeliveries();
		amo.clearDeliveries();
		b24.createRecord('lead', { TITLE: 'Genuine' });
		amo.createRecord('leads', { name: 'Genuine' });
		await Promise.all([b24.flushDeliveries(), amo.flushDeliveries()]);
		expect(b24.deliveries.map((d: any) => d.status)).toEqual([200]);
		expect(amo.deliveries.map((d: any) => d.status)).toEqual([200]);
		const smBody = JSON.stringify({ clid: '1', event: 'client.add', identity: '1', iduser1: '1' });
		expect((await post(`${url.sm}?secret=${smSecret}`, smBody, JSON_TYPE)).status).toBe(200);
		// Replays of the very same bytes: none of the three CRMs signs or numbers its deliveries.
		expect((await post(url.b24, b24.deliveries[0].body, FORM)).status).toBe(200);
		expect((await post(amoSecretUrl, amo.deliveries[0].body, FORM)).status).toBe(200);
		expect((await post(`${url.sm}?secret=${smSecret}`, smBody, JSON_TYPE)).status).toBe(200);
		// Genuine secrets with hostile bodies: the secret is the proof, so they run; n8n survives 10,000-deep data.
		expect((await post(`${url.sm}?secret=${smSecret}`, `{"event":"client.add","clid":"1","x":${deepJson(10_000)}}`, JSON_TYPE)).status).toBe(200);
		expect((await post(url.b24, `${b24.deliveries[0].body}&${deepFormKey(10_000)}`, FORM)).status).toBe(200);
		const runs = {
			b24: await n8n.waitForExecutions(wf.b24, before.b24 + 3, 20_000),
			amo: await n8n.waitForExecutions(wf.amo, before.amo + 2, 20_000),
			sm: await n8n.waitForExecutions(wf.sm, before.sm + 3, 20_000),
		};
		expect({ b24: runs.b24.length, amo: runs.amo.length, sm: runs.sm.length }).toEqual({ b24: before.b24 + 3, amo: before.amo + 2, sm: before.sm + 3 });
		expect([...runs.b24, ...runs.amo, ...runs.sm].map((e: any) => e.status)).toEqual([...runs.b24, ...runs.amo, ...runs.sm].map(() => 'success'));
		expect(await healthy()).toBe(true);
	});

	// BUG (nodes/Bitrix24/Bitrix24Trigger.node.ts, AmoCrm/AmoCrmTrigger.node.ts, SalesMan/SalesManTrigger.node.ts,
	// webhook()): the given secret is read with String(value) before it is compared. n8n parses the query with qs
	// (allowPrototypes) and the body as JSON, so a forger can send an object whose toString is not a function
	// (`?s[toString]=1`, `?secret[toString]=1`, `{"auth":{"application_token":{"toString":1}}}`): String() throws
	// "Cannot convert object to primitive value", n8n answers 500 and records a FAILED EXECUTION for each such
	// request (observed: 500, 500, 500 and one new error execution per workflow). Expected: 401, no execution.
	it('a forged delivery whose secret is an object without a usable toString is refused with 401 and starts nothing (was a bug: 500 and a failed execution)', async () => {
		const before = { b24: await count(wf.b24), amo: await count(wf.amo), sm: await count(wf.sm) };
		const results = [
			(await post(url.b24, '{"auth":{"application_token":{"toString":1}}}', JSON_TYPE)).status,
			(await post(`${url.amo}?s[toString]=1`, 'a=1', FORM)).status,
			(await post(`${url.sm}?secret[toString]=1`, '{"event":"client.add","clid":"1"}', JSON_TYPE)).status,
		];
		await sleep(1500);
		const after = { b24: await count(wf.b24), amo: await count(wf.amo), sm: await count(wf.sm) };
		expect(await healthy()).toBe(true);
		expect({ results, after }).toEqual({ results: [401, 401, 401], after: before });
	});

	/** Runs the failing-actions workflow once and returns its stored execution. */
	async function runFailingActions() {
		if (!failingRun) {
			sm.knobs.failNext.push({ type: 'drop', action: 'add' });
			const delivered = await post(`${n8n.baseUrl}/webhook/${hooks.failing}/salesman?secret=${smSecret}`, JSON.stringify({ event: 'client.add', clid: '1' }), JSON_TYPE);
			expect(delivered.status).toBe(200);
			[failingRun] = await n8n.waitForExecutions(wf.failing, 1, 30_000);
		}
		return failingRun;
	}

	it('failing actions in a real n8n: a lost write and a refused key show no API key (stored execution, log)', async () => {
		const execution = await runFailingActions();
		expect(nodeItems(execution.data, 'SalesMan Create (answer lost)')[0].error).toMatch(/did not confirm "SalesMan client add"/);
		expect(nodeItems(execution.data, 'SalesMan Get (wrong key)')[0].error).toMatch(/SalesMan error 40[01]/);
		const everything = `${JSON.stringify(execution.data)}\n${n8n.fullLog()}`;
		expect({ key: everything.includes(smKey), wrongKey: everything.includes(smWrongKeyValue) }).toEqual({ key: false, wrongKey: false });
	});

	// BUG (nodes/Bitrix24/transport.ts, Bitrix24Client.unwrap(): the server's text is pasted into the message): the
	// inbound webhook's secret code is in the request path, and Apache's 404 page repeats the path, so the code ends
	// up in the item's error and in the execution n8n stores (shown in the editor to anyone who can see executions).
	// Expected: no code.
	it('an Apache 404 page in front of Bitrix24 does not put the webhook code into the output item or the stored execution (was a bug)', async () => {
		const execution = await runFailingActions();
		const code = String(b24.webhookUrl()).split('/').filter(Boolean).pop()!;
		const [item] = nodeItems(execution.data, 'Bitrix24 Get (Apache 404)');
		expect(item.error).toBeDefined();
		expect({ inItem: JSON.stringify(item).includes(code), inExecution: JSON.stringify(execution.data).includes(code) }).toEqual({ inItem: false, inExecution: false });
	});

	it("n8n's log shows no secret and no crash of the process", () => {
		const log = n8n.fullLog();
		const b24Code = String(b24.webhookUrl()).split('/').filter(Boolean).pop()!;
		for (const [what, value] of Object.entries({ smKey, smSecret, smWrongKeyValue, b24Token, b24Code, amoSecret, amoToken: amo.longLivedToken })) {
			expect({ what, inLog: log.includes(value) }).toEqual({ what, inLog: false });
		}
		expect(log).not.toMatch(/Maximum call stack|JavaScript heap out of memory|uncaughtException/i);
	});
});

const BOUNDARY = '----hostile-boundary-7MA4YWxkTrZu0gW';
function multipart(fields: Record<string, string>): string {
	return `${Object.entries(fields)
		.map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
		.join('')}--${BOUNDARY}--\r\n`;
}
