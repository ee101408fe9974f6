import { sleep } from 'n8n-workflow';

export interface RateLimit {
	/** Sustained requests per second (the bucket's drain rate). */
	perSecond: number;
	/** Requests that may go at once from a full bucket. */
	burst: number;
}

/**
 * A token bucket shared by every node and execution in this process that talks to the same CRM account,
 * so two nodes in one workflow, or parallel executions, stay under the CRM's limit together.
 * Waiters are served in arrival order.
 */
export class RateLimiter {
	private tokens: number;
	private updatedAt = Date.now();
	private blockedUntil = 0;
	private queue: Promise<void> = Promise.resolve();
	/** Requests that had to wait, and for how long in total (for benchmarks and docs). */
	readonly stats = { acquired: 0, waited: 0, waitedMs: 0 };

	constructor(public limit: RateLimit) {
		this.tokens = limit.burst;
	}

	tighten(limit: RateLimit): void {
		this.limit = limit;
		this.tokens = Math.min(this.tokens, limit.burst);
	}

	/** Resolves when one request may be sent. */
	async acquire(): Promise<void> {
		const turn = this.queue.then(async () => await this.take());
		this.queue = turn.catch(() => undefined);
		return await turn;
	}

	/** The CRM said "too many requests": nobody sends for `ms`, and the bucket starts empty after it. */
	pause(ms: number): void {
		this.blockedUntil = Math.max(this.blockedUntil, Date.now() + ms);
		this.tokens = 0;
	}

	private refill(now: number): void {
		const elapsed = (now - this.updatedAt) / 1000;
		this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.perSecond);
		this.updatedAt = now;
	}

	private async take(): Promise<void> {
		let waitedMs = 0;
		for (;;) {
			const now = Date.now();
			if (now < this.blockedUntil) {
				const pause = this.blockedUntil - now;
				waitedMs += pause;
				await sleep(pause);
				this.updatedAt = Date.now();
				continue;
			}
			this.refill(now);
			if (this.tokens >= 1) {
				this.tokens -= 1;
				this.stats.acquired++;
				if (waitedMs) {
					this.stats.waited++;
					this.stats.waitedMs += waitedMs;
				}
				return;
			}
			const pause = Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000);
			waitedMs += pause;
			await sleep(pause);
		}
	}
}

/**
 * A CRM's budget split between n8n processes (queue-mode workers) that call the same account: each process
 * keeps to 1/N of the rate and of the burst, since limiters cannot be shared across processes without a
 * runtime dependency (a Redis client) that community nodes may not have.
 */
export function shareOf(limit: RateLimit, processes: unknown): RateLimit {
	const n = Math.max(1, Math.floor(Number(processes) || 1));
	return { perSecond: limit.perSecond / n, burst: Math.max(1, Math.floor(limit.burst / n)) };
}

const limiters = new Map<string, RateLimiter>();

/** Time every limiter in this process has made requests wait, in total (benchmarks separate it from node time). */
export function totalLimiterWaitMs(): number {
	let total = 0;
	for (const limiter of limiters.values()) total += limiter.stats.waitedMs;
	return total;
}

/**
 * The limiter of one CRM account. `account` must identify the account, not the credential record:
 * base URL plus the identity the CRM counts requests against (user, token hash, portal).
 */
export function rateLimiterFor(crm: string, account: string, limit: RateLimit): RateLimiter {
	const key = `${crm}\u0000${account}`;
	const existing = limiters.get(key);
	if (!existing) {
		const limiter = new RateLimiter(limit);
		limiters.set(key, limiter);
		return limiter;
	}
	// Two credentials for one account with different settings: the account gets the stricter one, and the
	// bucket keeps its state (a fresh full bucket would let a burst through).
	if (limit.perSecond < existing.limit.perSecond || limit.burst < existing.limit.burst) {
		existing.tighten({ perSecond: Math.min(limit.perSecond, existing.limit.perSecond), burst: Math.min(limit.burst, existing.limit.burst) });
	}
	return existing;
}
