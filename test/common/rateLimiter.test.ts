import { RateLimiter, rateLimiterFor, shareOf } from '../../nodes/common/rateLimiter';
import { bitrix24Endpoint } from '../../nodes/Bitrix24/transport';

describe('RateLimiter', () => {
	it('lets a burst through at once, then drains at the configured rate', async () => {
		const limiter = new RateLimiter({ perSecond: 20, burst: 5 });
		const started = Date.now();
		const times: number[] = [];
		await Promise.all(Array.from({ length: 10 }, async () => (await limiter.acquire(), times.push(Date.now() - started))));
		times.sort((a, b) => a - b);
		expect(times[4]).toBeLessThan(40); // the burst
		// 5 more at 20/s need ≈ 250 ms.
		expect(times[9]).toBeGreaterThanOrEqual(220);
		expect(times[9]).toBeLessThan(600);
		expect(limiter.stats.acquired).toBe(10);
		expect(limiter.stats.waited).toBeGreaterThan(0);
	});

	it('pause() holds everyone back after the CRM said "too many requests"', async () => {
		const limiter = new RateLimiter({ perSecond: 100, burst: 10 });
		limiter.pause(200);
		const started = Date.now();
		await limiter.acquire();
		expect(Date.now() - started).toBeGreaterThanOrEqual(190);
	});

	it('window mode: at most N requests in any second, each counting until a second after its answer', async () => {
		const limiter = new RateLimiter({ perSecond: 7, burst: 7, window: true });
		const started = Date.now();
		const sent: number[] = [];
		const answered: number[] = [];
		// 15 requests, 3 at a time, each answered 150 ms after it was sent (a slow network).
		let next = 0;
		await Promise.all(
			Array.from({ length: 3 }, async () => {
				while (next < 15) {
					next++;
					const slot = await limiter.acquire();
					sent.push(Date.now() - started);
					await new Promise((resolve) => setTimeout(resolve, 150));
					answered.push(Date.now() - started);
					slot.done();
				}
			}),
		);
		sent.sort((a, b) => a - b);
		answered.sort((a, b) => a - b);
		// The 8th request waits for a second after the 1st answer, the 15th for a second after the 8th's.
		for (let i = 7; i < 15; i++) expect(sent[i]).toBeGreaterThanOrEqual(answered[i - 7] + 1000 - 2);
		// Whatever the delay, no second holds more than 7 sends (the CRM counts arrivals, which lie in between).
		for (const t of sent) expect(sent.filter((s) => s >= t && s < t + 1000).length).toBeLessThanOrEqual(7);
		expect(sent[14]).toBeLessThan(answered[7] + 1000 + 100);
	});

	it('window mode: a slot never released stops counting after the longest a request may take, not never', async () => {
		jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
		try {
			const limiter = new RateLimiter({ perSecond: 1, burst: 1, window: true });
			await limiter.acquire(); // lost: done() is never called
			let granted = false;
			const second = limiter.acquire().then(() => (granted = true));
			await jest.advanceTimersByTimeAsync(119_000);
			expect(granted).toBe(false);
			await jest.advanceTimersByTimeAsync(2_000);
			await second;
			expect(granted).toBe(true);
		} finally {
			jest.useRealTimers();
		}
	});

	it('is shared per CRM account, not per caller', () => {
		const a = rateLimiterFor('crm', 'https://a|user', { perSecond: 2, burst: 50 });
		expect(rateLimiterFor('crm', 'https://a|user', { perSecond: 2, burst: 50 })).toBe(a);
		expect(rateLimiterFor('crm', 'https://b|user', { perSecond: 2, burst: 50 })).not.toBe(a);
		expect(rateLimiterFor('other', 'https://a|user', { perSecond: 2, burst: 50 })).not.toBe(a);
	});
});

describe('shareOf', () => {
	it('splits a CRM budget between n8n processes, never below one request of burst', () => {
		expect(shareOf({ perSecond: 2, burst: 45 }, 1)).toEqual({ perSecond: 2, burst: 45 });
		expect(shareOf({ perSecond: 2, burst: 45 }, 2)).toEqual({ perSecond: 1, burst: 22 });
		expect(shareOf({ perSecond: 7, burst: 7, window: true }, 3)).toEqual({ perSecond: 7 / 3, burst: 2, window: true });
		expect(shareOf({ perSecond: 2, burst: 45 }, undefined)).toEqual({ perSecond: 2, burst: 45 });
	});

	it('the Bitrix24 endpoint applies the plan and the share from the credential', () => {
		expect(bitrix24Endpoint('webhook', { webhookUrl: 'https://p.bitrix24.com/rest/1/abc/', plan: 'enterprise', processes: 5 }).rate).toEqual({ perSecond: 1, burst: 45 });
	});
});
