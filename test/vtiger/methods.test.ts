import type { ICredentialTestFunctions, ResourceMapperFields } from 'n8n-workflow';
import { vtigerMethods } from '../../nodes/Vtiger/methods';
import { loadOptions } from '../harness/n8n';
import { count, freshStart, startVtiger } from './setup';
import type { VtigerEmulator } from './setup';

let emulator: VtigerEmulator;
let credentials: Awaited<ReturnType<typeof startVtiger>>['credentials'];

beforeAll(async () => ({ emulator, credentials } = await startVtiger()));
afterAll(async () => await emulator.stop());
beforeEach(() => freshStart(emulator));

it('lists the modules from listtypes', async () => {
	const options = (await loadOptions(credentials, {}, 'loadOptions', 'getModules')) as Array<{ name: string; value: string }>;
	expect(options.map((o) => o.value)).toEqual(expect.arrayContaining(['Accounts', 'Contacts', 'Leads', 'Potentials', 'HelpDesk']));
	expect(options.find((o) => o.value === 'Potentials')?.name).toMatch(/\(Potentials\)$/);
});

it('builds the create mapper from describe: mandatory marked, picklists as options, references explained', async () => {
	const { fields } = (await loadOptions(credentials, { module: 'Potentials' }, 'resourceMapping', 'getCreateFields')) as ResourceMapperFields;
	const byId = Object.fromEntries(fields.map((f) => [f.id, f]));
	expect(byId.potentialname.required).toBe(true);
	expect(byId.closingdate.required).toBe(true);
	expect(byId.amount.required).toBe(false);
	expect(byId.amount.type).toBe('number');
	expect(byId.sales_stage.type).toBe('options');
	expect(byId.sales_stage.options?.map((o) => o.value)).toContain('Closed Won');
	expect(byId.related_to.displayName).toMatch(/ID like 11x123/);
	// Vtiger fills these itself: they are not offered.
	expect(byId.createdtime).toBeUndefined();
	expect(byId.id).toBeUndefined();
	// The owner defaults to the credential's user, so it is not forced on the user.
	expect(byId.assigned_user_id.required).toBe(false);

	const update = (await loadOptions(credentials, { module: 'Potentials' }, 'resourceMapping', 'getUpdateFields')) as ResourceMapperFields;
	expect(update.fields.every((f) => !f.required)).toBe(true);
	// describe is cached: the second mapper did not ask again.
	expect(count(emulator, 'describe')).toBe(1);
});

describe('credential test', () => {
	const context = { helpers: { request: async (options: Record<string, unknown>) => await legacyRequest(options) } } as unknown as ICredentialTestFunctions;

	it('performs a real getchallenge + login', async () => {
		const result = await vtigerMethods.credentialTest.vtigerApiTest.call(context, { id: '1', name: 'c', type: 'vtigerApi', data: credentials.vtigerApi });
		expect(result).toEqual({ status: 'OK', message: 'Logged in as user 19x1' });
		expect(count(emulator, 'getchallenge')).toBe(1);
		expect(count(emulator, 'login')).toBe(1);
	});

	it('a wrong key fails with a clear message that does not contain the key', async () => {
		const result = await vtigerMethods.credentialTest.vtigerApiTest.call(context, {
			id: '1',
			name: 'c',
			type: 'vtigerApi',
			data: { ...credentials.vtigerApi, accessKey: 'notTheKey42' },
		});
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Login refused for user "admin"/);
		expect(result.message).not.toContain('notTheKey42');
	});

	it('a base URL that is not a URL is explained', async () => {
		const result = await vtigerMethods.credentialTest.vtigerApiTest.call(context, { id: '1', name: 'c', type: 'vtigerApi', data: { ...credentials.vtigerApi, baseUrl: 'crm example' } });
		expect(result).toEqual({ status: 'Error', message: 'The base URL "crm example" is not a valid URL; use the form https://crm.example.com' });
	});
});

/** The subset of n8n's legacy `request` helper the credential test uses, over fetch. */
async function legacyRequest(options: Record<string, unknown>) {
	const url = new URL(String(options.uri));
	for (const [k, v] of Object.entries((options.qs as Record<string, string>) ?? {})) url.searchParams.set(k, v);
	const response = await fetch(url, {
		method: String(options.method),
		body: options.form ? new URLSearchParams(options.form as Record<string, string>) : undefined,
	});
	return { statusCode: response.status, headers: {}, body: await response.text() };
}
