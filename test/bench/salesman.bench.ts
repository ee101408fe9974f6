/** SalesMan: Return All of 10,000 clients (200 per page, page-number offset) and Create Many of 1,000 via add.list. */
import type { IDataObject } from 'n8n-workflow';
import * as path from 'path';
import { runNodes } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createSalesManEmulator } = require(path.join(process.cwd(), 'test/emulators/salesman/server')) as {
	createSalesManEmulator: () => {
		start(): Promise<string>;
		stop(): Promise<void>;
		seed(kind: string, n: number): number[];
		login: string;
		apiKey: string;
		requests: Array<{ action: string }>;
		clearRequests(): void;
		count(kind: string): number;
	};
};

async function main() {
	const emulator = createSalesManEmulator();
	const baseUrl = await emulator.start();
	const credentials = { salesManApi: { baseUrl, login: emulator.login, apiKey: emulator.apiKey } };
	const node = (parameters: IDataObject) => ({ type: 'n8n-nodes-crm-suite.salesMan', credentialType: 'salesManApi', parameters });
	const rows: Array<Record<string, unknown>> = [];
	const measure = async (name: string, run: () => Promise<number>) => {
		emulator.clearRequests();
		const started = process.hrtime.bigint();
		const items = await run();
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		rows.push({ scenario: name, items, requests: emulator.requests.length, seconds: seconds.toFixed(2), 'items/s': Math.round(items / seconds) });
	};
	emulator.seed('client', 9_950);
	await measure('Return All 9,950 clients', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true })]);
		if (error) throw error;
		return items.length;
	});
	emulator.seed('client', 50);
	await measure('Return All 10,000 clients', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'getMany', returnAll: true })]);
		if (error) throw error;
		return items.length;
	});
	const input = Array.from({ length: 1000 }, (_, i) => ({ title: `Bench client ${i}` }));
	await measure('Create Many 1,000 clients (add.list)', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'client', operation: 'createMany', fields: { mappingMode: 'defineBelow', value: { title: '={{ $json.title }}' } } })], input);
		if (error) throw error;
		return items.length;
	});
	await emulator.stop();
	console.table(rows);
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
