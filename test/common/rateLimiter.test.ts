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
		expect(shareOf({ perSecond: 6.5, burst: 1 }, 3)).toEqual({ perSecond: 6.5 / 3, burst: 1 });
		expect(shareOf({ perSecond: 2, burst: 45 }, undefined)).toEqual({ perSecond: 2, burst: 45 });
	});

	it('the Bitrix24 endpoint applies the plan and the share from the credential', () => {
		expect(bitrix24Endpoint('webhook', { webhookUrl: 'https://p.bitrix24.com/rest/1/abc/', plan: 'enterprise', processes: 5 }).rate).toEqual({ perSecond: 1, burst: 45 });
	});
});
