import { pollingTrigger } from '../harness/n8n';
import { freshStart, queries, startVtiger } from './setup';
import type { VtigerEmulator } from './setup';

let emulator: VtigerEmulator;
let credentials: Awaited<ReturnType<typeof startVtiger>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startVtiger()));
afterAll(async () => await emulator.stop());
beforeEach(() => {
	emulator.reset();
	freshStart(emulator);
	emulator.setClock(Date.parse('2026-03-01T10:00:00Z'));
});

const ids = (rows: Array<Record<string, unknown>> | null) => (rows ?? []).map((row) => row.id);

describe('Vtiger Trigger: record created', () => {
	it('the first poll only remembers where it starts; later polls emit each new record once', async () => {
		emulator.seed('Accounts', 3);
		const trigger = pollingTrigger(credentials, { module: 'Accounts', event: 'created' });
		expect(await trigger.poll()).toBeNull();

		emulator.advanceClock(5_000);
		const a = emulator.createRecord('Accounts', { accountname: 'New A' });
		const b = emulator.createRecord('Accounts', { accountname: 'New B' });
		expect(ids(await trigger.poll())).toEqual([a.id, b.id]);
		expect(await trigger.poll()).toBeNull();

		emulator.advanceClock(2_000);
		const c = emulator.createRecord('Accounts', { accountname: 'New C' });
		expect(ids(await trigger.poll())).toEqual([c.id]);
		expect(await trigger.poll()).toBeNull();
	});

	it('a record created later in the same second as the last emitted one is still caught', async () => {
		const trigger = pollingTrigger(credentials, { module: 'Accounts', event: 'created' });
		expect(await trigger.poll()).toBeNull();
		emulator.advanceClock(1_000);
		const first = emulator.createRecord('Accounts', { accountname: 'Same second 1' });
		expect(ids(await trigger.poll())).toEqual([first.id]);
		const second = emulator.createRecord('Accounts', { accountname: 'Same second 2' }); // clock not advanced
		expect(ids(await trigger.poll())).toEqual([second.id]);
		expect(await trigger.poll()).toBeNull();
	});

	it('350 records sharing one timestamp, plus later ones, are emitted exactly once in one poll', async () => {
		const trigger = pollingTrigger(credentials, { module: 'Leads', event: 'created' });
		expect(await trigger.poll()).toBeNull();
		emulator.advanceClock(1_000);
		const burst = emulator.seed('Leads', 350); // one second: a bulk import
		emulator.advanceClock(1_000);
		const later = emulator.seed('Leads', 120, { createdtime: emulator.serverTime(), stepSeconds: 1 });
		emulator.clearRequests();
		const emitted = ids(await trigger.poll());
		expect(emitted).toEqual([...burst, ...later]);
		expect(new Set(emitted).size).toBe(470);
		expect(await trigger.poll()).toBeNull();
		// The shared second was finished by ID before moving past it.
		expect(queries(emulator).some((q) => /WHERE createdtime = '.+' ORDER BY id ASC LIMIT 100, 100;$/.test(q))).toBe(true);
	});

	it('the cursor lives in the workflow static data', async () => {
		emulator.seed('Contacts', 2);
		const trigger = pollingTrigger(credentials, { module: 'Contacts', event: 'created' });
		await trigger.poll();
		const cursor = trigger.staticData().cursor as { module: string; event: string; time: string; ids: string[] };
		expect(cursor).toMatchObject({ module: 'Contacts', event: 'created', time: '2026-03-01 10:00:00' });
		expect(cursor.ids).toHaveLength(2);
	});

	it('manual test returns the newest record as a sample and moves no cursor', async () => {
		emulator.seed('Accounts', 2);
		emulator.advanceClock(1_000);
		const newest = emulator.createRecord('Accounts', { accountname: 'Newest' });
		const trigger = pollingTrigger(credentials, { module: 'Accounts', event: 'created' });
		expect(ids(await trigger.poll('manual'))).toEqual([newest.id]);
		expect(trigger.staticData().cursor).toBeUndefined();
	});
});

describe('Vtiger Trigger: record updated', () => {
	it('emits changed records once per change and leaves brand-new records to "created"', async () => {
		const [x, y] = emulator.seed('Accounts', 2);
		const trigger = pollingTrigger(credentials, { module: 'Accounts', event: 'updated' });
		expect(await trigger.poll()).toBeNull();

		emulator.advanceClock(3_000);
		emulator.updateRecord(y, { phone: '+1 555 0199' });
		emulator.createRecord('Accounts', { accountname: 'Only created' });
		expect(ids(await trigger.poll())).toEqual([y]);

		emulator.advanceClock(3_000);
		emulator.updateRecord(x, { phone: '+1 555 0101' });
		emulator.updateRecord(y, { phone: '+1 555 0102' });
		expect(ids(await trigger.poll())).toEqual([x, y]);
		expect(await trigger.poll()).toBeNull();
	});

	it('"created or updated" emits both', async () => {
		const [x] = emulator.seed('Accounts', 1);
		const trigger = pollingTrigger(credentials, { module: 'Accounts', event: 'createdOrUpdated' });
		await trigger.poll();
		emulator.advanceClock(1_000);
		const fresh = emulator.createRecord('Accounts', { accountname: 'Fresh' });
		emulator.updateRecord(x, { phone: '1' });
		expect(new Set(ids(await trigger.poll()))).toEqual(new Set([x, fresh.id]));
	});

	it('an empty module at activation: everything created afterwards is new', async () => {
		const trigger = pollingTrigger(credentials, { module: 'HelpDesk', event: 'created' });
		expect(await trigger.poll()).toBeNull();
		emulator.advanceClock(1_000);
		const ticket = emulator.createRecord('HelpDesk', { ticket_title: 'Printer on fire', ticketstatus: 'Open' });
		expect(ids(await trigger.poll())).toEqual([ticket.id]);
	});
});
