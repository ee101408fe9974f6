import { webhookTrigger } from '../harness/n8n';
import { apiCalls, startAmoCrm } from './setup';
import type { AmoCrmEmulator } from './setup';

let emulator: AmoCrmEmulator;
let credentials: Awaited<ReturnType<typeof startAmoCrm>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startAmoCrm()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	emulator.reset();
	emulator.clearDeliveries();
});

const TYPE = 'n8n-nodes-crm-suite.amoCrmTrigger';
const trigger = async (events: string[], extra: Record<string, unknown> = {}) =>
	await webhookTrigger(credentials, TYPE, { authentication: 'longLivedToken', events, ...extra }, 'amoCrmApi');

describe('amoCRM Trigger', () => {
	it('registers its webhook with a secret in the URL, receives one item per entity event, and removes it on deactivation', async () => {
		const t = await trigger(['add_lead', 'status_lead'], { fetchRecord: true });
		try {
			await t.activate();
			const [hook] = emulator.webhooks() as Array<{ destination: string; settings: string[] }>;
			expect(hook.destination).toMatch(new RegExp(`^${t.url().replace(/[.?]/g, '\\$&')}\\?s=[A-Za-z0-9_-]{32}$`));
			expect([...hook.settings].sort()).toEqual(['add_lead', 'status_lead']);
			expect(await t.checkExists()).toBe(true);

			const a = emulator.createRecord('leads', { name: 'Hook A' }) as { id: number };
			emulator.createRecord('contacts', { name: 'Not chosen' });
			await emulator.flushDeliveries();
			const runs = t.deliveries.filter((d) => d.items);
			expect(runs).toHaveLength(1);
			expect(runs[0].items).toEqual([
				expect.objectContaining({ event: 'add_lead', entity: 'lead', action: 'add', id: String(a.id), record: expect.objectContaining({ id: a.id, name: 'Hook A' }) }),
			]);
			// amoCRM sends only the events the webhook was registered for: the contact caused no delivery.
			expect(t.deliveries).toHaveLength(1);

			expect(await t.deactivate()).toBe(true);
			expect(emulator.webhooks()).toEqual([]);
			expect(apiCalls(emulator).some((c) => c.method === 'DELETE' && c.path === '/api/v4/webhooks')).toBe(true);
		} finally {
			await t.close();
		}
	});

	it('refuses a delivery without the secret (401) or from another account (403), and survives hostile keys', async () => {
		const t = await trigger(['add_lead']);
		try {
			await t.activate();
			const [hook] = emulator.webhooks() as Array<{ destination: string }>;
			const post = async (url: string, body: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).status;
			const genuine = `leads%5Badd%5D%5B0%5D%5Bid%5D=5&account%5Bid%5D=${emulator.account.id}&account%5Bsubdomain%5D=${emulator.account.subdomain}`;
			expect(await post(t.url(), genuine)).toBe(401);
			expect(await post(`${t.url()}?s=guessed`, genuine)).toBe(401);
			expect(await post(hook.destination, `leads%5Badd%5D%5B0%5D%5Bid%5D=5&account%5Bid%5D=1&account%5Bsubdomain%5D=evil`)).toBe(403);
			expect(await post(hook.destination, `__proto__%5Bx%5D=1&${genuine}`)).toBe(200);
			expect(({} as Record<string, unknown>).x).toBeUndefined();
			expect(t.deliveries.map((d) => Boolean(d.items))).toEqual([false, false, false, true]);
			expect(t.deliveries[3].items).toEqual([expect.objectContaining({ event: 'add_lead', id: '5' })]);
		} finally {
			await t.close();
		}
	});

	it('companies (sent under contacts[…] with type=company) and tasks (task[…]) become their own events', async () => {
		const t = await trigger(['add_company', 'add_task']);
		try {
			await t.activate();
			const company = emulator.createRecord('companies', { name: 'Acme' }) as { id: number };
			const task = emulator.createRecord('tasks', { text: 'Call back', complete_till: Math.floor(Date.now() / 1000) + 3600 }) as { id: number };
			await emulator.flushDeliveries();
			const items = t.deliveries.flatMap((d) => d.items ?? []);
			expect(items.map((i) => [i.event, i.id])).toEqual([
				['add_company', String(company.id)],
				['add_task', String(task.id)],
			]);
		} finally {
			await t.close();
		}
	});
});
