import { FieldError } from '../../nodes/common/errors';
import { parseJsonObject, parseJsonParameter } from '../../nodes/common/json';
import { newSecret, secretsEqual } from '../../nodes/common/secrets';

describe('parseJsonParameter', () => {
	it('accepts objects from expressions and JSON text from the editor', () => {
		expect(parseJsonObject({ a: 1 }, 'parameters')).toEqual({ a: 1 });
		expect(parseJsonObject('{"a": 1}', 'parameters')).toEqual({ a: 1 });
		expect(parseJsonObject('  ', 'parameters')).toEqual({});
	});

	it('names the field and says what the parser found wrong', () => {
		expect(() => parseJsonObject('{"a": 1,}', 'parameters')).toThrow(FieldError);
		expect(() => parseJsonObject('{"a": 1,}', 'parameters')).toThrow(/Field "parameters": is not valid JSON \(.+\)/);
		expect(() => parseJsonObject('[1]', 'parameters')).toThrow('Field "parameters": must be a JSON object');
		expect(() => parseJsonParameter('{}', 'ids', 'array')).toThrow('Field "ids": must be a JSON array');
	});
});

describe('secrets', () => {
	it('compares in constant time and refuses empty or missing expectations', () => {
		expect(secretsEqual('abc', 'abc')).toBe(true);
		expect(secretsEqual('abd', 'abc')).toBe(false);
		expect(secretsEqual('abc', 'abcd')).toBe(false);
		expect(secretsEqual('', '')).toBe(false);
		expect(secretsEqual(undefined, 'abc')).toBe(false);
	});

	it('makes unguessable URL-safe secrets', () => {
		const a = newSecret();
		expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
		expect(newSecret()).not.toBe(a);
	});
});
