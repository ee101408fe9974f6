import type { IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { FieldError, UnknownOutcomeError } from '../../nodes/common/errors';
import { runInChunks, runPerItem } from '../../nodes/common/execute';

const node: INode = { id: '1', name: 'CRM', type: 'test', typeVersion: 1, position: [0, 0], parameters: {} };
const context = (items: number, continueOnFail: boolean) =>
	({
		getInputData: () => Array.from({ length: items }, (_, i) => ({ json: { i } })),
		getNode: () => node,
		continueOnFail: () => continueOnFail,
	}) as unknown as IExecuteFunctions;

describe('runPerItem', () => {
	it('pairs every output with its input and, with Continue On Fail, puts { error, field } on the failing item', async () => {
		const [out] = await runPerItem(context(3, true), async (i) => {
			if (i === 1) throw new FieldError('fields.name', 'is mandatory');
			return [{ i }, { i, second: true }];
		});
		expect(out.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 0 }, { item: 1 }, { item: 2 }, { item: 2 }]);
		expect(out[2].json).toEqual({ error: 'Field "fields.name": is mandatory [item 1]', field: 'fields.name' });
	});

	it('without Continue On Fail the first error stops the node and names the item', async () => {
		await expect(runPerItem(context(3, false), async (i) => (i === 2 ? Promise.reject(new Error('boom')) : { i }))).rejects.toThrow('boom [item 2]');
	});
});

describe('runInChunks', () => {
	const lostSecondRequest = async (chunk: Array<{ itemIndex: number }>) => {
		if (chunk[0].itemIndex >= 50) throw new UnknownOutcomeError('CRM batch', 'ECONNRESET');
		return chunk.map(({ itemIndex }) => ({ result: { id: 1000 + itemIndex } }));
	};

	it('a request lost after earlier ones were written: the error names every written item and the items of the lost request', async () => {
		const error = await runInChunks(context(60, false), 50, async (i) => i, lostSecondRequest).catch((e: Error & { description?: string }) => e);
		expect(error).toBeInstanceOf(Error);
		const { message, description } = error as Error & { description?: string };
		expect(message).toMatch(/did not confirm "CRM batch".*\[item 50\]$/);
		expect(description).toContain(`Items ${Array.from({ length: 50 }, (_, i) => i).join(', ')} were written before the node stopped`);
		expect(description).toContain(`Items ${Array.from({ length: 10 }, (_, i) => i + 50).join(', ')} were in the same request.`);
	});

	it('with Continue On Fail each item of a failed request carries the error naming itself', async () => {
		const [out] = (await runInChunks(context(60, true), 50, async (i) => i, lostSecondRequest)) as Array<Array<{ json: Record<string, unknown> }>>;
		expect(out).toHaveLength(60);
		expect(out[49].json).toEqual({ id: 1049 });
		expect(out.slice(50).map((o) => o.json.error)).toEqual(Array.from({ length: 10 }, (_, i) => expect.stringMatching(new RegExp(`\\[item ${50 + i}\\]$`))));
	});

	it('one shared CRM error object becomes one error per item, codes kept', async () => {
		const shared = new NodeApiError(node, { code: 'QUERY_LIMIT_EXCEEDED' }, { message: 'Too many requests' });
		shared.context.crmCode = 'QUERY_LIMIT_EXCEEDED';
		const [out] = (await runInChunks(context(3, true), 50, async (i) => i, async () => Promise.reject(shared))) as Array<Array<{ json: Record<string, unknown> }>>;
		expect(out.map((o) => o.json)).toEqual([0, 1, 2].map((i) => ({ error: `Too many requests [item ${i}]`, code: 'QUERY_LIMIT_EXCEEDED' })));
	});

	it('items that fail preparation never reach the CRM; the others are sent in one request', async () => {
		const sent: number[][] = [];
		const [out] = (await runInChunks(
			context(4, true),
			50,
			async (i) => {
				if (i === 2) throw new FieldError('recordId', 'is not an ID');
				return i;
			},
			async (chunk) => (sent.push(chunk.map((c) => c.itemIndex)), chunk.map(({ itemIndex }) => ({ result: { id: itemIndex } }))),
		)) as Array<Array<{ json: Record<string, unknown> }>>;
		expect(sent).toEqual([[0, 1, 3]]);
		expect(out.map((o) => o.json)).toEqual([{ id: 0 }, { id: 1 }, { error: 'Field "recordId": is not an ID [item 2]', field: 'recordId' }, { id: 3 }]);
	});
});
