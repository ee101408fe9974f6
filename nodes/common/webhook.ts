import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { parsePhpFormBody } from './formBody';

/**
 * Reads a webhook delivery that a CRM sent as a PHP-style form (`a[b][0]=x`), whatever n8n's body parser
 * made of it: the raw bytes when n8n kept them, or the flat key/value pairs it parsed. Parsing is always
 * ours (parsePhpFormBody: no prototype pollution, bounded). A JSON body is returned as it is.
 */
export function readFormDelivery(ctx: IWebhookFunctions): IDataObject {
	const request = ctx.getRequestObject() as unknown as { rawBody?: unknown; body?: unknown; headers?: IDataObject };
	const contentType = String(request.headers?.['content-type'] ?? '');
	const raw = request.rawBody;
	if (contentType.includes('application/x-www-form-urlencoded') && (Buffer.isBuffer(raw) || typeof raw === 'string')) {
		return parsePhpFormBody(raw.toString());
	}
	const body = ctx.getBodyData() as IDataObject;
	if (!body || typeof body !== 'object') return {};
	if (contentType.includes('application/json')) return body;
	// Flat `a[b]` keys (querystring) and already-nested objects (qs) both go back through our parser.
	return parsePhpFormBody(flatten(body));
}

function flatten(value: IDataObject, prefix = '', out = new URLSearchParams()): URLSearchParams {
	for (const [key, child] of Object.entries(value)) {
		const name = prefix ? `${prefix}[${key}]` : key;
		// querystring gives repeated keys (`a[]=x&a[]=y`) as an array of strings: keep them repeated.
		if (Array.isArray(child) && child.every((v) => v === null || typeof v !== 'object')) child.forEach((v) => out.append(name, String(v ?? '')));
		else if (child !== null && typeof child === 'object') flatten(child as IDataObject, name, out);
		else if (child !== undefined && child !== null) out.append(name, String(child));
	}
	return out;
}

/** Answers a delivery that failed verification; no execution starts. */
export function rejectDelivery(ctx: IWebhookFunctions, status: 400 | 401 | 403, message: string): IWebhookResponseData {
	const response = ctx.getResponseObject();
	response.status(status).json({ error: message });
	return { noWebhookResponse: true };
}

/** Answers a genuine delivery that this trigger does not want (another event): accepted, no execution. */
export function ignoreDelivery(ctx: IWebhookFunctions): IWebhookResponseData {
	const response = ctx.getResponseObject();
	response.status(200).json({ ignored: true });
	return { noWebhookResponse: true };
}
