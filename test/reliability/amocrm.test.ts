/**
 * amoCRM under faults: 429, HTTP 500, nginx 504, connections reset before and after amoCRM acted, answers that never
 * come (timeouts), OAuth access tokens expiring mid-run (401), and two executions refreshing one OAuth token with
 * refresh-token rotation (`breakChainOnReuse`). Runs go through a fault proxy (./faultProxy); the emulator's request
 * log and stored records are the evidence.
 */
import type { IDataObject } from 'n8n-workflow';
import { runNodes } from '../harness/n8n';
import type { CredentialStore } from '../harness/n8n';
import { apiCalls, startAmoCrm } from '../amocrm/setup';
import type { AmoCrmEmulator, EmulatorRequest } from '../amocrm/setup';
import { onNth } from './faultProxy';
import type { FaultProxy, SeenRequest } from './faultProxy';
import { behindFaultProxy, rigPerBlock, chunkItems, duplicates, expectBulkWriteOutcome, pairedIndex, paceAccount, range, UNKNOWN_OUTCOME } from './support';

jest.setTimeout(30_000);

interface Rig {
	emulator: AmoCrmEmulator;
	proxy: FaultProxy;
	token: CredentialStore;
	/** An OAuth2 credential with fresh tokens (call after emulator.reset()). */
	oauth: () => CredentialStore;
	stop: () => Promise<void>;
}

async function rig(options: Record<string, unknown> = {}): Promise<Rig> {
	// `_links.next` is absolute: the emulator must write the proxy's address into it.
	const { emulator, proxy, credentials, stop } = await behindFaultProxy((proxyUrl) => startAmoCrm({ ...options, linkBase: proxyUrl }));
	return {
		emulator,
		proxy,
		token: { amoCrmApi: { ...credentials.amoCrmApi, baseUrl: proxy.url } },
		oauth: () => ({ amoCrmOAuth2Api: { ...credentials.amoCrmOAuth2Api, baseUrl: proxy.url, oauthTokenData: emulator.issueTokens() } }),
		stop,
	};
}

const node = (parameters: IDataObject, extra: IDataObject = {}) => ({
	type: 'n8n-nodes-crm-suite.amoCrm',
	credentialType: parameters.authentication === 'oAuth2' ? 'amoCrmOAuth2Api' : 'amoCrmApi',
	parameters: { authentication: 'longLivedToken', ...parameters },
	...extra,
});
const mapped = (value: IDataObject) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });
const leadsGet = (request: SeenRequest) => request.method === 'GET' && request.url.startsWith('/api/v4/leads?');
const leadsPost = (request: SeenRequest) => request.method === 'POST' && /^\/api\/v4\/leads(\?|$)/.test(request.url);
const posts = (emulator: AmoCrmEmulator) => apiCalls(emulator).filter((c) => c.method === 'POST' && c.path === '/api/v4/leads');
/** The item indexes a bulk POST carried (request_id = item index). */
const itemsOf = (call: EmulatorRequest) => ((call.body ?? []) as IDataObject[]).map((lead) => Number(lead.request_id));
const tokenCalls = (emulator: AmoCrmEmulator) => emulator.requests.filter((r) => r.path === '/oauth2/access_token');

describe('amoCRM: Return All under faults', () => {
	const r = rigPerBlock(() => rig());

	it('3,000 leads with a 429, an HTTP 500, a reset before acting, an nginx 504, a reset after the answer and a hung answer: every lead exactly once', async () => {
		const ids = r.emulator.seed('leads', 3_000);
		r.emulator.clearRequests();
		const arm = (type: string) => () => void r.emulator.knobs.failNext.push({ type, path: '/api/v4/leads', method: 'GET' });
		r.proxy.plan = onNth(leadsGet, { 2: arm('rateLimit'), 4: arm('http500'), 6: arm('drop'), 8: arm('timeout504'), 10: () => 'resetAfter', 12: () => 'hangAfter' });
		const { items, error } = await runNodes(r.token, [node({ resource: 'lead', operation: 'getMany', returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items).toHaveLength(3_000);
		expect(new Set(items.map((item) => item.json.id)).size).toBe(3_000);
		expect(items.map((item) => item.json.id)).toEqual(ids);
		const calls = apiCalls(r.emulator).map((c) => [c.query.page, c.status]);
		expect(calls).toEqual([
			['1', 200],
			['2', 429], // refused: waited out
			['2', 200],
			['3', 500], // a read: resent
			['3', 200],
			['4', -1], // dropped before amoCRM acted
			['4', 200],
			['5', 504], // nginx gave up waiting
			['5', 200],
			['6', 200], // answered, then the connection was reset
			['6', 200],
			['7', 200], // answered, but the answer never came: timeout
			['7', 200],
			...range(5).map((i) => [String(8 + i), 200]),
			['13', 204], // 12 full pages: the next one is empty
		]);
	});

	it('OAuth: the access token expires mid Return All (401); n8n refreshes once and every lead comes once', async () => {
		const ids = r.emulator.seed('leads', 1_000);
		const store = r.oauth();
		r.emulator.clearRequests();
		r.proxy.plan = onNth(leadsGet, { 3: () => void r.emulator.knobs.failNext.push({ type: 'expireToken', path: '/api/v4/leads' }) });
		const { items, error } = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', returnAll: true })]);
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.id)).toEqual(ids);
		expect(tokenCalls(r.emulator).map((c) => c.status)).toEqual([200]);
		expect(apiCalls(r.emulator).map((c) => [c.query.page, c.status])).toEqual([
			['1', 200],
			['2', 200],
			['3', 401],
			['3', 200],
			['4', 200],
			['5', 204],
		]);
	});
});

describe('amoCRM: writes under faults', () => {
	const r = rigPerBlock(() => rig());

	const create = (store: CredentialStore, input: IDataObject[], continueOnFail = true) =>
		runNodes(store, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}' }) }, { continueOnFail })], input);

	it('a POST whose answer never came (timeout after amoCRM wrote) is not resent: its items say the outcome is unknown, the others succeed', async () => {
		const input = range(120).map((i) => ({ name: `Lead ${i}` }));
		r.emulator.clearRequests();
		r.proxy.plan = onNth(leadsPost, { 2: () => 'hangAfter' });
		const { items, error } = await create(r.token, input);
		expect(error).toBeUndefined();
		expect(items.map(pairedIndex)).toEqual(range(120));
		const unknown = items.filter((item) => item.json.error);
		expect(unknown.map(pairedIndex)).toEqual(range(50).map((i) => 50 + i));
		for (const item of unknown) expect(String(item.json.error)).toMatch(new RegExp(`^The CRM did not confirm "amoCRM POST /leads".*\\[item ${pairedIndex(item)}\\]$`));
		expect(posts(r.emulator).map((c) => [itemsOf(c).length, c.status])).toEqual([
			[50, 200],
			[50, 200],
			[20, 200],
		]);
		// amoCRM wrote all 120, each once (the 50 unknown ones too).
		expect(duplicates(posts(r.emulator).flatMap(itemsOf))).toEqual([]);
		expect(r.proxy.log.filter((e) => e.fault)).toHaveLength(1);
	});

	it('a 429 before acting is waited out and the POST resent once: every lead once', async () => {
		const input = range(100).map((i) => ({ name: `Lead ${i}` }));
		r.emulator.clearRequests();
		r.proxy.plan = onNth(leadsPost, { 2: () => void r.emulator.knobs.failNext.push({ type: 'rateLimit', path: '/api/v4/leads', method: 'POST' }) });
		const { items, error } = await create(r.token, input);
		expect(error).toBeUndefined();
		expect(items.every((item) => item.json.id && !item.json.error)).toBe(true);
		expect(posts(r.emulator).map((c) => c.status)).toEqual([200, 429, 200]);
		expect(items.map((item) => r.emulator.getRecord('leads', Number(item.json.id))?.name)).toEqual(input.map((i) => i.name));
	});

	/** Item 1 is refused by amoCRM's validation (a status of another pipeline); the resend without it is reset after amoCRM wrote it. */
	async function refusedThenReset() {
		const pipelines = r.emulator.pipelines() as Array<{ id: number; _embedded: { statuses: Array<{ id: number }> } }>;
		const input = [
			{ name: 'Good 0', p: '', s: '' },
			{ name: 'Refused 1', p: pipelines[0].id, s: pipelines[1]._embedded.statuses[1].id },
			{ name: 'Good 2', p: '', s: '' },
		];
		r.proxy.plan = onNth(leadsPost, { 2: () => 'resetAfter' });
		const { items } = await runNodes(
			r.token,
			[node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', pipeline_id: '={{ $json.p }}', status_id: '={{ $json.s }}' }) }, { continueOnFail: true })],
			input,
		);
		return items;
	}

	it('a chunk refused by validation and resent without the refused item: a lost answer to the resend is not resent again', async () => {
		r.emulator.clearRequests();
		const items = await refusedThenReset();
		expect(posts(r.emulator).map((c) => [itemsOf(c), c.status])).toEqual([
			[[0, 1, 2], 400],
			[[0, 2], 200],
		]);
		expect(String(items[0].json.error)).toMatch(UNKNOWN_OUTCOME);
		expect(String(items[2].json.error)).toMatch(UNKNOWN_OUTCOME);
	});

	// Was a node bug (nodes/AmoCrm/operations.ts, sendChunk): when amoCRM refused an item by validation (400, nothing
	// written) and the resend of the rest of the chunk then failed (connection reset), sendChunk threw away the outcomes
	// it already knew and runInChunks gave every item of the chunk the "did not confirm … may or may not have been
	// carried out" error, the refused item included. Now item 1 keeps its validation error (field status_id); only
	// items 0 and 2 are unknown.
	it('the item refused by validation keeps its own error when the resend of the others is lost', async () => {
		const items = await refusedThenReset();
		expect(String(items[1].json.error)).not.toMatch(UNKNOWN_OUTCOME);
		expect(String(items[1].json.field)).toMatch(/status_id/);
		expect(String(items[1].json.error)).toMatch(/status_id.*\[item 1\]$/);
		expect(items.map(pairedIndex)).toEqual([0, 1, 2]);
		expect(String(items[0].json.error)).toMatch(UNKNOWN_OUTCOME);
		expect(String(items[2].json.error)).toMatch(UNKNOWN_OUTCOME);
	});

	it('without Continue On Fail, the lost resend stops the node at its first item and names the items of that request only', async () => {
		const pipelines = r.emulator.pipelines() as Array<{ id: number; _embedded: { statuses: Array<{ id: number }> } }>;
		const input = [
			{ name: 'Good 0', p: '', s: '' },
			{ name: 'Refused 1', p: pipelines[0].id, s: pipelines[1]._embedded.statuses[1].id },
			{ name: 'Good 2', p: '', s: '' },
		];
		r.emulator.clearRequests();
		r.proxy.plan = onNth(leadsPost, { 2: () => 'resetAfter' });
		const { error } = await runNodes(r.token, [node({ resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}', pipeline_id: '={{ $json.p }}', status_id: '={{ $json.s }}' }) })], input);
		expect(error?.message).toMatch(UNKNOWN_OUTCOME);
		expect(error?.message).toMatch(/\[item 0\]$/);
		expect(error?.description).toMatch(/Items 0, 2 were in the same request\./);
		expect(posts(r.emulator)).toHaveLength(2);
	});
});

describe('amoCRM: 10,000-item bulk create (OAuth2) with faults sprinkled in', () => {
	let r: Rig;
	beforeAll(async () => {
		r = await rig({ rps: 1000, accountRps: 1000 });
		paceAccount('amocrm', r.proxy.url, { perSecond: 1000, burst: 1000 });
	});
	afterAll(async () => await r.stop());

	it('every item ends created exactly once or with an error naming it; amoCRM holds exactly the created ones', async () => {
		const N = 10_000;
		const input = range(N).map((i) => ({ name: `Bulk ${i}` }));
		const store = r.oauth();
		r.emulator.clearRequests();
		const arm = (type: string) => () => void r.emulator.knobs.failNext.push({ type, path: '/api/v4/leads', method: 'POST' });
		r.proxy.plan = onNth(leadsPost, {
			20: arm('rateLimit'), // chunk 19 (items 950-999): refused before acting, resent
			41: arm('http500'), // chunk 39: HTTP 500, outcome unknown (the emulator wrote nothing)
			61: arm('drop'), // chunk 59: dropped before acting, outcome unknown (nothing written)
			81: () => 'resetAfter', // chunk 79: written, answer lost
			101: () => 'hangAfter', // chunk 99: written, answer never came
			121: arm('expireToken'), // chunk 119: 401, n8n refreshes, resent
			141: arm('timeout504'), // chunk 138: nginx 504, outcome unknown (nothing written)
			161: arm('rateLimit'), // chunk 158 (the refresh's resend took a number)
		});
		const { items, error } = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}' }) }, { continueOnFail: true })], input);
		expect(error).toBeUndefined();
		const created = expectBulkWriteOutcome(items, {
			count: N,
			unknownChunks: [39, 59, 79, 99, 138],
			idOf: (json) => json.id,
			stored: (id) => r.emulator.getRecord('leads', Number(id))?.name,
			wanted: (i) => input[i].name,
		});

		// amoCRM holds the created ones plus the two chunks whose answers were lost, each once.
		const calls = posts(r.emulator);
		const sends = new Map<number, number[]>();
		for (const call of calls) for (const index of itemsOf(call)) sends.set(index, [...(sends.get(index) ?? []), call.status]);
		const expectedFor = new Map<number, number[]>([
			[19, [429, 200]],
			[39, [500]],
			[59, [-1]],
			[119, [401, 200]],
			[138, [504]],
			[158, [429, 200]],
		]);
		for (let c = 0; c < N / 50; c++) for (const index of chunkItems(c)) expect([index, sends.get(index)]).toEqual([index, expectedFor.get(c) ?? [200]]);
		const written = calls.filter((c) => c.status === 200).flatMap(itemsOf);
		expect(written).toHaveLength(N - 150);
		expect(duplicates(written)).toEqual([]);
		expect(tokenCalls(r.emulator).map((c) => c.status)).toEqual([200]);
		expect(calls).toHaveLength(200 + 3);
	});
});

describe('amoCRM OAuth2: the token endpoint fails while a write waits for a refresh', () => {
	let r: Rig;
	beforeAll(async () => (r = await rig()));
	afterAll(async () => await r.stop());

	/** The write is refused (401); n8n's refresh meets `fault` at the token endpoint; then a read with the same credential. */
	async function writeWithFailedRefresh(fault: 'resetAfter' | 'badGatewayBefore') {
		r.emulator.reset();
		r.proxy.plan = undefined;
		// The token endpoint through the proxy too, so that its answer can be lost.
		const store = r.oauth();
		store.amoCrmOAuth2Api = { ...store.amoCrmOAuth2Api, accessTokenUrl: `${r.proxy.url}/oauth2/access_token` };
		// Warm the custom-field cache, so that the first request after the expiry is the write itself.
		await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'create', fields: mapped({ name: 'warm-up' }) })]);
		r.emulator.expireAccessTokens();
		r.emulator.clearRequests();
		r.proxy.plan = onNth((request) => request.url.startsWith('/oauth2/access_token'), { 1: () => fault });
		const { items } = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'create', fields: mapped({ name: '={{ $json.name }}' }) }, { continueOnFail: true })], [{ name: 'a' }, { name: 'b' }]);
		r.proxy.plan = undefined;
		const later = await runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', limit: 1 })]);
		return { items, later };
	}

	it('answer lost (amoCRM rotated the pair, n8n never got it): the refused write is not resent, nothing is written; the credential is then dead and the next run says to reconnect', async () => {
		const { items, later } = await writeWithFailedRefresh('resetAfter');
		expect(items.map(pairedIndex)).toEqual([0, 1]);
		expect(items.every((item) => item.json.error)).toBe(true);
		expect(r.emulator.requests.map((c) => [c.method, c.path, c.status])).toEqual([
			['POST', '/api/v4/leads', 401],
			['POST', '/oauth2/access_token', 200], // amoCRM rotated the pair; the answer was lost
			['GET', '/api/v4/leads', 401],
			['POST', '/oauth2/access_token', 401], // the old refresh token is spent: the chain is broken
		]);
		expect(r.emulator.getRecord('leads', 1000002)).toBeUndefined();
		expect(later.error?.message).toMatch(/reconnect the amoCRM OAuth2 credential/);
	});

	// Was a node bug (nodes/AmoCrm/transport.ts, AmoCrmClient.request): the POST was refused with 401 before amoCRM
	// acted, and n8n's refresh then failed with a reset connection to the token endpoint. request() saw ECONNRESET in
	// the error chain and, the request being a write, threw UnknownOutcomeError ("may or may not have been carried
	// out"). Now only a failure of the request itself can make a write's outcome unknown: a failed refresh says so.
	it('the items say the token could not be refreshed, not that the outcome is unknown', async () => {
		const { items } = await writeWithFailedRefresh('resetAfter');
		for (const item of items) expect(String(item.json.error)).not.toMatch(UNKNOWN_OUTCOME);
		for (const item of items) {
			expect(String(item.json.error)).toMatch(/^amoCRM error TOKEN_REFRESH_FAILED: the access token expired and could not be refreshed: the connection to the token endpoint was reset\..*nothing was done.*reconnect the amoCRM OAuth2 credential or retry \[item \d\]$/);
			expect(String(item.json.error)).not.toMatch(/may or may not|could not reach/);
		}
	});

	it('nginx 502 at the token endpoint: the refused write is not resent and nothing is written; the credential survives', async () => {
		const { items, later } = await writeWithFailedRefresh('badGatewayBefore');
		expect(items.map(pairedIndex)).toEqual([0, 1]);
		expect(items.every((item) => item.json.error)).toBe(true);
		expect(r.emulator.requests.map((c) => [c.method, c.path, c.status])).toEqual([
			['POST', '/api/v4/leads', 401],
			['GET', '/api/v4/leads', 401],
			['POST', '/oauth2/access_token', 200],
			['GET', '/api/v4/leads', 200],
		]);
		expect(later.error).toBeUndefined();
	});

	// Was a node bug (nodes/AmoCrm/transport.ts, AmoCrmClient.request, the last branch of `if (!outcome.ok)`): a refresh
	// that failed at the token endpoint (here nginx 502) was reported as "amoCRM error NETWORK_ERROR: could not reach
	// <base URL> (Bad gateway - …)"; amoCRM's API was reached and answered 401. Now the error says the access token
	// expired and its refresh failed (HTTP 502 at the token endpoint).
	it('nginx 502 at the token endpoint: the items say the token refresh failed, not that amoCRM could not be reached', async () => {
		const { items } = await writeWithFailedRefresh('badGatewayBefore');
		for (const item of items) expect(String(item.json.error)).not.toMatch(/NETWORK_ERROR|could not reach/);
		for (const item of items) {
			expect(String(item.json.error)).toMatch(/^amoCRM error TOKEN_REFRESH_FAILED: the access token expired and could not be refreshed: the token endpoint answered HTTP 502\..*reconnect the amoCRM OAuth2 credential or retry \[item \d\]$/);
			expect(item.json.code).toBe('TOKEN_REFRESH_FAILED');
			expect(String(item.json.error)).not.toMatch(UNKNOWN_OUTCOME);
		}
	});
});

describe('amoCRM OAuth2: two executions refreshing one token (refresh tokens rotate; reuse breaks the chain)', () => {
	const r = rigPerBlock(() => rig());

	const read = (store: CredentialStore) => runNodes(store, [node({ authentication: 'oAuth2', resource: 'lead', operation: 'getMany', returnAll: true })]);

	it('in one n8n process, two parallel runs with an expired token spend one refresh and both succeed; the chain stays intact', async () => {
		r.emulator.seed('leads', 300);
		const store = r.oauth();
		const oldRefresh = String((store.amoCrmOAuth2Api.oauthTokenData as IDataObject).refresh_token);
		r.emulator.expireAccessTokens();
		r.emulator.clearRequests();
		const [a, b] = await Promise.all([read(store), read(store)]);
		expect([a.error, b.error]).toEqual([undefined, undefined]);
		expect([a.items.length, b.items.length]).toEqual([300, 300]);
		expect(tokenCalls(r.emulator).map((c) => [(c.body as IDataObject).grant_type, c.status])).toEqual([['refresh_token', 200]]);
		expect((store.amoCrmOAuth2Api.oauthTokenData as IDataObject).refresh_token).not.toBe(oldRefresh);
		// The new pair keeps working in later executions.
		const later = await read(store);
		expect(later.error).toBeUndefined();
		expect(tokenCalls(r.emulator)).toHaveLength(1);
	});

	/** Process B read the same credential as A before A's refresh was saved (no lock between processes). */
	async function twoProcessesRefresh() {
		r.emulator.seed('leads', 10);
		const processA = r.oauth();
		const processB = { amoCrmOAuth2Api: { ...processA.amoCrmOAuth2Api, oauthTokenData: { ...(processA.amoCrmOAuth2Api.oauthTokenData as IDataObject) } } };
		r.emulator.expireAccessTokens();
		r.emulator.clearRequests();
		const a = await read(processA);
		const b = await read(processB);
		const aAgain = await read(processA);
		return { a, b, aAgain };
	}

	it('two processes that both refresh: the reused refresh token is refused and amoCRM revokes the whole chain; both credentials are dead and nothing is resent', async () => {
		const { a, b, aAgain } = await twoProcessesRefresh();
		expect(a.error).toBeUndefined();
		expect(a.items).toHaveLength(10);
		expect(tokenCalls(r.emulator).map((c) => c.status)).toEqual([200, 401, 401]);
		expect(b.items).toEqual([]);
		expect(b.error).toBeDefined();
		// breakChainOnReuse: A's freshly refreshed token is revoked too.
		expect(aAgain.error).toBeDefined();
		expect(aAgain.error?.message).toMatch(/reconnect the amoCRM OAuth2 credential/);
		// A: 401, refreshed, 200 (one page). B: 401, its refresh refused, not resent. A again: 401, refresh refused.
		expect(apiCalls(r.emulator).map((c) => c.status)).toEqual([401, 200, 401, 401]);
	});

	// amoCRM's token endpoint answers a reused refresh token with 401 "Token has been revoked": the run says so plainly.
	it('the run whose refresh was refused says to reconnect the credential', async () => {
		const { b } = await twoProcessesRefresh();
		expect(b.error?.message).toMatch(/reconnect/i);
		expect(b.error?.message).not.toMatch(/NETWORK_ERROR|could not reach/);
	});
});
