/**
 * nodes/common/redact.ts: credentials cut out of server text (error pages echoing a path or a whole URI) before it
 * is shown in an error.
 */
import { REDACTED, redactSecrets } from '../../nodes/common/redact';

describe('redactSecrets', () => {
	it('cuts each secret as it is, percent-encoded (either hex case) and form-encoded', () => {
		const secret = 'a b/c+d=e&f';
		const text = [secret, 'a%20b%2Fc%2Bd%3De%26f', 'a%20b%2fc%2bd%3de%26f', 'a+b%2Fc%2Bd%3De%26f'].join(' | ');
		const out = redactSecrets(text, [secret]);
		expect(out).toBe([REDACTED, REDACTED, REDACTED, REDACTED].join(' | '));
	});

	it('a webhook code in an Apache 404 page and a token in a block page', () => {
		const code = 'k3x9q0abcd1234ef';
		const token = '5f0c6e1e0066a4b3006f8a1a00000001';
		const page = `<p>The requested URL /rest/1/${code}/crm.lead.get.json was not found on this server.</p><p>URI: /rest/crm.lead.get.json?auth=${token}&id=1</p>`;
		expect(redactSecrets(page, [code, token, undefined, ''])).toBe('<p>The requested URL /rest/1/***/crm.lead.get.json was not found on this server.</p><p>URI: /rest/crm.lead.get.json?auth=***&id=1</p>');
	});

	it('ignores empty and missing secrets, leaves other text alone, and cuts a secret containing another whole', () => {
		expect(redactSecrets('nothing secret here', [undefined, null, ''])).toBe('nothing secret here');
		expect(redactSecrets('', ['x'])).toBe('');
		expect(redactSecrets('token abcdef and abc', ['abc', 'abcdef'])).toBe('token *** and ***');
	});
});
