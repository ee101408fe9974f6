import { buildSelect, inspectQuery, pageOfQuery, quote } from '../../nodes/Vtiger/vtql';

describe('VTQL builder', () => {
	it('builds a select with conditions, order and limit, ending with the required semicolon', () => {
		expect(
			buildSelect({
				module: 'Accounts',
				columns: ['id', 'accountname'],
				conditions: [
					{ field: 'industry', operator: '=', value: 'Banking' },
					{ field: 'annual_revenue', operator: '>=', value: 1000 },
				],
				orderBy: 'accountname',
				direction: 'DESC',
				offset: 200,
				limit: 100,
			}),
		).toBe("SELECT id, accountname FROM Accounts WHERE industry = 'Banking' AND annual_revenue >= '1000' ORDER BY accountname DESC LIMIT 200, 100;");
	});

	it('quotes as the real lexer reads literals: quotes doubled, backslashes doubled for MySQL', () => {
		expect(quote("O'Brien", 'f')).toBe("'O''Brien'");
		expect(quote('C:\\temp', 'f')).toBe("'C:\\\\temp'");
		expect(quote("'; DROP TABLE x; --", 'f')).toBe("'''; DROP TABLE x; --'");
		expect(() => quote('', 'f')).toThrow(/empty text/);
	});

	it('IN takes an array, a JSON array or comma-separated text; OR combines', () => {
		const q = buildSelect({
			module: 'Leads',
			conditions: [
				{ field: 'leadstatus', operator: 'IN', value: 'Hot, Warm' },
				{ field: 'lastname', operator: 'LIKE', value: '%son' },
				{ field: 'id', operator: 'IN', value: '["10x1","10x2"]' },
			],
			combine: 'OR',
		});
		expect(q).toBe("SELECT * FROM Leads WHERE leadstatus IN ('Hot','Warm') OR lastname LIKE '%son' OR id IN ('10x1','10x2');");
	});

	it('refuses identifiers that could change the statement, naming the field', () => {
		expect(() => buildSelect({ module: 'Accounts; DELETE', conditions: [] })).toThrow('Field "module"');
		expect(() => buildSelect({ module: 'Accounts', conditions: [{ field: 'a b', operator: '=', value: 'x' }] })).toThrow(
			'Field "filters.conditions[0].field"',
		);
		expect(() => buildSelect({ module: 'Accounts', conditions: [{ field: 'a', operator: 'REGEXP' as never, value: 'x' }] })).toThrow(
			/unknown operator "REGEXP"/,
		);
	});
});

describe('raw queries', () => {
	it('detects LIMIT, ORDER BY and count(*) outside of string literals', () => {
		expect(inspectQuery("SELECT * FROM Accounts WHERE accountname = 'x LIMIT 5';")).toMatchObject({ hasLimit: false, hasOrderBy: false });
		expect(inspectQuery('select * from Accounts order by accountname limit 10, 20;')).toMatchObject({ hasLimit: true, hasOrderBy: true });
		expect(inspectQuery('SELECT count(*) FROM Accounts;').isCount).toBe(true);
		expect(() => inspectQuery('DELETE FROM Accounts;')).toThrow('Field "query"');
	});

	it('pages a query without LIMIT in a stable order', () => {
		const raw = inspectQuery('SELECT * FROM Accounts WHERE industry = \'Banking\'');
		expect(pageOfQuery(raw, 100, 100)).toBe("SELECT * FROM Accounts WHERE industry = 'Banking' ORDER BY id LIMIT 100, 100;");
		const ordered = inspectQuery('SELECT * FROM Accounts ORDER BY accountname;');
		expect(pageOfQuery(ordered, 0, 100)).toBe('SELECT * FROM Accounts ORDER BY accountname LIMIT 0, 100;');
	});
});
