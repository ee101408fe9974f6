/**
 * Return All against the real Vtiger 8 and SalesMan 2025.4 (../shared/real-crm), next to the emulators with the
 * same number of records: HTTP calls (counted by a logging proxy), seconds and items/s. Run with
 * `npm run bench:real` (it starts the servers); results are recorded in docs/benchmarks.md.
 */
import * as path from 'path';
import { clearVtigerSessions } from '../../nodes/Vtiger/transport';
import { runNodes } from '../harness/n8n';
import type { CredentialStore, NodeSpec } from '../harness/n8n';
import { credentials, RawVtiger, recordingProxy, salesMan, SALESMAN, VTIGER } from '../real/setup';

/* eslint-disable @typescript-eslint/no-require-imports */
const { createVtigerEmulator } = require(path.join(process.cwd(), 'test/emulators/vtiger/server'));
const { createSalesManEmulator } = require(path.join(process.cwd(), 'test/emulators/salesman/server'));
/* eslint-enable @typescript-eslint/no-require-imports */

const TARGET = Number(process.env.REAL_BENCH_RECORDS || 2_000);

/** Tops the real CRMs up to TARGET records (kept between runs: the up scripts keep their data). */
async function seedReal(): Promise<{ accounts: number; clients: number }> {
	const vtiger = new RawVtiger();
	let accounts = await vtiger.count('SELECT count(*) FROM Accounts;');
	const missing = Math.max(0, TARGET - accounts);
	let next = 0;
	await Promise.all(
		Array.from({ length: 6 }, async () => {
			while (next < missing) await vtiger.create('Accounts', { accountname: `bench account ${next++}` });
		}),
	);
	accounts = await vtiger.count('SELECT count(*) FROM Accounts;');

	const count = async () => Number((await salesMan('client', { action: 'list', offset: 0 })).json?.count ?? 0);
	let clients = await count();
	for (let i = clients; i < TARGET; i += 50) {
		const chunk = Array.from({ length: Math.min(50, TARGET - i) }, (_, k) => ({ title: `bench client ${i + k}` }));
		await salesMan('client', { action: 'add.list', client: chunk });
	}
	clients = await count();
	return { accounts, clients };
}

async function measure(label: string, store: CredentialStore, spec: NodeSpec, calls: () => number) {
	clearVtigerSessions();
	const started = process.hrtime.bigint();
	const { items, error } = await runNodes(store, [spec]);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	if (error) throw error;
	return { server: label, items: items.length, 'HTTP calls': calls(), seconds: seconds.toFixed(2), 'items/s': Math.round(items.length / seconds) };
}

async function main() {
	const { accounts, clients } = await seedReal();
	const rows = [];
	const vtigerSpec = { parameters: { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true } };
	const salesManSpec = { type: 'n8n-nodes-crm-suite.salesMan', credentialType: 'salesManApi', parameters: { resource: 'client', operation: 'getMany', returnAll: true } };

	const vtigerProxy = await recordingProxy(VTIGER.baseUrl);
	rows.push({ crm: 'Vtiger', ...(await measure('real Vtiger 8.0.0', { vtigerApi: { ...credentials.vtigerApi, baseUrl: vtigerProxy.url } }, vtigerSpec, () => vtigerProxy.seen.length)) });
	await vtigerProxy.close();
	const vtigerEmu = createVtigerEmulator();
	const vtigerEmuUrl = await vtigerEmu.start();
	vtigerEmu.seed('Accounts', accounts);
	vtigerEmu.clearRequests();
	rows.push({ crm: 'Vtiger', ...(await measure('emulator', { vtigerApi: { baseUrl: vtigerEmuUrl, username: 'admin', accessKey: vtigerEmu.accessKeyFor('admin') } }, vtigerSpec, () => vtigerEmu.requests.length)) });
	await vtigerEmu.stop();

	const salesManProxy = await recordingProxy(SALESMAN.baseUrl);
	rows.push({ crm: 'SalesMan', ...(await measure('real SalesMan 2025.4', { salesManApi: { ...credentials.salesManApi, baseUrl: salesManProxy.url } }, salesManSpec, () => salesManProxy.seen.length)) });
	await salesManProxy.close();
	const salesManEmu = createSalesManEmulator({ login: SALESMAN.login, apiKey: SALESMAN.apiKey });
	const salesManEmuUrl = await salesManEmu.start();
	salesManEmu.seed('client', clients);
	salesManEmu.clearRequests();
	rows.push({ crm: 'SalesMan', ...(await measure('emulator', { salesManApi: { ...credentials.salesManApi, baseUrl: salesManEmuUrl } }, salesManSpec, () => salesManEmu.requests.length)) });
	await salesManEmu.stop();

	console.table(rows);
	console.log(`Records: ${accounts} Vtiger accounts, ${clients} SalesMan clients. Expected calls: Vtiger 1 challenge + 1 login + 1 describe + ⌊n/100⌋+1 queries; SalesMan ⌈n/200⌉ list pages.`);
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
