/**
 * amoCRM at its 7 requests/s limit: Return All of 10,000 leads and bulk create of 1,000 leads through n8n's
 * engine against the emulator. Prints requests, 429s seen and time versus the rate bound.
 */
import * as path from 'path';
import { runNodes } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createAmoCrmEmulator } = require(path.join(process.cwd(), 'test/emulators/amocrm/server')) as {
	createAmoCrmEmulator: () => {
		start(): Promise<string>;
		stop(): Promise<void>;
		seed(entity: string, n: number): number[];
		longLivedToken: string;
		account: { subdomain: string };
		requests: Array<{ method: string; path: string; status: number }>;
		clearRequests(): void;
	};
};

const RATE = 7;

async function main() {
	const emulator = createAmoCrmEmulator();
	const baseUrl = await emulator.start();
	const credentials = { amoCrmApi: { accountDomain: `${emulator.account.subdomain}.amocrm.ru`, accessToken: emulator.longLivedToken, baseUrl } };
	const node = (parameters: Record<string, unknown>) => ({ type: 'n8n-nodes-crm-suite.amoCrm', credentialType: 'amoCrmApi', parameters: { authentication: 'longLivedToken', ...parameters } });
	const rows: Array<Record<string, unknown>> = [];
	const measure = async (name: string, run: () => Promise<number>) => {
		emulator.clearRequests();
		const started = process.hrtime.bigint();
		const items = await run();
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		const api = emulator.requests.filter((r) => r.path.startsWith('/api/v4'));
		rows.push({
			scenario: name,
			items,
			requests: api.length,
			'writes (POST)': api.filter((r) => r.method === 'POST').length,
			'429 seen': api.filter((r) => r.status === 429).length,
			seconds: seconds.toFixed(2),
			'bound N/7 (s)': (api.length / RATE).toFixed(2),
			'× bound': (seconds / (api.length / RATE)).toFixed(2),
			'items/s': Math.round(items / seconds),
		});
	};
	emulator.seed('leads', 10_000);
	await measure('Return All 10,000 leads', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true })]);
		if (error) throw error;
		return items.length;
	});
	const input = Array.from({ length: 1000 }, (_, i) => ({ name: `Bench lead ${i}`, price: i }));
	await measure('Bulk create 1,000 leads', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: { mappingMode: 'defineBelow', value: { name: '={{ $json.name }}', price: '={{ $json.price }}' } } })], input);
		if (error) throw error;
		return items.length;
	});
	await emulator.stop();
	console.table(rows);
	console.log('Bound: N requests at 7/s take N / 7 s. amoCRM counts a sliding one-second window, so the first 7 may go at once (× bound can be below 1).');
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
