/**
 * Bitrix24 against the emulator's leaky bucket (2 requests/s drain, burst 50): Return All of 10,000 leads and
 * bulk create of 1,000 leads through n8n's engine. Prints HTTP requests, 503s seen, and time versus the
 * bucket's bound. Results are recorded in docs/benchmarks.md.
 */
import * as path from 'path';
import { runNodes } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createBitrix24Emulator } = require(path.join(process.cwd(), 'test/emulators/bitrix24/server')) as {
	createBitrix24Emulator: (o?: Record<string, unknown>) => {
		start(): Promise<string>;
		stop(): Promise<void>;
		seed(entity: string, n: number): number[];
		webhookUrl(): string;
		requests: Array<{ restMethod: string | null; status: number }>;
		clearRequests(): void;
		count(entity: string): number;
	};
};

const BUCKET = { perSecond: 2, burst: 50 };
const bound = (requests: number) => Math.max(0, (requests - BUCKET.burst) / BUCKET.perSecond);

async function main() {
	const emulator = createBitrix24Emulator();
	await emulator.start();
	const credentials = { bitrix24WebhookApi: { webhookUrl: emulator.webhookUrl(), plan: 'standard' } };
	const node = (parameters: Record<string, unknown>) => ({
		type: 'n8n-nodes-crm-suite.bitrix24',
		credentialType: 'bitrix24WebhookApi',
		parameters: { authentication: 'webhook', ...parameters },
	});
	const rows: Array<Record<string, unknown>> = [];
	let totalRequests = 0;
	const runStarted = process.hrtime.bigint();
	const measure = async (name: string, run: () => Promise<number>) => {
		emulator.clearRequests();
		const started = process.hrtime.bigint();
		const items = await run();
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		const rest = emulator.requests.filter((r) => r.restMethod);
		totalRequests += rest.length;
		rows.push({
			scenario: name,
			items,
			'HTTP requests': rest.length,
			'503 seen': rest.filter((r) => r.status === 503).length,
			seconds: seconds.toFixed(2),
			'bucket bound (s)': bound(rest.length).toFixed(1),
			'items/s': Math.round(items / seconds),
		});
	};

	emulator.seed('lead', 10_000);
	await measure('Return All 10,000 leads', async () => {
		const { items, error } = await runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true })]);
		if (error) throw error;
		return items.length;
	});
	const input = Array.from({ length: 1000 }, (_, i) => ({ title: `Bench lead ${i}`, phone: `+1 555 ${String(i).padStart(4, '0')}` }));
	await measure('Bulk create 1,000 leads', async () => {
		const { items, error } = await runNodes(
			credentials,
			[node({ resource: 'lead', operation: 'create', fields: { mappingMode: 'defineBelow', value: { TITLE: '={{ $json.title }}', PHONE: '={{ $json.phone }}' } } })],
			input,
		);
		if (error) throw error;
		return items.length;
	});
	// The bucket is now partly full; three executions at once share the process-wide limiter.
	await measure('3 parallel executions: 2 × Return All 11,000 + bulk create 1,000', async () => {
		const results = await Promise.all([
			runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true, options: { select: ['ID', 'TITLE'] } })]),
			runNodes(credentials, [node({ resource: 'lead', operation: 'getMany', returnAll: true, options: { select: ['ID', 'TITLE'] } })]),
			runNodes(credentials, [node({ resource: 'lead', operation: 'create', fields: { mappingMode: 'defineBelow', value: { TITLE: '={{ $json.title }}' } } })], input),
		]);
		const failed = results.find((r) => r.error);
		if (failed) throw failed.error;
		return results.reduce((sum, r) => sum + r.items.length, 0);
	});
	const runSeconds = Number(process.hrtime.bigint() - runStarted) / 1e9;
	await emulator.stop();
	console.table(rows);
	console.log(
		`Whole run: ${totalRequests} requests in ${runSeconds.toFixed(1)} s; the bucket allows them in ${bound(totalRequests).toFixed(1)} s at the earliest.`,
	);
	console.log(`Bucket: ${BUCKET.perSecond} requests/s drain, burst ${BUCKET.burst}; bound = max(0, (requests - burst) / rate) from a full bucket.`);
}

void main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
