import { isConnectionDropped, isConnectionRefused, withRetry } from '../../nodes/common/retry';

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const netError = (code: string) => Object.assign(new Error(code), { code });

describe('withRetry', () => {
	it('retries what the classifier calls safe, and returns the first success', async () => {
		let calls = 0;
		const value = await withRetry(async () => {
			if (++calls < 3) throw netError('ECONNRESET');
			return 'ok';
		}, () => ({ retry: true }), fast);
		expect(value).toBe('ok');
		expect(calls).toBe(3);
	});

	it('never retries what the classifier refuses (a write with unknown outcome)', async () => {
		let calls = 0;
		await expect(
			withRetry(async () => {
				calls++;
				throw netError('ECONNRESET');
			}, () => ({ retry: false }), fast),
		).rejects.toThrow('ECONNRESET');
		expect(calls).toBe(1);
	});

	it('gives up after the attempts with the last error', async () => {
		let calls = 0;
		await expect(withRetry(async () => { throw new Error(`fail ${++calls}`); }, () => ({ retry: true }), fast)).rejects.toThrow('fail 4');
	});
});

describe('network error classification', () => {
	it('tells a refused connection (nothing sent) from a dropped one (maybe received)', () => {
		expect(isConnectionRefused(netError('ECONNREFUSED'))).toBe(true);
		expect(isConnectionDropped(netError('ECONNREFUSED'))).toBe(false);
		expect(isConnectionDropped(netError('ECONNRESET'))).toBe(true);
		expect(isConnectionDropped(new Error('socket hang up'))).toBe(true);
		expect(isConnectionRefused(new Error('socket hang up'))).toBe(false);
		expect(isConnectionDropped({ message: 'wrapped', cause: netError('EPIPE') })).toBe(true);
		expect(isConnectionRefused(new Error('HTTP 500'))).toBe(false);
	});
});
