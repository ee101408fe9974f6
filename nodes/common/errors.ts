import type { IDataObject, INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

/**
 * A problem with one field of the user's input, found before anything was sent to the CRM.
 * The execution loop turns it into a NodeOperationError that names the item and the field.
 */
export class FieldError extends Error {
	constructor(
		readonly field: string,
		readonly problem: string,
	) {
		super(`Field "${field}": ${problem}`);
		this.name = 'FieldError';
	}
}

/**
 * The CRM was asked to write and we do not know whether it did (the connection dropped, or the answer
 * was not the CRM's envelope). Such a write is never retried: resending could create a duplicate.
 */
export class UnknownOutcomeError extends Error {
	constructor(
		readonly operation: string,
		readonly cause: unknown,
	) {
		super(
			`The CRM did not confirm "${operation}": the request may or may not have been carried out. ` +
				'It was not sent again; check the CRM before re-running this item.',
		);
		this.name = 'UnknownOutcomeError';
	}
}

/** Details a CRM adapter gives for an error envelope; becomes a NodeApiError with the CRM's code. */
export interface CrmErrorDetails {
	crm: string;
	code: string;
	message: string;
	httpCode?: number;
	/** The field the CRM blamed, if it said. */
	field?: string;
	/** Extra raw data worth showing (never credentials). */
	raw?: IDataObject;
}

export function crmApiError(node: INode, details: CrmErrorDetails): NodeApiError {
	const { crm, code, message, httpCode, field, raw } = details;
	const fieldPart = field ? ` (field "${field}")` : '';
	const error = new NodeApiError(node, { code, message, ...(raw ?? {}) } as JsonObject, {
		message: `${crm} error ${code}: ${message}${fieldPart}`,
		description: `${crm} answered with code ${code}${httpCode ? ` (HTTP ${httpCode})` : ''}: ${message}`,
		httpCode: httpCode ? String(httpCode) : undefined,
	});
	error.context.crmCode = code;
	if (field) error.context.field = field;
	return error;
}

/** The CRM's own error code carried by an error, when it came from a CRM envelope. */
export function crmCodeOf(error: unknown): string | undefined {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		const code = error.context.crmCode;
		return typeof code === 'string' ? code : undefined;
	}
	return undefined;
}

const ITEM_SUFFIX = /\[item \d+\]$/;

/**
 * Normalizes anything thrown while processing one item into an n8n error that names the item
 * (0-based, as n8n's expressions count) and, where known, the field.
 */
export function errorForItem(node: INode, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	let result: NodeApiError | NodeOperationError;
	const claimed = (error as { context?: IDataObject } | undefined)?.context?.itemIndex;
	if ((error instanceof NodeApiError || error instanceof NodeOperationError) && claimed !== undefined && claimed !== itemIndex) {
		// One failed request can fail many items: each gets its own copy naming itself, not the first item.
		result = new NodeOperationError(node, error.message.replace(ITEM_SUFFIX, '').trimEnd(), { itemIndex, description: error.description ?? undefined });
		for (const key of ['crmCode', 'field']) if (error.context[key] !== undefined) result.context[key] = error.context[key];
	} else if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		result = error;
	} else if (error instanceof FieldError) {
		result = new NodeOperationError(node, error.message, { itemIndex });
		result.context.field = error.field;
	} else if (error instanceof Error) {
		result = new NodeOperationError(node, error, { itemIndex });
	} else {
		result = new NodeOperationError(node, String(error), { itemIndex });
	}
	result.context.itemIndex = itemIndex;
	if (!ITEM_SUFFIX.test(result.message)) result.message = `${result.message} [item ${itemIndex}]`;
	return result;
}

/** The JSON an item carries when `continueOnFail()` keeps the run going past its error. */
export function errorItemJson(error: NodeApiError | NodeOperationError): IDataObject {
	const json: IDataObject = { error: error.message };
	const { crmCode, field } = error.context;
	if (typeof crmCode === 'string') json.code = crmCode;
	if (typeof field === 'string') json.field = field;
	if (error.description) json.details = error.description;
	return json;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Awaits a promise and returns its outcome as a value, so callers branch on failures without try/catch. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
	return await promise.then(
		(value): Settled<T> => ({ ok: true, value }),
		(error: unknown): Settled<T> => ({ ok: false, error }),
	);
}
