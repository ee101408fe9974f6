/**
 * A fault-injecting HTTP proxy between a node and a CRM emulator, for the faults the emulators cannot make:
 * the CRM acted and its answer was lost. The emulators' own `drop` faults destroy the socket *before* the
 * CRM acts; this proxy forwards the request, lets the emulator carry it out (and log it), and then
 * - `resetAfter`: destroys the node's connection instead of answering (a reset after the server acted), or
 * - `hangAfter`:  never answers (the node's HTTP timeout fires; see ./support `attachFaultPlan`).
 * It can also fail before forwarding (`resetBefore`, `hangBefore`, `badGatewayBefore`: nginx's HTML 502).
 *
 * `plan` decides per request. Through it a test may also arm an emulator knob (`knobs.failNext`) for exactly
 * the request about to be forwarded, so faults land mid-run at a chosen request number instead of on the first
 * matching request. The plan is evaluated where the request leaves n8n (./support), which passes the decision in
 * the FAULT_HEADER header (and gives a request that will hang a short timeout); requests that do not pass there
 * (n8n core's OAuth token requests) are planned here.
 */
import * as http from 'http';

/** Carries the fault decided for a request where it left n8n ('none' for no fault); stripped before forwarding. */
export const FAULT_HEADER = 'x-reliability-fault';

export type ProxyFault = 'resetAfter' | 'hangAfter' | 'resetBefore' | 'hangBefore' | 'badGatewayBefore';

export interface SeenRequest {
	method: string;
	/** Path and query as the client sent them. */
	url: string;
	body: string;
	/** 0-based number of this request among all requests planned for this proxy. */
	index: number;
}

/** Decides what happens to one request: a proxy fault, or nothing (forwarded as is). May arm emulator knobs. */
export type FaultPlan = (request: SeenRequest) => ProxyFault | undefined | void;

export interface ProxyLogEntry {
	method: string;
	url: string;
	fault?: ProxyFault;
	/** The emulator's status; undefined when the request was not forwarded or the emulator dropped it. */
	status?: number;
}

export interface FaultProxy {
	/** Point the credential here. */
	readonly url: string;
	/** The emulator's base URL (settable after start, for emulators that must know the proxy's URL first). */
	target: string;
	plan: FaultPlan | undefined;
	readonly log: ProxyLogEntry[];
	/** The next request number (for plans evaluated outside the proxy). */
	next(): number;
	stop(): Promise<void>;
}

export async function startFaultProxy(target = ''): Promise<FaultProxy> {
	const sockets = new Set<import('net').Socket>();
	const log: ProxyLogEntry[] = [];
	let index = 0;
	const agent = new http.Agent({ keepAlive: true });
	const proxy = {
		url: '',
		target,
		plan: undefined as FaultPlan | undefined,
		log,
		next: () => index++,
		stop: async () => {
			for (const socket of sockets) socket.destroy();
			agent.destroy();
			await new Promise((resolve) => server.close(resolve));
		},
	};
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const body = Buffer.concat(chunks);
			const decided = req.headers[FAULT_HEADER];
			delete req.headers[FAULT_HEADER];
			const fault =
				typeof decided === 'string'
					? ((decided === 'none' ? undefined : decided) as ProxyFault | undefined)
					: proxy.plan?.({ method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8'), index: proxy.next() }) || undefined;
			const entry: ProxyLogEntry = { method: req.method ?? 'GET', url: req.url ?? '/', ...(fault ? { fault } : {}) };
			log.push(entry);
			// A held request is never answered: the client's timeout ends it (or stop() does).
			if (fault === 'resetBefore') return void req.socket.destroy();
			if (fault === 'hangBefore') return;
			if (fault === 'badGatewayBefore') {
				const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
				entry.status = 502;
				res.writeHead(502, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(page) });
				return void res.end(page);
			}
			const upstream = new URL(proxy.target);
			const headers = { ...req.headers, host: upstream.host };
			delete headers.connection;
			const forward = http.request(
				{ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
				(answer) => {
					const parts: Buffer[] = [];
					answer.on('data', (chunk: Buffer) => parts.push(chunk));
					answer.on('end', () => {
						entry.status = answer.statusCode;
						if (fault === 'resetAfter') return void req.socket.destroy();
						if (fault === 'hangAfter') return;
						const payload = Buffer.concat(parts);
						const out = { ...answer.headers };
						delete out['transfer-encoding'];
						delete out.connection;
						out['content-length'] = String(payload.length);
						res.writeHead(answer.statusCode ?? 502, out);
						res.end(payload);
					});
					answer.on('error', () => req.socket.destroy());
				},
			);
			// The emulator dropped the connection (its own `drop` fault): the client sees the same.
			forward.on('error', () => req.socket.destroy());
			forward.end(body);
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	return proxy;
}

/**
 * A plan that acts on the n-th (1-based) request that `matches`: `actions[n]` returns a proxy fault and/or arms
 * an emulator knob for that very request. Requests that do not match are not counted.
 */
export function onNth(matches: (request: SeenRequest) => boolean, actions: Record<number, (request: SeenRequest) => ProxyFault | void>): FaultPlan & { count: () => number } {
	let n = 0;
	const plan = (request: SeenRequest) => {
		if (!matches(request)) return undefined;
		n++;
		return actions[n]?.(request);
	};
	return Object.assign(plan, { count: () => n });
}
