// @ts-check
'use strict';

/**
 * VTQL parser / evaluator for the emulator. The lexer and the parser are Vtiger 8's
 * include/Webservices/VTQL_Lexer.php and VTQL_Parser.php ported statement by statement (same tables, same
 * quirks, so the same syntax errors word for word); the evaluation follows Query.php, MySQL and what the real
 * server answered (see README.md):
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

// ---------------------------------------------------------------------------------------------------
// The real lexer and parser, ported statement by statement from VTQL_Lexer.php and VTQL_Parser.php (a LEMON
// parser): the syntax errors the real server sends name tokens by the lexer's state, list the expected tokens the
// way the generated PHP computes them (PHP's `+` on arrays keeps the left keys, so "VALUE,PARENOPEN" comes out as
// "VALUE"), and the generated code's quirks (yy_is_expected_token leaves a simulated stack behind, which ends in
// "There is an syntax error in query") are reproduced with it.

const MANDATORY_STATES = ['select', 'column_list', 'from', 'table'];
const OPTIONAL_STATES = ['where', 'orderby', 'limit'];
const TK = {
	SELECT: 1, FRM: 2, COLUMNNAME: 3, ASTERISK: 4, COUNT: 5, PARENOPEN: 6, PARENCLOSE: 7, COMMA: 8, TABLENAME: 9,
	WHERE: 10, LOGICAL_AND: 11, LOGICAL_OR: 12, VALUE: 13, EQ: 14, LT: 15, GT: 16, LTE: 17, GTE: 18, NE: 19, IN: 20,
	LIKE: 21, ORDERBY: 22, ASC: 23, DESC: 24, LIMIT: 25, SEMICOLON: 26,
};
const TOKEN_NAMES = ['$', 'SELECT', 'FRM', 'COLUMNNAME', 'ASTERISK', 'COUNT', 'PARENOPEN', 'PARENCLOSE', 'COMMA',
	'TABLENAME', 'WHERE', 'LOGICAL_AND', 'LOGICAL_OR', 'VALUE', 'EQ', 'LT', 'GT', 'LTE', 'GTE', 'NE', 'IN', 'LIKE',
	'ORDERBY', 'ASC', 'DESC', 'LIMIT', 'SEMICOLON', 'error', 'sql', 'select_statement', 'selectcol_list',
	'table_list', 'where_condition', 'order_clause', 'limit_clause', 'end_stmt', 'selectcolumn_exp', 'condition',
	'expr_set', 'expr', 'logical_term', 'valuelist', 'valueref', 'value_exp', 'column_group', 'clause',
	'column_list', 'column_exp', 'limit_set'];

/** The lexer's token regex (yylex1), anchored at the current position: group 1 a token, group 4 white space. */
const LEX_RE = /((\w+|'(?:[^']|'')+'|\(|\)|(\+|-)?\d+|,|\*|(?!<|>)=|<(?!=)|>(?!=)|<=|>=|!=|;))|([ \t\r\n]+)/y;

/** strcasecmp(a, b) === 0 */
const sameWord = (/** @type {unknown} */ a, /** @type {unknown} */ b) =>
	typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/** VTQL_Lexer with its PHP globals ($where_col, $orderby, $in_started, $count), one per query. */
class VtqlLexer {
	/** @param {string} data */
	constructor(data) {
		this.data = data;
		this.index = 0;
		this.linenum = 1;
		this.mandatory = true;
		this.current_state = 0;
		/** @type {number | null} */
		this.token = null;
		/** @type {string | null} */
		this.value = null;
		this.g = { where_col: false, orderby: false, in_started: false, count: false };
	}

	incState() {
		this.current_state++;
		if (this.current_state === MANDATORY_STATES.length) this.mandatory = false;
	}

	/** @param {string} name @param {string} val @returns {number | null} */
	handle(name, val) {
		const g = this.g;
		switch (name) {
			case 'select':
				if (this.mandatory && sameWord(val, MANDATORY_STATES[this.current_state])) {
					this.incState();
					return TK.SELECT;
				}
				return null;
			case 'column_list':
				if (!this.mandatory) return null;
				if (!sameWord(val, MANDATORY_STATES[2])) {
					if (val === '*') {
						if (!g.count) this.incState();
						return TK.ASTERISK;
					}
					if (val === '(') return TK.PARENOPEN;
					if (val === ')') return TK.PARENCLOSE;
					if (sameWord(val, 'count')) {
						g.count = true;
						return TK.COUNT;
					}
					if (val === ',') return TK.COMMA;
					return TK.COLUMNNAME;
				}
				this.incState();
				this.incState();
				return TK.FRM;
			case 'from':
				if (sameWord(val, MANDATORY_STATES[this.current_state])) {
					this.incState();
					return TK.FRM;
				}
				return null;
			case 'table':
				if (this.mandatory) {
					this.current_state = 0;
					this.mandatory = false;
					if (!sameWord(val, OPTIONAL_STATES[this.current_state])) return TK.TABLENAME;
				}
				return null;
			case 'where': {
				const v = val.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
				if (v === '=') return TK.EQ;
				if (sameWord(v, OPTIONAL_STATES[this.current_state])) return TK.WHERE;
				if (v === '<') return TK.LT;
				if (v === '<=') return TK.LTE;
				if (v === '>=') return TK.GTE;
				if (v === '!=') return TK.NE;
				if (v === '>') return TK.GT;
				if (v === '(') return TK.PARENOPEN;
				if (v === ')') {
					if (g.in_started) {
						g.in_started = false;
						g.where_col = false;
					}
					return TK.PARENCLOSE;
				}
				if (sameWord(v, 'and')) return TK.LOGICAL_AND;
				if (sameWord(v, 'or')) return TK.LOGICAL_OR;
				if (!g.where_col) {
					g.where_col = true;
					return TK.COLUMNNAME;
				}
				if (sameWord(v, 'in')) {
					g.in_started = true;
					return TK.IN;
				}
				if (v === ',') return TK.COMMA;
				if (sameWord(v, 'like')) return TK.LIKE;
				if (g.where_col) {
					if (!g.in_started) g.where_col = false;
					return TK.VALUE;
				}
				return null;
			}
			case 'orderby':
				if (!g.orderby) {
					g.orderby = true;
					return TK.ORDERBY;
				}
				if (val === ',') return TK.COMMA;
				if (sameWord(val, 'asc')) return TK.ASC;
				if (sameWord(val, 'desc')) return TK.DESC;
				return TK.COLUMNNAME;
			case 'limit':
				if (sameWord(val, 'limit')) return TK.LIMIT;
				if (val === '(') return TK.PARENOPEN;
				if (val === ')') return TK.PARENCLOSE;
				if (val === ',') return TK.COMMA;
				return TK.VALUE;
		}
		return null;
	}

	/** yy_r1_1: undefined accepts the token, false skips it. @returns {false | undefined} */
	rule1() {
		const val = /** @type {string} */ (this.value);
		if (this.mandatory) {
			this.token = this.handle(MANDATORY_STATES[this.current_state], val);
			return undefined;
		}
		if (val === ';') {
			this.token = TK.SEMICOLON;
			return undefined;
		}
		if (sameWord(val, 'order')) {
			this.g.orderby = true;
			return false;
		} else if (sameWord(val, 'by') && this.g.orderby === true) {
			this.g.orderby = false;
			this.current_state = 1;
		}
		const index = OPTIONAL_STATES.indexOf(val.toLowerCase());
		if (index !== -1) this.current_state = index;
		this.token = this.handle(OPTIONAL_STATES[this.current_state], val);
		return undefined;
	}

	/** yylex1: true with this.token/this.value set, false at the end of the input; throws when it cannot lex. */
	yylex() {
		if (this.index >= this.data.length) return false;
		for (;;) {
			LEX_RE.lastIndex = this.index;
			const m = LEX_RE.exec(this.data);
			if (!m) throw new VtqlError('INTERNAL_SERVER_ERROR', 'Unknown Error while processing request');
			const isToken = m[1] !== undefined && m[1] !== '';
			this.value = isToken ? m[1] : m[4];
			const r = isToken ? this.rule1() : false;
			// substr_count("\n", $value): the arguments are swapped in the PHP, so only a lone "\n" counts
			const lines = this.value === '\n' ? 1 : 0;
			this.index += this.value.length;
			this.linenum += lines;
			if (r === undefined) return true;
			if (this.index >= this.data.length) return false;
		}
	}
}

/** A PHP array with integer keys as the generated parser uses it for its stack (array_push/array_pop/[$i]=). */
class PhpStack {
	constructor() {
		/** @type {Map<number, StackEntry>} */
		this.map = new Map();
		this.nextFree = 0;
	}
	/** @param {number} k */
	get(k) {
		return this.map.get(k);
	}
	/** @param {number} k @param {StackEntry} v */
	set(k, v) {
		this.map.set(k, v);
		if (k >= this.nextFree) this.nextFree = k + 1;
	}
	/** @param {StackEntry} v */
	push(v) {
		this.set(this.nextFree, v);
	}
	pop() {
		const keys = [...this.map.keys()];
		if (!keys.length) return undefined;
		const k = keys[keys.length - 1];
		const v = this.map.get(k);
		this.map.delete(k);
		if (k === this.nextFree - 1) this.nextFree--;
		return v;
	}
	get size() {
		return this.map.size;
	}
	copy() {
		const c = new PhpStack();
		c.map = new Map(this.map);
		c.nextFree = this.nextFree;
		return c;
	}
}
/** @typedef {{ stateno: number, major: number | null, minor: any }} StackEntry */

// LEMON tables of VTQL_Parser.php
const YY_ACTION = [36, 29, 28, 30, 31, 38, 39, 37, 41, 26, 18, 57, 7, 10, 27, 22, 50, 55, 17, 18, 15, 9, 12, 42, 43,
	35, 25, 16, 33, 51, 52, 101, 56, 21, 47, 2, 19, 46, 52, 44, 3, 20, 53, 49, 24, 34, 23, 6, 40, 45, 1, 4, 13, 54,
	11, 48, 5, 14, 32, 8];
const YY_LOOKAHEAD = [14, 15, 16, 17, 18, 19, 20, 21, 41, 42, 43, 13, 44, 33, 46, 47, 11, 12, 42, 43, 37, 38, 2, 23,
	24, 4, 5, 30, 8, 7, 8, 28, 29, 36, 35, 22, 4, 13, 8, 8, 1, 6, 26, 3, 8, 3, 13, 3, 7, 45, 40, 6, 34, 39, 31, 48,
	10, 32, 9, 25];
const YY_SHIFT_USE_DFLT = -15;
const YY_SHIFT_OFST = [39, 45, -15, 21, -15, -15, -14, 0, 33, 44, 34, 46, 49, 16, 13, 5, 20, 22, -2, 41, 32, 42, 40,
	36, 24, 35, 30, 31];
const YY_REDUCE_USE_DFLT = -34;
const YY_REDUCE_OFST = [3, -33, -32, -3, -24, -17, 10, 4, 7, 14, 18, 25, 23, -1, -20];
/** @type {number[][]} */
const YY_EXPECTED = [[1], [6], [], [4, 5], [], [], [14, 15, 16, 17, 18, 19, 20, 21], [23, 24], [13], [3], [25], [10],
	[9], [26], [22], [11, 12], [2, 8], [7, 8], [13], [7], [4], [3], [3], [8], [13], [6], [8], [8],
	...Array.from({ length: 30 }, () => [])];
const YY_DEFAULT = [100, 77, 91, 64, 77, 71, 100, 94, 100, 100, 96, 67, 100, 100, 87, 66, 100, 100, 100, 100, 100,
	100, 100, 97, 100, 100, 74, 88, 80, 79, 81, 82, 65, 63, 60, 61, 78, 85, 83, 84, 62, 72, 92, 93, 90, 86, 98, 59,
	95, 89, 69, 73, 76, 99, 68, 70, 58, 75];
const YYNOCODE = 50;
const YYSTACKDEPTH = 100;
const YYNSTATE = 58;
const YYNRULE = 42;
const YYERRORSYMBOL = 27;
const YY_SZ_ACTTAB = 60;
const YY_NO_ACTION = 102;
const YY_ERROR_ACTION = 100;
/** [lhs, rhs] per rule */
const YY_RULE_INFO = [[28, 1], [29, 8], [30, 2], [30, 1], [30, 4], [36, 2], [36, 0], [31, 1], [32, 2], [32, 0],
	[37, 2], [38, 2], [38, 2], [38, 0], [39, 3], [41, 3], [41, 1], [42, 2], [43, 2], [43, 0], [40, 1], [40, 1],
	[40, 1], [40, 1], [40, 1], [40, 1], [40, 1], [40, 1], [33, 3], [33, 0], [44, 1], [46, 2], [47, 2], [47, 0],
	[45, 1], [45, 1], [45, 0], [34, 2], [34, 0], [48, 1], [48, 3], [35, 1]];

/** PHP `$a == 0` for a token number that may be null (null == 0 is true in PHP). @param {number|null} v */
const phpIsZero = (v) => v === null || v === 0;
/** PHP array_unique on a list. @param {number[]} a */
const unique = (a) => [...new Set(a)];
/** PHP `$a += $b` on lists: only the keys of $b that $a does not have are added. @param {number[]} a @param {number[]} b */
const arrayUnion = (a, b) => (b.length > a.length ? [...a, ...b.slice(a.length)] : a);

/**
 * @typedef {{ column_list: string[], moduleName?: string, where_condition?: { column_names: string[],
 *   column_operators: string[], column_values: Array<string | string[] | null | undefined>, operators?: string[] },
 *   columnDone?: boolean, orderby?: string[], sortOrder?: 'ASC' | 'DESC', limit?: string[], select?: unknown,
 *   accepted?: boolean }} VtqlOut
 */

class VtqlParser {
	/** @param {VtqlLexer} lex @param {(moduleName: string) => void} [checkModule] */
	constructor(lex, checkModule) {
		this.lex = lex;
		this.checkModule = checkModule;
		/** @type {VtqlOut} */
		this.out = { column_list: [] };
		this.success = false;
		this.syntax_error = false;
		/** @type {number | null} */
		this.yyidx = null;
		this.yyerrcnt = -1;
		this.yystack = new PhpStack();
	}

	/** @param {number | null} t */
	tokenName(t) {
		if (t === 0) return 'End of Input';
		if (t !== null && t > 0 && t < TOKEN_NAMES.length) return TOKEN_NAMES[t];
		return 'Unknown';
	}

	top() {
		return /** @type {StackEntry} */ (this.yystack.get(/** @type {number} */ (this.yyidx)));
	}

	popParserStack() {
		if (!this.yystack.size) return;
		this.yystack.pop();
		this.yyidx = /** @type {number} */ (this.yyidx) - 1;
	}

	/** yy_get_expected_tokens / yy_is_expected_token share this walk. @param {number | null} token @param {boolean} listing */
	expected(token, listing) {
		const state = this.top().stateno;
		let expected = YY_EXPECTED[state];
		if (!listing && token === 0) return true;
		if (expected.includes(/** @type {number} */ (token))) return listing ? expected : true;
		const stack = this.yystack.copy();
		const yyidx = /** @type {number} */ (this.yyidx);
		const restore = () => {
			this.yyidx = yyidx;
			this.yystack = stack;
		};
		outer: for (;;) {
			let yyact = this.findShiftAction(token);
			if (yyact >= YYNSTATE && yyact < YYNSTATE + YYNRULE) {
				let done = 0;
				for (;;) {
					if (done++ === 100) {
						restore();
						return listing ? unique(expected) : true;
					}
					const yyruleno = yyact - YYNSTATE;
					this.yyidx = /** @type {number} */ (this.yyidx) - YY_RULE_INFO[yyruleno][1];
					const nextstate = this.findReduceAction(this.top().stateno, YY_RULE_INFO[yyruleno][0]);
					if (YY_EXPECTED[nextstate] !== undefined) {
						if (listing) expected = arrayUnion(expected, YY_EXPECTED[nextstate]);
						if (YY_EXPECTED[nextstate].includes(/** @type {number} */ (token))) {
							restore();
							return listing ? unique(expected) : true;
						}
					}
					if (nextstate < YYNSTATE) {
						this.yyidx = /** @type {number} */ (this.yyidx) + 1;
						this.yystack.set(this.yyidx, { stateno: nextstate, major: YY_RULE_INFO[yyruleno][0], minor: undefined });
						continue outer;
					} else if (nextstate === YYNSTATE + YYNRULE + 1) {
						restore();
						if (listing) return unique(expected);
						return !token;
					} else if (nextstate === YY_NO_ACTION) {
						restore();
						return listing ? expected : true;
					} else {
						yyact = nextstate;
					}
				}
			}
			break;
		}
		// Reached without restoring the stack, as in the generated PHP: the simulated reductions stay behind.
		return listing ? unique(expected) : true;
	}

	/** @param {number | null} iLookAhead */
	findShiftAction(iLookAhead) {
		const stateno = this.top().stateno;
		if (YY_SHIFT_OFST[stateno] === undefined) return YY_DEFAULT[stateno];
		let i = YY_SHIFT_OFST[stateno];
		if (i === YY_SHIFT_USE_DFLT) return YY_DEFAULT[stateno];
		if (iLookAhead === YYNOCODE) return YY_NO_ACTION;
		i += iLookAhead ?? 0;
		if (i < 0 || i >= YY_SZ_ACTTAB || YY_LOOKAHEAD[i] !== iLookAhead) return YY_DEFAULT[stateno];
		return YY_ACTION[i];
	}

	/** @param {number} stateno @param {number} iLookAhead */
	findReduceAction(stateno, iLookAhead) {
		if (YY_REDUCE_OFST[stateno] === undefined) return YY_DEFAULT[stateno];
		let i = YY_REDUCE_OFST[stateno];
		if (i === YY_REDUCE_USE_DFLT) return YY_DEFAULT[stateno];
		if (iLookAhead === YYNOCODE) return YY_NO_ACTION;
		i += iLookAhead;
		if (i < 0 || i >= YY_SZ_ACTTAB || YY_LOOKAHEAD[i] !== iLookAhead) return YY_DEFAULT[stateno];
		return YY_ACTION[i];
	}

	/** @param {number} yyNewState @param {number | null} yyMajor @param {any} yypMinor */
	shift(yyNewState, yyMajor, yypMinor) {
		this.yyidx = /** @type {number} */ (this.yyidx) + 1;
		if (this.yyidx >= YYSTACKDEPTH) {
			this.yyidx--;
			while (this.yyidx >= 0) this.popParserStack();
			throw new VtqlError('QUERY_SYNTAX_ERROR', 'Parser stack overflow');
		}
		this.yystack.push({ stateno: yyNewState, major: yyMajor, minor: yypMinor });
	}

	/** @param {number} k offset from the top */
	minorAt(k) {
		return this.yystack.get(/** @type {number} */ (this.yyidx) + k)?.minor;
	}

	/** The grammar's actions (VTQL_parser.y), without the SQL building, which executeVtql does. @param {number} rule */
	action(rule) {
		const out = this.out;
		const wc = () => (out.where_condition ??= { column_names: [], column_operators: [], column_values: [] });
		switch (rule) {
			case 1:
				if (this.minorAt(-7)) out.select = this.minorAt(-7);
				break;
			case 2:
			case 3:
				out.column_list.push(this.minorAt(0));
				break;
			case 4:
				out.column_list.push('count(*)');
				break;
			case 7: {
				if (!out.column_list.includes('*') && !out.column_list.map((c) => String(c).toLowerCase()).includes('count(*)')) {
					if (!out.column_list.includes('id')) out.column_list.push('id');
				}
				const moduleName = this.minorAt(0);
				if (!moduleName) {
					this.syntax_error = true;
					throw new VtqlError('QUERY_SYNTAX_ERROR', 'There is an syntax error in query');
				}
				if (this.checkModule) this.checkModule(moduleName);
				out.moduleName = moduleName;
				break;
			}
			case 11:
			case 12:
				(wc().operators ??= []).push(this.minorAt(0));
				break;
			case 14: {
				const w = wc();
				out.columnDone = true;
				w.column_names.push(this.minorAt(-2));
				if (this.minorAt(-2) === 'id') {
					const last = w.column_values.length - 1;
					const prev = w.column_values[last];
					const trimQuotes = (/** @type {unknown} */ v) => String(v ?? '').replace(/^['"]+|['"]+$/g, '');
					if (Array.isArray(prev)) {
						w.column_values[last] = prev.map((v) => trimQuotes(v).split('x')[1]);
					} else {
						let part = trimQuotes(prev).split('x')[1];
						if (sameWord(w.column_operators[w.column_operators.length - 1], 'like')) part = `'${part ?? ''}'`;
						w.column_values[w.column_values.length ? last : 0] = part;
					}
				}
				break;
			}
			case 17: {
				const w = wc();
				const pos = Math.max(0, w.column_values.length - 1);
				const v = w.column_values[pos];
				if (sameWord(w.column_operators[pos], 'in') && v !== undefined && v !== null && v !== '' && v !== '0' &&
					!(Array.isArray(v) && !v.length) && !out.columnDone) {
					if (!Array.isArray(v)) w.column_values[pos] = [/** @type {string} */ (v)];
					/** @type {string[]} */ (w.column_values[pos]).push(this.minorAt(0));
				} else {
					out.columnDone = false;
					w.column_values.push(this.minorAt(0));
				}
				break;
			}
			case 20: wc().column_operators.push('='); break;
			case 21: wc().column_operators.push('<'); break;
			case 22: wc().column_operators.push('>'); break;
			case 23: wc().column_operators.push('<='); break;
			case 24: wc().column_operators.push('>='); break;
			case 25: wc().column_operators.push('!='); break;
			case 26: wc().column_operators.push('IN'); break;
			case 27: wc().column_operators.push('LIKE'); break;
			case 31:
				(out.orderby ??= []).push(this.minorAt(0));
				break;
			case 34:
				out.sortOrder = 'ASC';
				break;
			case 35:
				out.sortOrder = 'DESC';
				break;
			case 39:
				(out.limit ??= []).push(this.minorAt(0));
				break;
			case 40:
				(out.limit ??= []).push(this.minorAt(-2), this.minorAt(0));
				break;
		}
	}

	/** @param {number} yyruleno */
	reduce(yyruleno) {
		this.action(yyruleno);
		const [yygoto, yysize] = YY_RULE_INFO[yyruleno];
		this.yyidx = /** @type {number} */ (this.yyidx) - yysize;
		for (let i = yysize; i; i--) this.yystack.pop();
		const yyact = this.findReduceAction(this.top().stateno, yygoto);
		if (yyact < YYNSTATE) {
			if (yysize) {
				this.yyidx++;
				this.yystack.set(this.yyidx, { stateno: yyact, major: yygoto, minor: undefined });
			} else {
				this.shift(yyact, yygoto, undefined);
			}
		} else if (yyact === YYNSTATE + YYNRULE + 1) {
			this.accept();
		}
	}

	accept() {
		while (/** @type {number} */ (this.yyidx) >= 0) this.popParserStack();
		this.success = true;
	}

	/** @param {number | null} yymajor @param {any} minor */
	syntaxError(yymajor, minor) {
		const expect = /** @type {number[]} */ (this.expected(yymajor, true)).map((t) => TOKEN_NAMES[t]);
		const shown = minor === null || minor === undefined ? '' : String(minor);
		throw new VtqlError(
			'QUERY_SYNTAX_ERROR',
			`Syntax Error on line ${this.lex.linenum}: token '${this.lex.value ?? ''}' Unexpected ${this.tokenName(yymajor)}(${shown}), expected one of: ${expect.join(',')}`,
		);
	}

	parseFailed() {
		while (/** @type {number} */ (this.yyidx) >= 0) this.popParserStack();
		if (!this.syntax_error) throw new VtqlError('QUERY_SYNTAX_ERROR', 'Parsing failed');
	}

	/** doParse @param {number | null} yymajor @param {any} yytokenvalue */
	doParse(yymajor, yytokenvalue) {
		let yyerrorhit = 0;
		if (this.yyidx === null || this.yyidx < 0) {
			this.yyidx = 0;
			this.yyerrcnt = -1;
			this.yystack = new PhpStack();
			this.yystack.push({ stateno: 0, major: 0, minor: undefined });
		}
		const yyendofinput = phpIsZero(yymajor);
		do {
			let yyact = this.findShiftAction(yymajor);
			if ((yymajor ?? 0) < YYERRORSYMBOL && !this.expected(yymajor, false)) yyact = YY_ERROR_ACTION;
			if (yyact < YYNSTATE) {
				this.shift(yyact, yymajor, yytokenvalue);
				this.yyerrcnt--;
				yymajor = yyendofinput && this.yyidx >= 0 ? 0 : YYNOCODE;
			} else if (yyact < YYNSTATE + YYNRULE) {
				this.reduce(yyact - YYNSTATE);
			} else if (yyact === YY_ERROR_ACTION) {
				if (this.yyerrcnt < 0) this.syntaxError(yymajor, yytokenvalue);
				const yymx = this.top().major;
				if (yymx === YYERRORSYMBOL || yyerrorhit) {
					yymajor = YYNOCODE;
				} else {
					while (this.yyidx >= 0 && yymx !== YYERRORSYMBOL && (yyact = this.findShiftAction(YYERRORSYMBOL)) >= YYNSTATE) {
						this.popParserStack();
					}
					if (this.yyidx < 0 || phpIsZero(yymajor)) {
						this.parseFailed();
						yymajor = YYNOCODE;
					} else if (yymx !== YYERRORSYMBOL) {
						this.shift(yyact, YYERRORSYMBOL, 0);
					}
				}
				this.yyerrcnt = 3;
				yyerrorhit = 1;
			} else {
				this.accept();
				yymajor = YYNOCODE;
			}
		} while (yymajor !== YYNOCODE && /** @type {number} */ (this.yyidx) >= 0);
	}
}

/**
 * @typedef {{ column: string, op: string, values: string[], list: boolean, rewritten: boolean }} Condition
 *   rewritten: the parser already reduced an `id` value to its record number (or to nothing)
 * @typedef {{ module: string, columns: string[] | '*' | 'count', where: Condition[], joins: string[],
 *   orderBy: string[], sortOrder: 'ASC'|'DESC'|null, limit: string[] | null }} VtqlAst
 */

/**
 * Parse a VTQL statement as Parser::parse() does: the lexer feeds the parser token by token. Throws VtqlError
 * (QUERY_SYNTAX_ERROR, INTERNAL_SERVER_ERROR when the lexer fails, or what checkModule throws).
 * @param {string} query
 * @param {(moduleName: string) => void} [checkModule] called when the parser reduces the table name
 * @returns {VtqlAst}
 */
function parseVtql(query, checkModule) {
	const lex = new VtqlLexer(query);
	const parser = new VtqlParser(lex, checkModule);
	while (lex.yylex()) parser.doParse(lex.token, lex.value);
	parser.doParse(0, 0);
	if (!parser.success || !parser.out.select) {
		// Query.php would run an empty SQL statement
		throw new VtqlError('QUERY_SYNTAX_ERROR', 'Parsing failed');
	}
	const out = parser.out;
	const cols = out.column_list;
	/** @type {VtqlAst['columns']} */
	let columns;
	if (cols.includes('*')) columns = '*';
	else if (cols.map((c) => String(c).toLowerCase()).includes('count(*)')) columns = 'count';
	else columns = cols.map(String);
	/** @type {Condition[]} */
	const where = [];
	/** @type {string[]} */
	let joins = [];
	const w = out.where_condition;
	if (w) {
		const operators = w.operators ?? [];
		if (w.column_names.length !== w.column_values.length || w.column_operators.length !== operators.length + 1) {
			throw new VtqlError('QUERY_SYNTAX_ERROR', 'columns data inappropriate');
		}
		for (let k = 0; k < w.column_names.length; k++) {
			const v = w.column_values[k];
			where.push({
				column: w.column_names[k],
				op: w.column_operators[k],
				values: Array.isArray(v) ? v.map((x) => x ?? '') : [v ?? ''],
				list: Array.isArray(v) || w.column_operators[k] === 'IN',
				rewritten: w.column_names[k] === 'id',
			});
		}
		joins = operators.map((o) => String(o).toUpperCase());
	}
	return {
		module: /** @type {string} */ (out.moduleName),
		columns,
		where,
		joins,
		orderBy: out.orderby ?? [],
		sortOrder: out.sortOrder ?? null,
		limit: out.limit ?? null,
	};
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
		raws = raws.map((v) => {
			// the parser already reduced id values to the record number (VTQL_Parser yy_r14)
			const unquoted = v.replace(/^['"]+|['"]+$/g, '');
			const part = isId && cond.rewritten ? unquoted : unquoted.split('x')[1];
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
	// buildSelectStmt checks each condition in turn: the column, then a reference value's 'x'.
	for (const cond of ast.where) {
		const field = ctx.fields.get(cond.column);
		if (!field) {
			throw new VtqlError('ACCESS_DENIED', `Permission to access ${cond.column} attribute denied.`);
		}
		if (field.type.name === 'reference' && !cond.values.every((v) => v.includes('x'))) {
			throw new VtqlError('INVALID_ID_ATTRIBUTE', 'Id specified is incorrect');
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

module.exports = { parseVtql, executeVtql, moduleOfQuery, VtqlError, clearSortCache };
