import { webhookTrigger } from '../harness/n8n';
import { restCalls, startBitrix24 } from './setup';
import type { Bitrix24Emulator } from './setup';

let emulator: Bitrix24Emulator;
let credentials: Awaited<ReturnType<typeof startBitrix24>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startBitrix24()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	emulator.reset();
	emulator.clearDeliveries();
});

const TYPE = 'n8n-nodes-crm-suite.bitrix24Trigger';

describe('outbound webhook mode (inbound-webhook credential)', () => {
	it('runs for a genuine delivery, verifies the application token, and fetches the record on request', async () => {
		const trigger = await webhookTrigger(credentials, TYPE, { authentication: 'webhook', events: ['ONCRMLEADADD'], applicationToken: '', fetchRecord: true }, 'bitrix24WebhookApi');
		try {
			const token = emulator.addOutboundWebhook(trigger.url(), ['ONCRMLEADADD', 'ONCRMDEALADD']);
			(trigger.node.parameters as Record<string, unknown>).applicationToken = token;
			const lead = emulator.createRecord('lead', { TITLE: 'From the portal' });
			emulator.createRecord('deal', { TITLE: 'Not selected' });
			await emulator.flushDeliveries();
			const executions = trigger.deliveries.filter((d) => d.items);
			expect(executions).toHaveLength(1);
			expect(executions[0].items![0]).toMatchObject({ event: 'ONCRMLEADADD', id: String(lead.ID), domain: emulator.domain, record: { TITLE: 'From the portal' } });
			// The deal event was genuine but not chosen: accepted, no execution.
			expect(trigger.deliveries.filter((d) => !d.items).map((d) => d.status)).toEqual([200]);
		} finally {
			await trigger.close();
		}
	});

	it('refuses forged deliveries with 401/403 and starts nothing', async () => {
		const token = 'a'.repeat(32);
		const trigger = await webhookTrigger(credentials, TYPE, { authentication: 'webhook', events: ['ONCRMLEADADD'], applicationToken: token }, 'bitrix24WebhookApi');
		try {
			const post = async (body: string) =>
				(await fetch(trigger.url(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).status;
			const base = `event=ONCRMLEADADD&data%5BFIELDS%5D%5BID%5D=5&auth%5Bdomain%5D=${encodeURIComponent(emulator.domain)}&auth%5Bmember_id%5D=${emulator.memberId}`;
			expect(await post(`${base}&auth%5Bapplication_token%5D=${'b'.repeat(32)}`)).toBe(401);
			expect(await post(base)).toBe(401);
			expect(await post(`event=ONCRMLEADADD&auth%5Bdomain%5D=evil.example&auth%5Bapplication_token%5D=${token}`)).toBe(403);
			expect(await post(`__proto__%5Bpolluted%5D=1&auth%5Bapplication_token%5D=${token}&auth%5Bdomain%5D=${encodeURIComponent(emulator.domain)}`)).toBe(400);
			expect(({} as Record<string, unknown>).polluted).toBeUndefined();
			expect(await post(`${base}&auth%5Bapplication_token%5D=${token}`)).toBe(200);
			expect(trigger.deliveries.map((d) => Boolean(d.items))).toEqual([false, false, false, false, true]);
		} finally {
			await trigger.close();
		}
	});

	it('without an application token configured, every delivery is refused', async () => {
		const trigger = await webhookTrigger(credentials, TYPE, { authentication: 'webhook', events: ['ONCRMLEADADD'], applicationToken: '' }, 'bitrix24WebhookApi');
		try {
			emulator.addOutboundWebhook(trigger.url(), ['ONCRMLEADADD']);
			emulator.createRecord('lead', { TITLE: 'x' });
			await emulator.flushDeliveries();
			expect(trigger.deliveries.map((d) => [d.status, Boolean(d.items)])).toEqual([[401, false]]);
		} finally {
			await trigger.close();
		}
	});
});

describe('OAuth2 mode', () => {
	it('binds its events on activation, receives them, and unbinds on deactivation', async () => {
		const store = { ...credentials, bitrix24OAuth2Api: { ...credentials.bitrix24OAuth2Api, oauthTokenData: emulator.issueTokens() } };
		const trigger = await webhookTrigger(store, TYPE, { authentication: 'oAuth2', events: ['ONCRMDEALADD', 'ONCRMDEALUPDATE'], applicationToken: emulator.app.applicationToken }, 'bitrix24OAuth2Api');
		try {
			await trigger.activate();
			expect(emulator.eventHandlers.filter((h) => h.handler === trigger.url()).map((h) => h.event.toUpperCase()).sort()).toEqual(['ONCRMDEALADD', 'ONCRMDEALUPDATE']);
			expect(await trigger.checkExists()).toBe(true);
			const deal = emulator.createRecord('deal', { TITLE: 'Bound' });
			emulator.updateRecord('deal', Number(deal.ID), { TITLE: 'Bound 2' });
			await emulator.flushDeliveries();
			expect(trigger.deliveries.filter((d) => d.items).map((d) => d.items![0].event)).toEqual(['ONCRMDEALADD', 'ONCRMDEALUPDATE']);
			expect(await trigger.deactivate()).toBe(true);
			expect(emulator.eventHandlers.filter((h) => h.handler === trigger.url())).toEqual([]);
			expect(restCalls(emulator).filter((c) => c.restMethod === 'event.unbind')).toHaveLength(2);
		} finally {
			await trigger.close();
		}
	});

	it('event.bind is refused for the inbound-webhook credential by Bitrix24 itself (WRONG_AUTH_TYPE)', async () => {
		emulator.clearRequests();
		const trigger = await webhookTrigger(credentials, TYPE, { authentication: 'webhook', events: ['ONCRMLEADADD'], applicationToken: 'x' }, 'bitrix24WebhookApi');
		try {
			// The webhook mode registers nothing: it is the outbound-webhook setup in the portal.
			await trigger.activate();
			expect(restCalls(emulator).filter((c) => c.restMethod?.startsWith('event.'))).toEqual([]);
		} finally {
			await trigger.close();
		}
	});
});
