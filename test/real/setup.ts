/**
 * The real Vtiger 8 and SalesMan CRM 2025.4 servers of ../shared/real-crm (started by scripts/test-real.sh), the
 * credentials that point at them, and small raw clients. The raw clients seed data and check what the CRM stored
 * independently of the nodes under test, so a test never proves the node with the node.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as http from 'http';
import * as path from 'path';
import type { CredentialStore } from '../harness/n8n';

export const REAL_CRM_DIR = process.env.REAL_CRM_DIR || path.resolve(__dirname, '..', '..', '..', 'shared', 'real-crm');

/** As ../shared/real-crm/README.md documents them (the up scripts set these keys). */
export const VTIGER = {
	baseUrl: process.env.REAL_VTIGER_URL || 'http://127.0.0.1:8082',
	username: 'admin',
	accessKey: 'n8nAcceptanceKey01',
	userId: '19x1',
};
export const SALESMAN = {
	baseUrl: process.env.REAL_SALESMAN_URL || 'http://127.0.0.1:8081',
	login: 'admin@example.com',
	apiKey: 'n8nAcceptanceKey0123456789abcdef',
};

export const credentials: CredentialStore = {
	vtigerApi: { baseUrl: VTIGER.baseUrl, username: VTIGER.username, accessKey: VTIGER.accessKey },
	salesManApi: { baseUrl: SALESMAN.baseUrl, login: SALESMAN.login, apiKey: SALESMAN.apiKey },
};

/** A tag unique to this run: names carry it, so a test finds its own records among those of earlier runs. */
export const RUN = `r${Date.now().toString(36)}`;

export const mapped = (value: Record<string, unknown>) => ({ mappingMode: 'defineBelow', value, matchingColumns: [], schema: [] });

/** Fails with a clear message when the server is not up (the suite is meant to run through `npm run test:real`). */
export async function assertReachable(baseUrl: string, what: string): Promise<void> {
	try {
		await fetch(baseUrl, { signal: AbortSignal.timeout(5_000) });
	} catch {
		throw new Error(`${what} is not reachable at ${baseUrl}: run the suite with \`npm run test:real\`, which starts it from ${REAL_CRM_DIR}`);
	}
}

// ---------------------------------------------------------------- what the real server received

export interface SeenRequest {
	method: string;
	path: string;
	/** Vtiger's `operation` or SalesMan's `action`. */
	operation: string;
	status: number;
	params: Record<string, unknown>;
}

/**
 * A loopback proxy in front of a real server that logs every request, so a test can count and inspect what the
 * CRM received (a real server keeps no such log). Bodies pass through unchanged.
 */
export async function recordingProxy(target: string) {
	const seen: SeenRequest[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			void (async () => {
				const body = Buffer.concat(chunks);
				const url = new URL(req.url ?? '/', target);
				const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
				const type = String(req.headers['content-type'] ?? '');
				if (type.includes('json') && body.length) Object.assign(params, JSON.parse(body.toString()));
				else if (body.length) Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString())));
				const headers = { ...req.headers } as Record<string, string>;
				delete headers.host;
				delete headers.connection;
				const answer = await fetch(url, { method: req.method, headers, body: body.length ? body : undefined }).catch(() => undefined);
				const entry: SeenRequest = { method: req.method ?? '', path: url.pathname, operation: String(params.operation ?? params.action ?? ''), status: answer?.status ?? 0, params };
				seen.push(entry);
				if (!answer) {
					res.destroy();
					return;
				}
				const text = Buffer.from(await answer.arrayBuffer());
				res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/html' });
				res.end(text);
			})();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
		seen,
		clear: () => seen.splice(0),
		count: (operation: string) => seen.filter((r) => r.operation === operation).length,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

// ---------------------------------------------------------------- Vtiger webservice.php, by hand

type VtigerAnswer = { success: boolean; result?: any; error?: { code: string; message: string } };

export class RawVtiger {
	/** One login shared by parallel calls: a second getchallenge for the same user voids the first token. */
	private session?: Promise<string>;

	private async call(method: 'GET' | 'POST', params: Record<string, string>): Promise<VtigerAnswer> {
		const url = `${VTIGER.baseUrl}/webservice.php`;
		const body = new URLSearchParams(params);
		const res = method === 'GET' ? await fetch(`${url}?${body}`) : await fetch(url, { method: 'POST', body });
		const text = await res.text();
		if (!res.ok) throw new Error(`Vtiger ${params.operation}: HTTP ${res.status} ${text.slice(0, 200)}`);
		return JSON.parse(text) as VtigerAnswer;
	}

	private async ok(method: 'GET' | 'POST', params: Record<string, string>): Promise<any> {
		const answer = await this.call(method, { ...params, sessionName: await this.sessionName() });
		if (!answer.success) throw new Error(`Vtiger ${params.operation}: ${answer.error?.code} ${answer.error?.message}`);
		return answer.result;
	}

	private sessionName(): Promise<string> {
		this.session ??= this.login();
		return this.session;
	}

	private async login(): Promise<string> {
		const challenge = await this.call('GET', { operation: 'getchallenge', username: VTIGER.username });
		const accessKey = createHash('md5').update(challenge.result.token + VTIGER.accessKey).digest('hex');
		const login = await this.call('POST', { operation: 'login', username: VTIGER.username, accessKey });
		if (!login.success) throw new Error(`Vtiger login: ${login.error?.message}`);
		return login.result.sessionName as string;
	}

	query(vtql: string): Promise<Array<Record<string, string>>> {
		return this.ok('GET', { operation: 'query', query: vtql });
	}

	async count(vtql: string): Promise<number> {
		return Number((await this.query(vtql))[0].count);
	}

	retrieve(id: string): Promise<Record<string, string>> {
		return this.ok('GET', { operation: 'retrieve', id });
	}

	/** null when Vtiger refuses the id (deleted or never existed). */
	async tryRetrieve(id: string): Promise<Record<string, string> | null> {
		const answer = await this.call('GET', { operation: 'retrieve', id, sessionName: await this.sessionName() });
		return answer.success ? answer.result : null;
	}

	create(elementType: string, element: Record<string, unknown>): Promise<Record<string, string>> {
		return this.ok('POST', { operation: 'create', elementType, element: JSON.stringify({ assigned_user_id: VTIGER.userId, ...element }) });
	}

	revise(element: Record<string, unknown>): Promise<Record<string, string>> {
		return this.ok('POST', { operation: 'revise', element: JSON.stringify(element) });
	}

	delete(id: string): Promise<unknown> {
		return this.ok('POST', { operation: 'delete', id });
	}
}

// ---------------------------------------------------------------- SalesMan developer/v2, by hand

export async function salesMan(method: string, body: Record<string, unknown>): Promise<{ status: number; text: string; json?: any }> {
	const res = await fetch(`${SALESMAN.baseUrl}/developer/v2/${method}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', login: SALESMAN.login, apikey: SALESMAN.apiKey },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: res.status, text, json };
}

/**
 * SalesMan has no API to register a webhook: its administrator enters the URL in Settings → Webhooks. The shared
 * up script does the same (SM_WEBHOOK_URL, into its app_webhook table); running it again keeps the server and
 * replaces the registration.
 */
export function registerSalesManWebhook(url: string, events: string[]): void {
	execFileSync('bash', [path.join(REAL_CRM_DIR, 'salesman-up.sh')], {
		env: { ...process.env, SM_WEBHOOK_URL: url, SM_WEBHOOK_EVENTS: events.join(' ') },
		stdio: 'pipe',
		timeout: 120_000,
	});
}
