/** A Vtiger emulator per test file, and the credential that points at it. */
import type { CredentialStore } from '../harness/n8n';
import { clearVtigerSessions } from '../../nodes/Vtiger/transport';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createVtigerEmulator } = require('../emulators/vtiger/server') as {
	createVtigerEmulator: (options?: Record<string, unknown>) => VtigerEmulator;
};

export interface EmulatorRequest {
	method: string;
	operation: string;
	params: Record<string, string>;
	sessionName: string | null;
}

export interface VtigerEmulator {
	start(port?: number): Promise<string>;
	stop(): Promise<void>;
	requests: EmulatorRequest[];
	clearRequests(): void;
	knobs: { failNext: Array<Record<string, unknown>>; latencyMs: number; failingOperations: string[] };
	accessKeyFor(user: string): string;
	createRecord(module: string, fields?: Record<string, unknown>): Record<string, string>;
	updateRecord(id: string, fields?: Record<string, unknown>): Record<string, string>;
	deleteRecord(id: string): void;
	getRecord(id: string): Record<string, string> | undefined;
	seed(module: string, n: number, opts?: Record<string, unknown>): string[];
	reset(): void;
	expireAllSessions(): void;
	setClock(value: (() => number | Date) | Date | number | string): void;
	advanceClock(ms: number): void;
	serverTime(): string;
}

export async function startVtiger(options?: Record<string, unknown>) {
	const emulator = createVtigerEmulator(options);
	const baseUrl = await emulator.start();
	const credentials: CredentialStore = {
		vtigerApi: { baseUrl, username: 'admin', accessKey: emulator.accessKeyFor('admin') },
	};
	return { emulator, baseUrl, credentials };
}

/** Fresh state between tests: no cached session, an empty request log. */
export function freshStart(emulator: VtigerEmulator): void {
	clearVtigerSessions();
	emulator.clearRequests();
	emulator.knobs.failNext.length = 0;
}

export const count = (emulator: VtigerEmulator, operation: string) => emulator.requests.filter((r) => r.operation === operation).length;
export const queries = (emulator: VtigerEmulator) => emulator.requests.filter((r) => r.operation === 'query').map((r) => r.params.query);
