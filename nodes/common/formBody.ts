import type { IDataObject } from 'n8n-workflow';
import { isSafeObjectProperty } from 'n8n-workflow';

/** Limits that keep a hostile delivery from costing much (PHP's own defaults are 1000 vars, depth 64). */
export const FORM_LIMITS = { maxPairs: 5000, maxDepth: 32 };

type Node = { [key: string]: Node | string };

function splitKey(name: string): string[] | undefined {
	const open = name.indexOf('[');
	if (open <= 0) return [name];
	const path = [name.slice(0, open)];
	const rest = name.slice(open);
	const segment = /\[([^\]]*)\]/y;
	let position = 0;
	while (position < rest.length) {
		segment.lastIndex = position;
		const match = segment.exec(rest);
		if (!match) return undefined; // PHP keeps the malformed tail as text; we drop it
		path.push(match[1]);
		position = segment.lastIndex;
	}
	return path;
}

function toArrays(node: Node | string): unknown {
	if (typeof node === 'string') return node;
	const keys = Object.keys(node);
	const converted: IDataObject = {};
	for (const key of keys) converted[key] = toArrays(node[key]) as IDataObject[string];
	const isList = keys.length > 0 && keys.every((key, index) => key === String(index));
	return isList ? keys.map((key) => converted[key]) : converted;
}

/**
 * Parses an `application/x-www-form-urlencoded` body with PHP-style nested keys
 * (`leads[add][0][id]=5&tags[]=a`) into plain JSON, as the CRMs that send such webhooks mean it:
 * `{ leads: { add: [ { id: '5' } ] }, tags: ['a'] }`. Objects whose keys are 0..n-1 become arrays.
 * Keys that could pollute prototypes (`__proto__`, `constructor`, `prototype`) are dropped, and so are
 * pairs past `FORM_LIMITS`; values stay strings, exactly as delivered.
 */
export function parsePhpFormBody(body: string | URLSearchParams): IDataObject {
	const params = typeof body === 'string' ? new URLSearchParams(body) : body;
	const root: Node = Object.create(null) as Node;
	let pairs = 0;
	for (const [name, value] of params) {
		if (++pairs > FORM_LIMITS.maxPairs) break;
		const path = splitKey(name);
		if (!path || path.length > FORM_LIMITS.maxDepth) continue;
		if (!path.every((key) => key === '' || isSafeObjectProperty(key))) continue;
		let node = root;
		for (let depth = 0; depth < path.length; depth++) {
			let key = path[depth];
			if (key === '') key = String(Object.keys(node).length); // `a[]=x` appends
			if (depth === path.length - 1) {
				node[key] = value;
				break;
			}
			const next = node[key];
			if (next === undefined || typeof next === 'string') {
				node[key] = Object.create(null) as Node;
			}
			node = node[key] as Node;
		}
	}
	return toArrays(root) as IDataObject;
}

/**
 * The inverse of `parsePhpFormBody`, as PHP's `http_build_query` writes it: nested objects and arrays become
 * `a[b][0]=x` pairs. Used where a CRM takes parameters in a URL-encoded string (Bitrix24 `batch` commands,
 * PHP form endpoints). `null`/`undefined` are left out; booleans become 1/0 like PHP.
 */
export function encodePhpForm(params: IDataObject): string {
	const pairs: string[] = [];
	const add = (key: string, value: unknown) => {
		if (value === undefined || value === null) return;
		if (typeof value === 'object' && !(value instanceof Date)) {
			const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
			for (const [child, nested] of entries) add(`${key}[${child}]`, nested);
			return;
		}
		const text = value instanceof Date ? value.toISOString() : typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
		pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
	};
	for (const [key, value] of Object.entries(params)) add(key, value);
	return pairs.join('&');
}
