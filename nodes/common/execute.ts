import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { errorForItem, errorItemJson } from './errors';

/** What a handler may return for one input item: one object, several, or nothing. */
export type ItemResult = IDataObject | IDataObject[] | undefined;

function toOutput(result: ItemResult, itemIndex: number): INodeExecutionData[] {
	if (result === undefined) return [];
	const list = Array.isArray(result) ? result : [result];
	return list.map((json) => ({ json, pairedItem: { item: itemIndex } }));
}

/**
 * The per-item loop every action node uses: runs `handler` for each input item in order, pairs each
 * output item with its input, and with `continueOnFail()` puts `{ error, code?, field? }` on the failing
 * item and goes on. Without it, the first error stops the node and names the item.
 */
export async function runPerItem(
	ctx: IExecuteFunctions,
	handler: (itemIndex: number) => Promise<ItemResult>,
): Promise<INodeExecutionData[][]> {
	const count = ctx.getInputData().length;
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			// A loop, not push(...list): spreading hundreds of thousands of rows overflows the call stack.
			for (const item of toOutput(await handler(itemIndex), itemIndex)) output.push(item);
		} catch (thrown) {
			const error = errorForItem(ctx.getNode(), thrown, itemIndex);
			if (!ctx.continueOnFail()) throw error;
			output.push({ json: errorItemJson(error), pairedItem: { item: itemIndex } });
		}
	}
	return [output];
}

/** One item's outcome in a bulk request: its result, or the error the CRM reported for it. */
export type BulkOutcome = { result: ItemResult } | { error: unknown };

/**
 * The bulk counterpart of `runPerItem`, for CRMs that take many records per request (Bitrix24 `batch`,
 * amoCRM arrays, SalesMan `add.list`): items are prepared one by one (a bad item fails alone), the
 * prepared ones are sent in chunks of `chunkSize`, and every outcome is mapped back to its item. `send`
 * may give several items one shared error object: they failed in one request, and a stop names them together.
 */
export async function runInChunks<P>(
	ctx: IExecuteFunctions,
	chunkSize: number,
	prepare: (itemIndex: number) => Promise<P>,
	send: (chunk: Array<{ itemIndex: number; prepared: P }>) => Promise<BulkOutcome[]>,
): Promise<INodeExecutionData[][]> {
	const count = ctx.getInputData().length;
	const outputs: INodeExecutionData[][] = Array.from({ length: count }, () => []);
	const fail = (itemIndex: number, thrown: unknown) => {
		const error = errorForItem(ctx.getNode(), thrown, itemIndex);
		if (!ctx.continueOnFail()) throw error;
		outputs[itemIndex] = [{ json: errorItemJson(error), pairedItem: { item: itemIndex } }];
	};
	const ready: Array<{ itemIndex: number; prepared: P }> = [];
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			ready.push({ itemIndex, prepared: await prepare(itemIndex) });
		} catch (thrown) {
			fail(itemIndex, thrown);
		}
	}
	/** Items the CRM wrote so far, across requests: named when the node has to stop, so nothing written is hidden. */
	const written: number[] = [];
	const stop = (itemIndex: number, failure: unknown, unknownOutcome: number[] = []): never => {
		const error = errorForItem(ctx.getNode(), failure, itemIndex);
		const notes = [
			written.length ? `Items ${written.join(', ')} were written before the node stopped; turn on Continue On Fail to get their results.` : '',
			unknownOutcome.length > 1 ? `Items ${unknownOutcome.join(', ')} were in the same request.` : '',
		].filter(Boolean);
		if (notes.length) error.description = [error.description, ...notes].filter(Boolean).join(' ');
		throw error;
	};
	for (let start = 0; start < ready.length; start += chunkSize) {
		const chunk = ready.slice(start, start + chunkSize);
		let outcomes: BulkOutcome[];
		try {
			outcomes = await send(chunk);
		} catch (thrown) {
			// The whole request failed: every item in it carries the error (each its own copy).
			if (!ctx.continueOnFail()) stop(chunk[0].itemIndex, thrown, chunk.map((c) => c.itemIndex));
			for (const { itemIndex } of chunk) fail(itemIndex, thrown);
			continue;
		}
		const failures: Array<{ itemIndex: number; failure: unknown }> = [];
		chunk.forEach(({ itemIndex }, position) => {
			const outcome = outcomes[position];
			const failure = outcome === undefined ? new Error('The CRM returned no result for this item') : 'error' in outcome ? outcome.error : undefined;
			if (failure === undefined) {
				outputs[itemIndex] = toOutput((outcome as { result: ItemResult }).result, itemIndex);
				written.push(itemIndex);
			} else failures.push({ itemIndex, failure });
		});
		for (const { itemIndex, failure } of failures) {
			// Items given the very same error object failed in one request (e.g. a resend of part of the chunk).
			if (!ctx.continueOnFail()) stop(itemIndex, failure, failures.filter((f) => f.failure === failure).map((f) => f.itemIndex));
			fail(itemIndex, failure);
		}
	}
	return [outputs.flat()];
}
