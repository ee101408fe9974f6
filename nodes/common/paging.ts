/**
 * Paging iterators. A CRM adapter says how to fetch one page; these say when to stop, so Return All and
 * Limit behave the same in every CRM: pages are fetched lazily and no page past the limit is requested.
 */

/** How many rows the caller still wants: `Infinity` for Return All. */
export function wanted(returnAll: boolean, limit: number): number {
	return returnAll ? Infinity : Math.max(0, Math.floor(limit));
}

/**
 * Offset paging (Vtiger `LIMIT offset,100`, SalesMan page numbers): requests pages of `pageSize` rows
 * until a short page says the end was reached or `max` rows were read. `fetchPage` gets the page number
 * (0-based), the row offset and how many rows to ask for (smaller on the last page under a limit).
 */
export async function* offsetPages<T>(
	pageSize: number,
	max: number,
	fetchPage: (page: { index: number; offset: number; size: number }) => Promise<T[]>,
): AsyncGenerator<T[]> {
	let read = 0;
	for (let index = 0; read < max; index++) {
		const size = Math.min(pageSize, max - read);
		const rows = await fetchPage({ index, offset: read, size });
		if (rows.length) yield rows.slice(0, max - read);
		read += rows.length;
		if (rows.length < size) return;
	}
}

/**
 * Cursor paging (amoCRM `_links.next`, Bitrix24 keyset by id): each page tells where the next starts;
 * an absent cursor ends the list.
 */
export async function* cursorPages<T, C>(
	first: C | undefined,
	fetchPage: (cursor: C | undefined) => Promise<{ rows: T[]; next?: C }>,
): AsyncGenerator<T[]> {
	let cursor = first;
	for (;;) {
		const { rows, next } = await fetchPage(cursor);
		if (rows.length) yield rows;
		if (next === undefined || next === null || !rows.length) return;
		cursor = next;
	}
}

/**
 * Drops rows already seen (by `key`) from the pages: offset paging over a non-unique sort order can move a row
 * across a page boundary between two requests. Placed before `collect`, so a Limit still gets its full count.
 */
export async function* uniqueBy<T>(pages: AsyncIterable<T[]>, key: (row: T) => unknown): AsyncGenerator<T[]> {
	const seen = new Set<unknown>();
	for await (const page of pages) {
		yield page.filter((row) => {
			const id = key(row);
			if (id === undefined || id === null || id === '') return true;
			if (seen.has(id)) return false;
			seen.add(id);
			return true;
		});
	}
}

/** Reads pages until `max` rows are collected, never more. */
export async function collect<T>(pages: AsyncIterable<T[]>, max = Infinity): Promise<T[]> {
	const rows: T[] = [];
	for await (const page of pages) {
		for (const row of page) {
			if (rows.length >= max) return rows;
			rows.push(row);
		}
		if (rows.length >= max) return rows;
	}
	return rows;
}
