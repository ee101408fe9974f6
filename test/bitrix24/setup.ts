/** A Bitrix24 emulator per test file, and credentials of both kinds that point at it. */
import type { IDataObject } from 'n8n-workflow';
import type { CredentialStore } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createBitrix24Emulator } = require('../emulators/bitrix24/server') as {
	createBitrix24Emulator: (options?: Record<string, unknown>) => Bitrix24Emulator;
};

export interface EmulatorRequest {
	method: string;
	path: string;
	restMethod: string | null;
	params: Record<string, unknown>;
	auth: 'webhook' | 'oauth' | null;
	status: number;
	commands?: Array<{ key: string; restMethod: string; params: Record<string, unknown>; status: number; error?: unknown }>;
}

export interface Bitrix24Emulator {
	start(port?: number): Promise<string>;
	stop(): Promise<void>;
	baseUrl: string;
	domain: string;
	memberId: string;
	webhookUrl(userId?: number): string;
	app: { clientId: string; clientSecret: string; applicationToken: string };
	oauthUrls(): { authorize: string; token: string; clientEndpoint: string };
	issueTokens(userId?: number, scope?: string): IDataObject;
	expireAccessTokens(): void;
	requests: EmulatorRequest[];
	clearRequests(): void;
	knobs: { failNext: Array<Record<string, unknown>>; latencyMs: number; bucket: { perSecond: number; burst: number }; operatingCost: unknown };
	deliveries: Array<{ url: string; event: string; body: string; status: number | null }>;
	flushDeliveries(): Promise<void>;
	clearDeliveries(): void;
	addOutboundWebhook(url: string, events: string[]): string;
	eventHandlers: Array<{ event: string; handler: string }>;
	createRecord(entity: string | number, fields: Record<string, unknown>, opts?: Record<string, unknown>): Record<string, unknown>;
	updateRecord(entity: string | number, id: number | string, fields: Record<string, unknown>, opts?: Record<string, unknown>): Record<string, unknown>;
	deleteRecord(entity: string | number, id: number | string, opts?: Record<string, unknown>): void;
	getRecord(entity: string | number, id: number | string): Record<string, unknown> | undefined;
	count(entity: string | number): number;
	seed(entity: string | number, n: number, opts?: Record<string, unknown>): number[];
	reset(): void;
	limits(): { bucketLevel: number };
}

export async function startBitrix24(options?: Record<string, unknown>) {
	const emulator = createBitrix24Emulator(options);
	const baseUrl = await emulator.start();
	const tokens = emulator.issueTokens();
	const credentials: CredentialStore = {
		bitrix24WebhookApi: { webhookUrl: emulator.webhookUrl(), plan: 'standard' },
		bitrix24OAuth2Api: {
			grantType: 'authorizationCode',
			portalUrl: baseUrl,
			authUrl: `${baseUrl}/oauth/authorize/`,
			accessTokenUrl: emulator.oauthUrls().token,
			clientId: emulator.app.clientId,
			clientSecret: emulator.app.clientSecret,
			scope: '',
			authQueryParameters: '',
			authentication: 'body',
			plan: 'standard',
			oauthTokenData: tokens,
		},
	};
	return { emulator, baseUrl, credentials };
}

/** Requests the portal counted (REST calls; the OAuth server is not the portal). */
export const restCalls = (emulator: Bitrix24Emulator) => emulator.requests.filter((r) => r.restMethod && r.restMethod !== 'oauth/token');
