// @ts-check
'use strict';

/**
 * VTQL parser / evaluator for the emulator, modelled on Vtiger 8's include/Webservices/VTQL_Lexer.php,
 * VTQL_Parser.php and Query.php, and on what the real server answered (see README.md):
 *
 *   SELECT * | f1, f2 | count(*) FROM Module [WHERE c op v [AND|OR c op v]...]
 *          [ORDER BY f1[, f2...] [ASC|DESC]] [LIMIT [offset,] n];
 *
 * - The trailing ';' is required (else QUERY_SYNTAX_ERROR "... Unexpected End of Input ...").
 * - Operators: = != < > <= >= LIKE IN. No '<>' and no grouping parentheses (QUERY_SYNTAX_ERROR).
 * - String literals: single quotes; a quote inside is doubled ('O''Brien'); the value then goes to MySQL,
 *   which also honours backslash escapes inside the literal. 'O\'Brien' is a syntax error (the lexer ends
 *   the literal at the backslash-quote). An empty literal '' cannot be lexed: INTERNAL_SERVER_ERROR.
 * - The real parser only builds SQL; SQL that MySQL rejects (unknown ORDER BY column, bare word value,
 *   `id = 5` without the NNx prefix, quoted LIMIT...) comes back as success with [] - emulated as such.
 * - WHERE is evaluated with MySQL semantics: AND binds tighter than OR, case-insensitive string equality
 *   (utf8 *_ci collation, trailing spaces ignored), numeric comparison for numeric columns, DATETIME
 *   comparison for date columns ('2024-01-01' means '2024-01-01 00:00:00'), NULL (empty date/reference)
 *   never matches.
 * - At most 100 rows: LIMIT n is capped to 100, LIMIT o, n caps n to 100; no LIMIT -> LIMIT 100.
 */

class VtqlError extends Error {
	/** @param {string} code @param {string} message */
	constructor(code, message) {
		super(message);
		this.code = code;
	}
}

/** Thrown internally when the generated SQL would fail in MySQL: the real server then answers []. */
class SqlError extends Error {}

// The real lexer's token regex (VTQL_Lexer.php yylex1), anchored at the current position.
const TOKEN_RE = /(\w+|'(?:[^']|'')+'|\(|\)|(?:\+|-)?\d+|,|\*|(?!<|>)=|<(?!=)|>(?!=)|<=|>=|!=|;)|([ \t\r\n]+)/y;

/**
 * Lazy tokenizer: returns tokens until the input ends or cannot be lexed.
 * @param {string} q
 */
function tokenize(q) {
	/** @type {string[]} */
	const tokens = [];
	let pos = 0;
	let lexError = false;
	while (pos < q.length) {
		TOKEN_RE.lastIndex = pos;
		const m = TOKEN_RE.exec(q);
		if (!m) {
			lexError = true;
			break;
		}
		pos = TOKEN_RE.lastIndex;
		if (m[1] !== undefined) tokens.push(m[1]);
	}
	return { tokens, lexError };
}

const OPERATORS = new Set(['=', '<', '>', '<=', '>=', '!=']);

/**
 * @typedef {{ raw: string }} Literal
 * @typedef {{ column: string, op: string, values: string[], list: boolean }} Condition
 * @typedef {{ module: string, columns: string[] | '*' | 'count', where: Condition[], joins: string[],
 *   orderBy: string[], sortOrder: 'ASC'|'DESC'|null, limit: string[] | null }} VtqlAst
 */

/**
 * Parse a VTQL statement. Throws VtqlError (QUERY_SYNTAX_ERROR / INTERNAL_SERVER_ERROR).
 * @param {string} query
 * @returns {VtqlAst}
 */
function parseVtql(query) {
	const { tokens, lexError } = tokenize(query);
	let i = 0;
	let last = '';
	const peek = () => tokens[i];
	const lower = (/** @type {string|undefined} */ t) => (t === undefined ? undefined : t.toLowerCase());
	/** @param {string[]} expected */
	const fail = (expected) => {
		const t = tokens[i];
		if (t === undefined) {
			if (lexError) {
				throw new VtqlError('INTERNAL_SERVER_ERROR', 'Unknown Error while processing request');
			}
			throw new VtqlError(
				'QUERY_SYNTAX_ERROR',
				`Syntax Error on line 1: token '${last}' Unexpected End of Input(0), expected one of: ${expected.join(',')}`,
			);
		}
		throw new VtqlError(
			'QUERY_SYNTAX_ERROR',
			`Syntax Error on line 1: token '${t}' Unexpected ${tokenName(t)}(${t}), expected one of: ${expected.join(',')}`,
		);
	};
	const next = () => {
		last = tokens[i];
		i++;
		return last;
	};

	if (lower(peek()) !== 'select') fail(['SELECT']);
	next();
	/** @type {string[] | '*' | 'count'} */
	let columns;
	if (peek() === '*') {
		next();
		columns = '*';
	} else if (lower(peek()) === 'count' && tokens[i + 1] === '(') {
		next();
		next();
		if (peek() !== '*') fail(['ASTERISK']);
		next();
		if (peek() !== ')') fail(['PARENCLOSE']);
		next();
		columns = 'count';
	} else {
		columns = [];
		for (;;) {
			const t = peek();
			if (t === undefined || [',', '(', ')', '*', ';'].includes(t) || lower(t) === 'from') fail(['COLUMNNAME']);
			columns.push(next());
			if (peek() === ',') {
				next();
				continue;
			}
			break;
		}
	}
	if (lower(peek()) !== 'from') fail(['FRM', 'COMMA']);
	next();
	const table = peek();
	if (table === undefined || lower(table) === 'where' || table === ';') fail(['TABLENAME']);
	next();

	/** @type {Condition[]} */
	const where = [];
	/** @type {string[]} */
	const joins = [];
	if (lower(peek()) === 'where') {
		next();
		for (;;) {
			const col = peek();
			if (col === undefined || ['(', ')', ',', ';'].includes(col) || OPERATORS.has(col)) fail(['COLUMNNAME']);
			next();
			const opTok = peek();
			let op;
			if (opTok !== undefined && OPERATORS.has(opTok)) op = opTok;
			else if (lower(opTok) === 'in') op = 'IN';
			else if (lower(opTok) === 'like') op = 'LIKE';
			else fail(['EQ', 'LT', 'GT', 'LTE', 'GTE', 'NE', 'IN', 'LIKE']);
			next();
			const isValue = (/** @type {string|undefined} */ t) =>
				t !== undefined &&
				!['(', ')', ',', ';'].includes(t) &&
				!OPERATORS.has(t) &&
				!['and', 'or', 'in', 'like', 'where', 'limit', 'order'].includes(t.toLowerCase());
			/** @type {string[]} */
			const values = [];
			let list = false;
			if (peek() === '(') {
				next();
				list = true;
				for (;;) {
					if (!isValue(peek())) fail(['VALUE']);
					values.push(next());
					if (peek() === ',') {
						next();
						continue;
					}
					break;
				}
				if (peek() !== ')') fail(['PARENCLOSE', 'COMMA']);
				next();
			} else {
				for (;;) {
					if (!isValue(peek())) fail(['VALUE', 'PARENOPEN']);
					values.push(next());
					if (op === 'IN' && peek() === ',') {
						next();
						list = true;
						continue;
					}
					break;
				}
			}
			where.push({ column: /** @type {string} */ (col), op: /** @type {string} */ (op), values, list });
			const j = lower(peek());
			if (j === 'and' || j === 'or') {
				joins.push(j.toUpperCase());
				next();
				continue;
			}
			break;
		}
	}

	/** @type {string[]} */
	const orderBy = [];
	/** @type {'ASC'|'DESC'|null} */
	let sortOrder = null;
	if (lower(peek()) === 'order') {
		next();
		if (lower(peek()) !== 'by') fail(['ORDERBY']);
		next();
		for (;;) {
			const c = peek();
			if (c === undefined || [',', '(', ')', ';'].includes(c)) fail(['COLUMNNAME']);
			orderBy.push(next());
			if (peek() === ',') {
				next();
				continue;
			}
			break;
		}
		const d = lower(peek());
		if (d === 'asc' || d === 'desc') {
			sortOrder = d === 'asc' ? 'ASC' : 'DESC';
			next();
		}
	}

	/** @type {string[] | null} */
	let limit = null;
	if (lower(peek()) === 'limit') {
		next();
		const a = peek();
		if (a === undefined || [',', '(', ')', ';'].includes(a)) fail(['VALUE']);
		limit = [next()];
		if (peek() === ',') {
			next();
			const b = peek();
			if (b === undefined || [',', '(', ')', ';'].includes(b)) fail(['VALUE']);
			limit.push(next());
		}
	}
	if (peek() !== ';') fail(['SEMICOLON']);
	next();
	if (i < tokens.length) fail(['$']);
	if (lexError) throw new VtqlError('INTERNAL_SERVER_ERROR', 'Unknown Error while processing request');
	return { module: table, columns, where, joins, orderBy, sortOrder, limit };
}

/** @param {string} t */
function tokenName(t) {
	const map = {
		'=': 'EQ', '<': 'LT', '>': 'GT', '<=': 'LTE', '>=': 'GTE', '!=': 'NE', '(': 'PARENOPEN', ')': 'PARENCLOSE',
		',': 'COMMA', ';': 'SEMICOLON', '*': 'ASTERISK',
	};
	if (t in map) return map[/** @type {keyof typeof map} */ (t)];
	const l = t.toLowerCase();
	if (l === 'and') return 'LOGICAL_AND';
	if (l === 'or') return 'LOGICAL_OR';
	if (l === 'where') return 'WHERE';
	if (l === 'limit') return 'LIMIT';
	return /^'/.test(t) || /^[+-]?\d+$/.test(t) ? 'VALUE' : 'COLUMNNAME';
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

/**
 * @typedef {{ name: string, type: { name: string } }} FieldMeta
 * @typedef {{ id: number, fields: Record<string, string> }} Row
 * @typedef {{
 *   fields: Map<string, FieldMeta>,            // field name -> describe entry (incl. 'id')
 *   fieldOrder: string[],                      // SELECT * order
 *   rows: () => Row[],                         // live rows of the module, ascending id
 *   refNumber: (value: string) => number|null, // '11x5' -> 5 (or null when empty/NULL)
 *   format: (row: Row, columns: string[]) => Record<string, string>,
 *   cacheKey?: string,                         // data version, for the sort cache
 * }} QueryContext
 */

const NUMERIC_TYPES = new Set(['integer', 'double', 'currency', 'autogenerated']);
const DATE_TYPES = new Set(['date', 'datetime']);

/**
 * SQL literal from a raw token.
 * @param {string} raw
 * @returns {{ kind: 'str', v: string } | { kind: 'num', v: number } | { kind: 'null' }}
 */
function literal(raw) {
	if (raw.startsWith("'")) {
		const body = raw.slice(1, -1).replace(/''/g, "'");
		return { kind: 'str', v: mysqlUnescape(body) };
	}
	if (/^[+-]?\d+$/.test(raw)) return { kind: 'num', v: Number(raw) };
	const l = raw.toLowerCase();
	if (l === 'null') return { kind: 'null' };
	if (l === 'true') return { kind: 'num', v: 1 };
	if (l === 'false') return { kind: 'num', v: 0 };
	throw new SqlError(`Unknown column '${raw}' in 'where clause'`);
}

/** MySQL string-literal backslash escapes (\% and \_ are kept for LIKE). @param {string} s */
function mysqlUnescape(s) {
	if (!s.includes('\\')) return s;
	return s.replace(/\\(.)/gs, (_m, c) => {
		switch (c) {
			case '0': return '\0';
			case 'n': return '\n';
			case 'r': return '\r';
			case 't': return '\t';
			case 'b': return '\b';
			case 'Z': return '\x1a';
			case '%': return '\\%';
			case '_': return '\\_';
			default: return c;
		}
	});
}

/** MySQL string -> number conversion (leading numeric prefix, else 0). @param {string} s */
function toNumber(s) {
	const m = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(s);
	return m ? Number(m[0]) : 0;
}

/** Collation key: case-insensitive, trailing spaces ignored (utf8_general_ci, PAD SPACE). @param {string} s */
function ci(s) {
	return s.replace(/ +$/, '').toLowerCase();
}

/** '2024-01-01' -> '2024-01-01 00:00:00' for DATETIME comparison. @param {string} s */
function normDate(s) {
	const t = s.trim();
	if (/^\d{4}-\d{1,2}-\d{1,2}$/.test(t)) return pad(t) + ' 00:00:00';
	const m = /^(\d{4}-\d{1,2}-\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?/.exec(t);
	if (m) return `${pad(m[1])} ${m[2].padStart(2, '0')}:${m[3].padStart(2, '0')}:${(m[4] || '0').padStart(2, '0')}`;
	return null;
}
/** @param {string} d */
function pad(d) {
	const [y, mo, da] = d.split('-');
	return `${y}-${mo.padStart(2, '0')}-${da.padStart(2, '0')}`;
}

/** @param {string} pattern */
function likeToRegExp(pattern) {
	let re = '';
	for (let k = 0; k < pattern.length; k++) {
		const c = pattern[k];
		if (c === '\\' && k + 1 < pattern.length) {
			re += escapeRe(pattern[++k]);
		} else if (c === '%') re += '.*';
		else if (c === '_') re += '.';
		else re += escapeRe(c);
	}
	return new RegExp('^' + re + '$', 'is');
}
/** @param {string} c */
function escapeRe(c) {
	return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Build a predicate for one WHERE condition, after the parser's value rewriting (id / reference / owner).
 * @param {Condition} cond
 * @param {QueryContext} ctx
 * @returns {(row: Row) => boolean}
 */
function buildPredicate(cond, ctx) {
	const field = /** @type {FieldMeta} */ (ctx.fields.get(cond.column));
	const ftype = field.type.name;
	const isId = cond.column === 'id';
	const isRef = ftype === 'reference';
	const isOwner = ftype === 'owner';
	const op = cond.op;

	/** @type {(row: Row) => string | number | null} column getter (null = SQL NULL) */
	let get;
	/** @type {'num'|'str'|'date'} */
	let colKind;
	if (isId) {
		get = (row) => row.id;
		colKind = 'num';
	} else if (isRef || isOwner) {
		get = (row) => ctx.refNumber(row.fields[cond.column] || '');
		colKind = 'num';
	} else if (NUMERIC_TYPES.has(ftype)) {
		get = (row) => toNumber(row.fields[cond.column] || '0');
		colKind = 'num';
	} else if (DATE_TYPES.has(ftype)) {
		get = (row) => {
			const v = row.fields[cond.column];
			return v ? v : null;
		};
		colKind = 'date';
	} else {
		get = (row) => {
			const v = row.fields[cond.column];
			return v === undefined ? null : v;
		};
		colKind = 'str';
	}

	// Value rewriting done by the real parser before SQL is built.
	/** @type {string[]} */
	let raws = cond.values;
	if (isId || isOwner || isRef) {
		if (isRef && !raws.every((v) => v.includes('x'))) {
			throw new VtqlError('INVALID_ID_ATTRIBUTE', 'Id specified is incorrect');
		}
		raws = raws.map((v) => {
			const part = v.replace(/^['"]+|['"]+$/g, '').split('x')[1];
			if (part === undefined || part === '') throw new SqlError('empty id part');
			if (!/^[+-]?\d+$/.test(part)) {
				throw new SqlError(`Unknown column '${part}'`);
			}
			return op === 'LIKE' ? `'${part}'` : part;
		});
	}
	const lits = raws.map(literal);

	if (op === 'LIKE') {
		const lit = lits[0];
		if (lits.length !== 1) throw new SqlError('LIKE list');
		if (lit.kind === 'null') return () => false;
		const re = likeToRegExp(lit.kind === 'str' ? lit.v : String(lit.v));
		return (row) => {
			const v = isId || isRef || isOwner ? get(row) : row.fields[cond.column];
			if (v === null || v === undefined || (colKind === 'date' && v === '')) return false;
			return re.test(String(v));
		};
	}

	/** @type {(lit: ReturnType<typeof literal>) => (v: string|number) => number|null} comparator against one literal */
	const makeCmp = (lit) => {
		if (lit.kind === 'null') return () => null;
		if (colKind === 'num') {
			const n = lit.kind === 'num' ? lit.v : toNumber(lit.v);
			return (v) => {
				const x = typeof v === 'number' ? v : toNumber(v);
				return x < n ? -1 : x > n ? 1 : 0;
			};
		}
		if (lit.kind === 'num') {
			const n = lit.v;
			return (v) => {
				const x = toNumber(String(v));
				return x < n ? -1 : x > n ? 1 : 0;
			};
		}
		if (colKind === 'date') {
			const d = normDate(lit.v);
			if (d !== null) {
				return (v) => {
					const x = normDate(String(v)) || String(v);
					return x < d ? -1 : x > d ? 1 : 0;
				};
			}
		}
		const s = ci(lit.v);
		return (v) => {
			const x = ci(String(v));
			return x < s ? -1 : x > s ? 1 : 0;
		};
	};

	if (op === 'IN') {
		const cmps = lits.map(makeCmp);
		return (row) => {
			const v = get(row);
			if (v === null) return false;
			return cmps.some((c) => c(v) === 0);
		};
	}
	if (lits.length !== 1) throw new SqlError('operand should contain 1 column');
	const cmp = makeCmp(lits[0]);
	/** @type {(c: number) => boolean} */
	const test =
		op === '=' ? (c) => c === 0
		: op === '!=' ? (c) => c !== 0
		: op === '<' ? (c) => c < 0
		: op === '>' ? (c) => c > 0
		: op === '<=' ? (c) => c <= 0
		: (c) => c >= 0;
	return (row) => {
		const v = get(row);
		if (v === null) return false;
		const c = cmp(v);
		return c !== null && test(c);
	};
}

/** @type {Map<string, { key: string, ids: Row[] }>} */
const sortCache = new Map();

/**
 * Execute a parsed statement against a module context. Returns rows (already formatted).
 * Throws VtqlError for errors the real server reports; SQL-level failures give [] like the real server.
 * @param {VtqlAst} ast
 * @param {QueryContext} ctx
 * @returns {Record<string, string>[]}
 */
function executeVtql(ast, ctx) {
	// Column checks happen in buildSelectStmt, after the whole statement parsed.
	/** @type {string[]} */
	let outColumns;
	if (ast.columns === '*') outColumns = ctx.fieldOrder;
	else if (ast.columns === 'count') outColumns = [];
	else {
		const cols = [...ast.columns];
		if (!cols.includes('id')) cols.push('id');
		for (const c of cols) {
			if (!ctx.fields.has(c)) {
				throw new VtqlError('ACCESS_DENIED', `Permission to access '.${c}.' attribute denied.`);
			}
		}
		outColumns = [...new Set(cols)];
	}
	for (const cond of ast.where) {
		if (!ctx.fields.has(cond.column)) {
			throw new VtqlError('ACCESS_DENIED', `Permission to access ${cond.column} attribute denied.`);
		}
	}
	try {
		return run(ast, ctx, outColumns);
	} catch (e) {
		if (e instanceof SqlError) return [];
		throw e;
	}
}

/**
 * @param {VtqlAst} ast
 * @param {QueryContext} ctx
 * @param {string[]} outColumns
 */
function run(ast, ctx, outColumns) {
	// WHERE, with MySQL precedence: AND groups bind tighter than OR.
	const preds = ast.where.map((c) => buildPredicate(c, ctx));
	/** @type {((row: Row) => boolean)[][]} */
	const orGroups = [];
	if (preds.length) {
		let group = [preds[0]];
		for (let k = 1; k < preds.length; k++) {
			if (ast.joins[k - 1] === 'OR') {
				orGroups.push(group);
				group = [preds[k]];
			} else group.push(preds[k]);
		}
		orGroups.push(group);
	}
	// ORDER BY columns must exist (else MySQL error -> []).
	for (const c of ast.orderBy) if (!ctx.fields.has(c)) throw new SqlError(`Unknown column '${c}' in 'order clause'`);

	// LIMIT
	let offset = 0;
	let count = 100;
	if (ast.limit) {
		const nums = ast.limit.map((v) => {
			if (!/^\+?\d+$/.test(v)) throw new SqlError('bad LIMIT');
			return Number(v);
		});
		if (nums.length === 1) count = Math.min(nums[0], 100);
		else {
			offset = nums[0];
			count = Math.min(nums[1], 100);
		}
	}

	const cacheKey =
		ctx.cacheKey !== undefined
			? `${ctx.cacheKey}|${JSON.stringify(ast.where)}|${ast.joins}|${ast.orderBy}|${ast.sortOrder}`
			: undefined;
	const moduleKey = ctx.cacheKey !== undefined ? ctx.cacheKey.split('|')[0] : '';
	/** @type {Row[]} */
	let matched;
	const cached = cacheKey !== undefined ? sortCache.get(moduleKey) : undefined;
	if (cached && cached.key === cacheKey) {
		matched = cached.ids;
	} else {
		const all = ctx.rows();
		matched = orGroups.length ? all.filter((row) => orGroups.some((g) => g.every((p) => p(row)))) : all.slice();
		if (ast.orderBy.length) matched = sortRows(matched, ast, ctx);
		if (cacheKey !== undefined) sortCache.set(moduleKey, { key: cacheKey, ids: matched });
	}

	if (ast.columns === 'count') {
		const rows = [{ count: String(matched.length) }];
		return rows.slice(offset, offset + count);
	}
	const page = matched.slice(offset, offset + count);
	return page.map((row) => ctx.format(row, outColumns));
}

/**
 * @param {Row[]} rows
 * @param {VtqlAst} ast
 * @param {QueryContext} ctx
 */
function sortRows(rows, ast, ctx) {
	const keys = ast.orderBy.map((col, k) => {
		const f = /** @type {FieldMeta} */ (ctx.fields.get(col));
		const t = f.type.name;
		const desc = k === ast.orderBy.length - 1 && ast.sortOrder === 'DESC';
		/** @type {(row: Row) => number | string | null} */
		let get;
		if (col === 'id') get = (row) => row.id;
		else if (t === 'reference' || t === 'owner') get = (row) => ctx.refNumber(row.fields[col] || '');
		else if (NUMERIC_TYPES.has(t)) get = (row) => toNumber(row.fields[col] || '0');
		else if (DATE_TYPES.has(t)) get = (row) => row.fields[col] || null;
		else get = (row) => ci(row.fields[col] || '');
		return { get, desc };
	});
	// Decorate-sort-undecorate for speed.
	const decorated = rows.map((row) => ({ row, k: keys.map((key) => key.get(row)) }));
	decorated.sort((a, b) => {
		for (let j = 0; j < keys.length; j++) {
			const x = a.k[j];
			const y = b.k[j];
			if (x === y) continue;
			let c;
			if (x === null) c = -1;
			else if (y === null) c = 1;
			else c = x < y ? -1 : x > y ? 1 : 0;
			if (c !== 0) return keys[j].desc ? -c : c;
		}
		return a.row.id - b.row.id;
	});
	return decorated.map((d) => d.row);
}

/** Module name as the real Query.php extracts it before parsing. @param {string} q */
function moduleOfQuery(q) {
	const m = /[fF][rR][Oo][Mm]\s+([^\s;]+)/.exec(q);
	return m ? m[1].trim() : null;
}

function clearSortCache() {
	sortCache.clear();
}

module.exports = { parseVtql, executeVtql, moduleOfQuery, tokenize, VtqlError, clearSortCache };
