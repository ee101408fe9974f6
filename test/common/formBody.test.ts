import { encodePhpForm, FORM_LIMITS, parsePhpFormBody } from '../../nodes/common/formBody';

describe('parsePhpFormBody', () => {
	it('builds nested objects and arrays from PHP-style keys, values kept as strings', () => {
		const body =
			'leads%5Badd%5D%5B0%5D%5Bid%5D=5&leads%5Badd%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Badd%5D%5B1%5D%5Bid%5D=6' +
			'&account%5Bsubdomain%5D=acme&tags%5B%5D=a&tags%5B%5D=b&event=ONCRMLEADADD&data%5BFIELDS%5D%5BID%5D=123';
		expect(parsePhpFormBody(body)).toEqual({
			leads: { add: [{ id: '5', status_id: '142' }, { id: '6' }] },
			account: { subdomain: 'acme' },
			tags: ['a', 'b'],
			event: 'ONCRMLEADADD',
			data: { FIELDS: { ID: '123' } },
		});
	});

	it('keeps non-consecutive numeric keys as an object (they are ids, not positions)', () => {
		expect(parsePhpFormBody('a[5]=x&a[7]=y')).toEqual({ a: { '5': 'x', '7': 'y' } });
	});

	it('drops keys that would pollute prototypes, at any depth', () => {
		const parsed = parsePhpFormBody('__proto__[polluted]=1&a[__proto__][polluted]=1&a[constructor][prototype][polluted]=1&b=2');
		expect(parsed).toEqual({ b: '2' });
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
	});

	it('stops at the pair and depth limits instead of working without bound', () => {
		const many = Array.from({ length: FORM_LIMITS.maxPairs + 10 }, (_, i) => `k${i}=v`).join('&');
		expect(Object.keys(parsePhpFormBody(many))).toHaveLength(FORM_LIMITS.maxPairs);
		const deep = `a${'[x]'.repeat(FORM_LIMITS.maxDepth + 1)}=1&ok=1`;
		expect(parsePhpFormBody(deep)).toEqual({ ok: '1' });
	});

	it('a later scalar does not break an earlier nested value and vice versa', () => {
		expect(parsePhpFormBody('a=1&a[b]=2')).toEqual({ a: { b: '2' } });
		expect(parsePhpFormBody('a[b]=2&a=1')).toEqual({ a: '1' });
	});
});

describe('encodePhpForm', () => {
	it('writes nested values as http_build_query does, and round-trips through the parser', () => {
		const params = { filter: { '>ID': 10, TITLE: 'a&b' }, order: { ID: 'ASC' }, select: ['ID', 'TITLE'], start: -1, flag: true, skip: null };
		const encoded = encodePhpForm(params);
		expect(decodeURIComponent(encoded)).toBe('filter[>ID]=10&filter[TITLE]=a&b&order[ID]=ASC&select[0]=ID&select[1]=TITLE&start=-1&flag=1');
		expect(parsePhpFormBody(encoded)).toEqual({ filter: { '>ID': '10', TITLE: 'a&b' }, order: { ID: 'ASC' }, select: ['ID', 'TITLE'], start: '-1', flag: '1' });
	});
});
