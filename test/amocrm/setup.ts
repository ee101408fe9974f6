/** An amoCRM emulator per test file, and credentials of both kinds pointing at it. */
import type { IDataObject } from 'n8n-workflow';
import type { CredentialStore } from '../harness/n8n';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createAmoCrmEmulator } = require('../emulators/amocrm/server') as { createAmoCrmEmulator: (options?: Record<string, unknown>) => AmoCrmEmulator };

export interface EmulatorRequest {
	method: string;
	path: string;
	query: Record<string, unknown>;
	body: unknown;
	token: string | null;
	status: number;
}

export interface AmoCrmEmulator {
	start(port?: number): Promise<string>;
	stop(): Promise<void>;
	baseUrl: string;
	account: { subdomain: string; id: number; domain: string };
	longLivedToken: string;
	oauthClient: { client_id: string; client_secret: string; redirect_uri: string };
	requests: EmulatorRequest[];
	clearRequests(): void;
	knobs: { failNext: Array<Record<string, unknown>>; latencyMs: number; rps: number; ipBlocked: boolean };
	deliveries: Array<{ destination: string; body: string; status: number | null; fields: Record<string, string> }>;
	flushDeliveries(): Promise<void>;
	clearDeliveries(): void;
	createRecord(entity: string, fields: IDataObject): IDataObject;
	updateRecord(entity: string, id: number, fields: IDataObject): IDataObject;
	deleteRecord(entity: string, id: number): void;
	getRecord(entity: string, id: number): IDataObject | undefined;
	seed(entity: string, n: number, opts?: IDataObject): number[];
	addCustomField(entity: string, field: IDataObject): IDataObject;
	customFields(entity: string): IDataObject[];
	pipelines(): IDataObject[];
	webhooks(): IDataObject[];
	issueTokens(clientId?: string): IDataObject;
	expireAccessTokens(includeLongLived?: boolean): void;
	reset(): void;
}

export async function startAmoCrm(options?: Record<string, unknown>) {
	const emulator = createAmoCrmEmulator(options);
	const baseUrl = await emulator.start();
	const common = { accountDomain: `${emulator.account.subdomain}.amocrm.ru`, baseUrl };
	const credentials: CredentialStore = {
		amoCrmApi: { ...common, accessToken: emulator.longLivedToken },
		amoCrmOAuth2Api: {
			...common,
			grantType: 'authorizationCode',
			authUrl: `${baseUrl}/oauth`,
			accessTokenUrl: `${baseUrl}/oauth2/access_token`,
			clientId: emulator.oauthClient.client_id,
			clientSecret: emulator.oauthClient.client_secret,
			scope: '',
			authQueryParameters: 'mode=popup',
			authentication: 'body',
			oauthTokenData: emulator.issueTokens(),
		},
	};
	return { emulator, baseUrl, credentials };
}

export const apiCalls = (emulator: AmoCrmEmulator) => emulator.requests.filter((r) => r.path.startsWith('/api/v4'));
