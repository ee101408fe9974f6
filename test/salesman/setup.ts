/** A SalesMan emulator per test file, and the credential pointing at it. */
import type { IDataObject } from 'n8n-workflow';
import type { CredentialStore } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createSalesManEmulator } = require('../emulators/salesman/server') as { createSalesManEmulator: (options?: Record<string, unknown>) => SalesManEmulator };

export interface SalesManEmulator {
	start(port?: number): Promise<string>;
	stop(): Promise<void>;
	login: string;
	apiKey: string;
	requests: Array<{ method: string; path: string; methodName: string; action: string; params: IDataObject; authStyle: string }>;
	clearRequests(): void;
	knobs: { failNext: Array<Record<string, unknown>>; personFatalError: boolean; latencyMs: number };
	createRecord(kind: string, fields: IDataObject): IDataObject;
	getRecord(kind: string, id: number): IDataObject | undefined;
	count(kind: string): number;
	seed(kind: string, n: number, opts?: IDataObject): number[];
	addWebhook(url: string, events?: string[]): void;
	deliveries: Array<{ url: string; event: string; status: number | null }>;
	flushDeliveries(): Promise<void>;
	reset(): void;
}

export async function startSalesMan(options?: Record<string, unknown>) {
	const emulator = createSalesManEmulator(options);
	const baseUrl = await emulator.start();
	const credentials: CredentialStore = { salesManApi: { baseUrl, login: emulator.login, apiKey: emulator.apiKey } };
	return { emulator, baseUrl, credentials };
}
