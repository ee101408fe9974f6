import type { IDataObject } from 'n8n-workflow';
import { FieldError } from './errors';

/**
 * Reads a JSON parameter (a string typed by the user or an object an expression produced).
 * Throws a FieldError naming the parameter, with the parser's own explanation, on anything else.
 */
export function parseJsonParameter(value: unknown, field: string, expect: 'object' | 'array' | 'any' = 'object'): IDataObject | IDataObject[] | unknown {
	let parsed: unknown = value;
	if (typeof value === 'string') {
		const text = value.trim();
		if (text === '') return expect === 'array' ? [] : expect === 'object' ? {} : undefined;
		const attempt = parseJson(text);
		if (!attempt.ok) throw new FieldError(field, `is not valid JSON (${attempt.message})`);
		parsed = attempt.value;
	}
	if (expect === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
		throw new FieldError(field, 'must be a JSON object, like {"name": "value"}');
	}
	if (expect === 'array' && !Array.isArray(parsed)) {
		throw new FieldError(field, 'must be a JSON array, like [1, 2]');
	}
	return parsed;
}

/** JSON.parse as a value: the parsed JSON, or the parser's explanation of what is wrong. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
	try {
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch (error) {
		return { ok: false, message: (error as Error).message };
	}
}

export function parseJsonObject(value: unknown, field: string): IDataObject {
	return parseJsonParameter(value, field, 'object') as IDataObject;
}
