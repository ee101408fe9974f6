/**
 * Vtiger Return All of 10,000 records through n8n's engine against the emulator: HTTP calls, logins,
 * queries and items/s. Run with `npm run bench`; results are recorded in docs/benchmarks.md.
 */
import * as path from 'path';
import { clearVtigerSessions } from '../../nodes/Vtiger/transport';
import { runNodes } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createVtigerEmulator } = require(path.join(process.cwd(), 'test/emulators/vtiger/server')) as {
	createVtigerEmulator: (o?: Record<string, unknown>) => {
		start(): Promise<string>;
		stop(): Promise<void>;
		seed(module: string, n: number): string[];
		accessKeyFor(u: string): string;
		requests: Array<{ operation: string }>;
		clearRequests(): void;
		knobs: { latencyMs: number };
	};
};

async function scenario(records: number, latencyMs: number) {
	const emulator = createVtigerEmulator();
	const baseUrl = await emulator.start();
	emulator.seed('Accounts', records);
	emulator.knobs.latencyMs = latencyMs;
	clearVtigerSessions();
	emulator.clearRequests();
	const credentials = { vtigerApi: { baseUrl, username: 'admin', accessKey: emulator.accessKeyFor('admin') } };
	const started = process.hrtime.bigint();
	const { items, error } = await runNodes(credentials, [{ parameters: { resource: 'record', operation: 'getMany', module: 'Accounts', returnAll: true } }]);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	if (error) throw error;
	const by = (op: string) => emulator.requests.filter((r) => r.operation === op).length;
	const row = {
		records,
		'latency/call': `${latencyMs} ms`,
		items: items.length,
		'HTTP calls': emulator.requests.length,
		logins: by('login'),
		challenges: by('getchallenge'),
		describe: by('describe'),
		queries: by('query'),
		seconds: seconds.toFixed(2),
		'items/s': Math.round(items.length / seconds),
	};
	await emulator.stop();
	return row;
}

async function main() {
	const rows = [];
	for (const [records, latency] of [
		[10_000, 0],
		[10_000, 20],
		[10_050, 0],
	]) {
		rows.push(await scenario(records, latency));
	}
	console.table(rows);
	console.log('Target: 100 queries + 1 login for 10,000 records (a full last page costs one more query to learn the end).');
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
