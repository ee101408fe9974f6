import { FieldError } from '../common/errors';
import { parseJson } from '../common/json';

/**
 * Builds VTQL, Vtiger's SQL subset, from structured input. What the real parser accepts
 * (include/Webservices/VTQL_Lexer.php of Vtiger 8): string literals are `'(?:[^']|'')+'` — a quote inside
 * is doubled, and an empty literal does not exist; the literal is pasted into MySQL as it is, so a
 * backslash must be doubled too. One ORDER BY column, flat AND/OR, at most 100 rows per query, and the
 * trailing semicolon is required.
 */

export const OPERATORS = ['=', '!=', '<', '>', '<=', '>=', 'LIKE', 'IN'] as const;
export type VtqlOperator = (typeof OPERATORS)[number];

/**
 * The operators as the node's UI stores them. A parameter value starting with "=" is an expression in n8n
 * (the option "=" would arrive as an empty string), so the options are named; VTQL spellings typed by a
 * user in an expression are accepted too.
 */
export const OPERATOR_OPTIONS: Record<string, VtqlOperator> = {
	equals: '=',
	notEquals: '!=',
	lt: '<',
	gt: '>',
	lte: '<=',
	gte: '>=',
	like: 'LIKE',
	in: 'IN',
};

export interface VtqlCondition {
	field: string;
	operator: VtqlOperator;
	value: unknown;
}

export interface VtqlSelect {
	module: string;
	columns?: string[];
	conditions?: VtqlCondition[];
	combine?: 'AND' | 'OR';
	orderBy?: string;
	direction?: 'ASC' | 'DESC';
	offset?: number;
	limit?: number;
}

/** The most rows Vtiger returns for one query. */
export const VTQL_PAGE_SIZE = 100;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function identifier(name: string, field: string): string {
	const trimmed = String(name ?? '').trim();
	if (!IDENTIFIER.test(trimmed)) throw new FieldError(field, `"${trimmed}" is not a valid Vtiger field or module name`);
	return trimmed;
}

/** Quotes one value as a VTQL string literal. */
export function quote(value: unknown, field: string): string {
	if (value === null || value === undefined) throw new FieldError(field, 'needs a value to compare with');
	const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
	if (text === '') {
		throw new FieldError(field, "Vtiger's query language cannot compare with an empty text; filter on another field or use LIKE '%'");
	}
	return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The values of an IN condition: an array, a JSON array, or comma-separated text. */
export function listValues(value: unknown, field: string): unknown[] {
	if (Array.isArray(value)) return value;
	const text = String(value ?? '').trim();
	if (text.startsWith('[')) {
		const parsed = parseJson(text);
		if (!parsed.ok) throw new FieldError(field, `looks like a JSON array but is not valid JSON (${parsed.message})`);
		if (Array.isArray(parsed.value)) return parsed.value;
	}
	const values = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
	if (!values.length) throw new FieldError(field, 'IN needs at least one value (comma-separated or a JSON array)');
	return values;
}

export function condition(c: VtqlCondition, index: number): string {
	const label = `filters.conditions[${index}] (${c.field})`;
	const column = identifier(c.field, `filters.conditions[${index}].field`);
	// n8n leaves a parameter at its default out of fixedCollection values: the default "equals" arrives undefined.
	const given = String(c.operator || 'equals');
	const operator = (OPERATOR_OPTIONS[given] ?? given.toUpperCase()) as VtqlOperator;
	const value = c.value ?? '';
	if (!OPERATORS.includes(operator)) throw new FieldError(label, `unknown operator "${c.operator}"; use one of ${OPERATORS.join(' ')}`);
	if (operator === 'IN') return `${column} IN (${listValues(value, label).map((v) => quote(v, label)).join(',')})`;
	return `${column} ${operator} ${quote(value, label)}`;
}

export function buildSelect(select: VtqlSelect): string {
	const module = identifier(select.module, 'module');
	const columns = select.columns?.length ? select.columns.map((c) => identifier(c, 'options.fields')).join(', ') : '*';
	let query = `SELECT ${columns} FROM ${module}`;
	const conditions = select.conditions ?? [];
	if (conditions.length) {
		const combine = select.combine === 'OR' ? ' OR ' : ' AND ';
		query += ` WHERE ${conditions.map(condition).join(combine)}`;
	}
	if (select.orderBy) query += ` ORDER BY ${identifier(select.orderBy, 'options.sortField')} ${select.direction === 'DESC' ? 'DESC' : 'ASC'}`;
	if (select.limit !== undefined) query += ` LIMIT ${select.offset ? `${select.offset}, ` : ''}${select.limit}`;
	return `${query};`;
}

/** Removes string literals so keywords inside quoted values are not mistaken for clauses. */
function withoutLiterals(query: string): string {
	return query.replace(/'(?:[^']|'')*'/g, "''");
}

export interface RawQuery {
	/** The user's query without its trailing semicolon. */
	body: string;
	hasLimit: boolean;
	hasOrderBy: boolean;
	isCount: boolean;
}

export function inspectQuery(query: string): RawQuery {
	const body = String(query ?? '').trim().replace(/;\s*$/, '').trim();
	if (!/^select\s/i.test(body)) throw new FieldError('query', 'must be a VTQL SELECT statement, like SELECT * FROM Accounts;');
	const bare = withoutLiterals(body);
	return {
		body,
		hasLimit: /\slimit\s+\d+(\s*,\s*\d+)?\s*$/i.test(bare),
		hasOrderBy: /\sorder\s+by\s/i.test(bare),
		isCount: /^select\s+count\s*\(/i.test(bare),
	};
}

/** A page of a user query that had no LIMIT: stable order (by id unless the user ordered it). */
export function pageOfQuery(raw: RawQuery, offset: number, size: number): string {
	return `${raw.body}${raw.hasOrderBy ? '' : ' ORDER BY id'} LIMIT ${offset}, ${size};`;
}
