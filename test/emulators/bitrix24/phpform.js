// @ts-check
'use strict';

/**
 * PHP-style request parameter handling for the Bitrix24 emulator (Bitrix24 is PHP: $_GET / $_POST).
 *
 * - parsePhpQuery('fields[TITLE]=x&filter[>ID]=10&select[]=ID') → { fields: { TITLE: 'x' }, filter: { '>ID': '10' },
 *   select: ['ID'] }, following php_register_variable_ex: '.' and ' ' in the top-level name become '_', an unclosed
 *   first '[' becomes '_', text after a closing ']' that does not open a new '[' is dropped, '[]' appends at the
 *   next integer index, nesting deeper than 64 levels drops the variable (max_input_nesting_level).
 * - No prototype pollution: every property is created with Object.defineProperty, so a key named `__proto__`
 *   becomes an ordinary own property and never touches a prototype.
 * - Containers whose keys are exactly 0..n-1 become JS arrays (what a JSON body would have given).
 * - buildPhpQuery(obj) is http_build_query (brackets percent-encoded, RFC 1738 '+' for spaces).
 */

const MAX_DEPTH = 64;

/** @param {unknown} v @returns {v is Record<string, any>} */
const isObj = (v) => typeof v === 'object' && v !== null;

/** Own-property read that ignores the prototype chain. @param {any} o @param {string} k */
function own(o, k) {
	return isObj(o) && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/** Safe own-property write. @param {any} o @param {string} k @param {unknown} v */
function put(o, k, v) {
	Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/** urldecode (PHP): '+' is a space, invalid %-sequences stay literal. @param {string} s */
function urldecode(s) {
	const t = s.replace(/\+/g, ' ');
	if (t.indexOf('%') < 0) return t;
	try {
		return decodeURIComponent(t);
	} catch {
		// decode valid sequences one by one, keep invalid ones
		return t.replace(/(%[0-9a-fA-F]{2})+/g, (m) => {
			try {
				return decodeURIComponent(m);
			} catch {
				return Buffer.from(m.replace(/%/g, ''), 'hex').toString('latin1');
			}
		});
	}
}

/** Container used while parsing: ordered map + next free integer index. */
class PhpArray {
	constructor() {
		/** @type {Map<string, any>} */
		this.map = new Map();
		this.next = 0;
	}
	/** @param {string} k @param {any} v */
	set(k, v) {
		this.map.set(k, v);
		if (/^(0|-?[1-9]\d*)$/.test(k)) {
			const n = Number(k);
			if (n >= this.next) this.next = n + 1;
		}
	}
	/** @param {any} v */
	push(v) {
		const k = String(this.next);
		this.set(k, v);
		return k;
	}
}

/**
 * Register one variable (php_register_variable_ex).
 * @param {PhpArray} root @param {string} name @param {any} value
 */
function register(root, name, value) {
	let n = name.replace(/^ +/, '');
	if (!n) return;
	let open = n.indexOf('[');
	/** @type {string[] | null} */
	let segs = null;
	let base;
	if (open < 0) {
		base = n;
	} else {
		base = n.slice(0, open);
		segs = [];
		let i = open;
		let first = true;
		while (i < n.length && n[i] === '[') {
			const close = n.indexOf(']', i + 1);
			if (close < 0) {
				if (first) {
					// unclosed first bracket: PHP turns it into '_' and keeps the rest in the name
					base = n.slice(0, open) + '_' + n.slice(open + 1);
					segs = null;
				}
				break;
			}
			segs.push(n.slice(i + 1, close));
			first = false;
			i = close + 1;
		}
		if (segs && segs.length === 0) segs = null;
	}
	base = base.replace(/[ .]/g, '_');
	if (!base) return;
	if (segs && segs.length >= MAX_DEPTH) return;
	const path = [base, ...(segs || [])];
	/** @type {PhpArray} */
	let cur = root;
	for (let d = 0; d < path.length; d++) {
		const key = path[d];
		const last = d === path.length - 1;
		if (last) {
			if (key === '' && d > 0) cur.push(value);
			else cur.set(key, value);
			return;
		}
		let nextKey = key;
		if (key === '' && d > 0) nextKey = cur.push(new PhpArray());
		let child = cur.map.get(nextKey);
		if (!(child instanceof PhpArray)) {
			child = new PhpArray();
			cur.set(nextKey, child);
		}
		cur = child;
	}
}

/** Convert the parse tree to plain JS (arrays for 0..n-1 keys). @param {any} v @returns {any} */
function finalize(v) {
	if (!(v instanceof PhpArray)) return v;
	const keys = [...v.map.keys()];
	if (keys.length > 0 && keys.every((k, i) => k === String(i))) {
		return keys.map((k) => finalize(v.map.get(k)));
	}
	/** @type {Record<string, any>} */
	const o = {};
	for (const k of keys) put(o, k, finalize(v.map.get(k)));
	return o;
}

/**
 * Parse an application/x-www-form-urlencoded string (or query string) the way PHP fills $_GET/$_POST.
 * @param {string} qs
 * @returns {Record<string, any>}
 */
function parsePhpQuery(qs) {
	const root = new PhpArray();
	if (qs) {
		for (const pair of qs.split('&')) {
			if (!pair) continue;
			const eq = pair.indexOf('=');
			const k = urldecode(eq >= 0 ? pair.slice(0, eq) : pair);
			const v = eq >= 0 ? urldecode(pair.slice(eq + 1)) : '';
			register(root, k, v);
		}
	}
	const out = finalize(root);
	return Array.isArray(out) ? toObject(out) : out;
}

/** @param {any[]} a */
function toObject(a) {
	/** @type {Record<string, any>} */
	const o = {};
	a.forEach((v, i) => put(o, String(i), v));
	return o;
}

/**
 * Parse a multipart/form-data body (fields only; a file part's value is its file name).
 * @param {Buffer} body @param {string} contentType
 */
function parseMultipart(body, contentType) {
	const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
	const root = new PhpArray();
	if (!m) return finalizeRoot(root);
	const boundary = '--' + (m[1] || m[2]).trim();
	const text = body.toString('latin1');
	const parts = text.split(boundary);
	for (const part of parts) {
		if (!part || part.startsWith('--')) continue;
		const sep = part.indexOf('\r\n\r\n');
		if (sep < 0) continue;
		const head = part.slice(0, sep);
		let val = part.slice(sep + 4);
		if (val.endsWith('\r\n')) val = val.slice(0, -2);
		const nm = /name="([^"]*)"/i.exec(head);
		if (!nm) continue;
		const fn = /filename="([^"]*)"/i.exec(head);
		const value = fn ? Buffer.from(fn[1], 'latin1').toString('utf8') : Buffer.from(val, 'latin1').toString('utf8');
		register(root, Buffer.from(nm[1], 'latin1').toString('utf8'), value);
	}
	return finalizeRoot(root);
}

/** @param {PhpArray} root */
function finalizeRoot(root) {
	const out = finalize(root);
	return Array.isArray(out) ? toObject(out) : out;
}

/** PHP urlencode (spaces as '+'). @param {string} s */
function urlencode(s) {
	return encodeURIComponent(s)
		.replace(/%20/g, '+')
		.replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * http_build_query: nested keys as name[key], true→1, false→0, null skipped.
 * @param {Record<string, any>} obj @param {string} [prefix]
 * @returns {string}
 */
function buildPhpQuery(obj, prefix) {
	/** @type {string[]} */
	const out = [];
	const entries = Array.isArray(obj) ? obj.map((v, i) => [String(i), v]) : Object.entries(obj);
	for (const [k, v] of entries) {
		const name = prefix ? `${prefix}[${k}]` : k;
		if (v === null || v === undefined) continue;
		if (isObj(v)) {
			const inner = buildPhpQuery(v, name);
			if (inner) out.push(inner);
		} else {
			const s = v === true ? '1' : v === false ? '0' : String(v);
			out.push(`${urlencode(name)}=${urlencode(s)}`);
		}
	}
	return out.join('&');
}

/**
 * Shallow merge of parameter objects without prototype effects (later wins).
 * @param {...Record<string, any>} objs
 */
function mergeParams(...objs) {
	/** @type {Record<string, any>} */
	const o = {};
	for (const src of objs) {
		if (!isObj(src) || Array.isArray(src)) continue;
		for (const k of Object.keys(src)) put(o, k, src[k]);
	}
	return o;
}

module.exports = { parsePhpQuery, parseMultipart, buildPhpQuery, mergeParams, own, put, isObj, urldecode };
