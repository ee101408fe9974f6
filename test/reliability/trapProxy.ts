import * as http from 'http';

/** A proxy in front of an emulator that answers one matching request with an error page, like a web server would. */
export async function trapProxy(target: string) {
	const state: { trap?: (url: string) => boolean; page: (url: string) => string; status: number; trapped: string[] } = { page: (url) => url, status: 404, trapped: [] };
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			void (async () => {
				const url = req.url ?? '/';
				if (state.trap?.(url)) {
					state.trapped.push(url);
					res.writeHead(state.status, { 'content-type': 'text/html; charset=iso-8859-1' });
					res.end(state.page(url));
					return;
				}
				const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
				const reply = await fetch(target + url, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks) });
				const out: Record<string, string> = {};
				reply.headers.forEach((v, k) => {
					if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
				});
				res.writeHead(reply.status, out);
				res.end(Buffer.from(await reply.arrayBuffer()));
			})();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { state, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: async () => await new Promise((resolve) => server.close(resolve)) };
}
/** Apache's own 404 page: it shows the request path (not the query). */
export const apache404 = (url: string) =>
	`<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL ${url.split('?')[0]} was not found on this server.</p>\n</body></html>\n`;
/** A block page of the kind WAFs and proxies show: it echoes the whole request URI, query included. */
export const blockPage = (url: string) => `<html><head><title>Request blocked</title></head><body><h1>Request blocked</h1><p>URI: ${url}</p></body></html>`;
