import { collect, cursorPages, offsetPages, wanted } from '../../nodes/common/paging';

const table = Array.from({ length: 250 }, (_, i) => i);

describe('offsetPages', () => {
	it('reads to the end with the fewest pages and stops on a short page', async () => {
		const asked: Array<[number, number]> = [];
		const rows = await collect(
			offsetPages(100, Infinity, async ({ offset, size }) => {
				asked.push([offset, size]);
				return table.slice(offset, offset + size);
			}),
		);
		expect(rows).toEqual(table);
		expect(asked).toEqual([
			[0, 100],
			[100, 100],
			[200, 100],
		]);
	});

	it('asks for no more than the limit and no page past it', async () => {
		const asked: Array<[number, number]> = [];
		const rows = await collect(
			offsetPages(100, 130, async ({ offset, size }) => {
				asked.push([offset, size]);
				return table.slice(offset, offset + size);
			}),
			130,
		);
		expect(rows).toHaveLength(130);
		expect(asked).toEqual([
			[0, 100],
			[100, 30],
		]);
	});

	it('an exact multiple of the page size costs one empty page to learn the end', async () => {
		let calls = 0;
		const rows = await collect(offsetPages(50, Infinity, async ({ offset, size }) => (calls++, table.slice(0, 100).slice(offset, offset + size))));
		expect(rows).toHaveLength(100);
		expect(calls).toBe(3);
	});

	it('gives page numbers for CRMs whose offset is a page index', async () => {
		const indexes: number[] = [];
		await collect(offsetPages(100, Infinity, async ({ index, offset, size }) => (indexes.push(index), table.slice(offset, offset + size))));
		expect(indexes).toEqual([0, 1, 2]);
	});
});

describe('cursorPages', () => {
	it('follows the cursor until it is absent', async () => {
		const cursors: Array<number | undefined> = [];
		const rows = await collect(
			cursorPages<number, number>(undefined, async (cursor) => {
				cursors.push(cursor);
				const start = cursor ?? 0;
				const rows = table.slice(start, start + 100);
				return { rows, next: start + 100 < table.length ? start + 100 : undefined };
			}),
		);
		expect(rows).toEqual(table);
		expect(cursors).toEqual([undefined, 100, 200]);
	});

	it('stops early under a limit', async () => {
		let calls = 0;
		const rows = await collect(
			cursorPages<number, number>(0, async (cursor) => (calls++, { rows: table.slice(cursor!, cursor! + 100), next: cursor! + 100 })),
			150,
		);
		expect(rows).toHaveLength(150);
		expect(calls).toBe(2);
	});
});

it('wanted() is Infinity for Return All and the limit otherwise', () => {
	expect(wanted(true, 5)).toBe(Infinity);
	expect(wanted(false, 5)).toBe(5);
});
