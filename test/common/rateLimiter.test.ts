import { RateLimiter, rateLimiterFor } from '../../nodes/common/rateLimiter';

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

	it('is shared per CRM account, not per caller', () => {
		const a = rateLimiterFor('crm', 'https://a|user', { perSecond: 2, burst: 50 });
		expect(rateLimiterFor('crm', 'https://a|user', { perSecond: 2, burst: 50 })).toBe(a);
		expect(rateLimiterFor('crm', 'https://b|user', { perSecond: 2, burst: 50 })).not.toBe(a);
		expect(rateLimiterFor('other', 'https://a|user', { perSecond: 2, burst: 50 })).not.toBe(a);
	});
});
