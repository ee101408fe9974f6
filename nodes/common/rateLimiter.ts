import { sleep } from 'n8n-workflow';

export interface RateLimit {
	/** Sustained requests per second (the bucket's drain rate). */
	perSecond: number;
	/** Requests that may go at once from a full bucket; with `window`, the requests one window holds. */
	burst: number;
	/**
	 * For CRMs that count requests in a sliding one-second window (amoCRM): at most `burst` requests in any
	 * second, a request taking its place from when it is sent until one second after its answer arrived. The
	 * CRM counted it in between, so no network delay can put one request more into the CRM's window.
	 */
	window?: boolean;
}

/** What `acquire` grants: call `done()` when the answer (or the failure) arrives. */
export interface Slot {
	done(): void;
}

const WINDOW_MS = 1000;
/** Longer than any request may take (transports time out at 60 s). */
const IN_FLIGHT_MAX_MS = 120_000;
const IN_FLIGHT_POLL_MS = 10;

/**
 * A token bucket (or a sliding window, see RateLimit.window) shared by every node and execution in this process
 * that talks to the same CRM account, so two nodes in one workflow, or parallel executions, stay under the CRM's
 * limit together. Waiters are served in arrival order.
 */
export class RateLimiter {
	private tokens: number;
	private updatedAt = Date.now();
	private blockedUntil = 0;
	private queue: Promise<void> = Promise.resolve();
	/** Window mode: the requests of the last second and those in flight, with when each stops counting. */
	private inWindow: Array<{ until: number; inFlight: boolean }> = [];
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
	async acquire(): Promise<Slot> {
		const turn = this.queue.then(async () => await (this.limit.window ? this.takeWindowSlot() : this.take()));
		this.queue = turn.then(
			() => undefined,
			() => undefined,
		);
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

	private async takeWindowSlot(): Promise<Slot> {
		const started = Date.now();
		for (;;) {
			const now = Date.now();
			this.inWindow = this.inWindow.filter((slot) => slot.until > now);
			if (now >= this.blockedUntil && this.inWindow.length < this.limit.burst) {
				// A lost answer must not hold its place for ever: it counts as answered after the longest request.
				const slot = { until: now + IN_FLIGHT_MAX_MS, inFlight: true };
				this.inWindow.push(slot);
				this.count(now - started);
				return {
					done: () => {
						if (!slot.inFlight) return;
						slot.inFlight = false;
						slot.until = Date.now() + WINDOW_MS;
					},
				};
			}
			if (now < this.blockedUntil) {
				await sleep(this.blockedUntil - now);
				continue;
			}
			const first = this.inWindow.reduce((a, b) => (b.until < a.until ? b : a));
			// An answered request frees its place at a known time. One still in flight frees it a second after its
			// answer, which may come any moment: look again shortly.
			await sleep(first.inFlight ? IN_FLIGHT_POLL_MS : Math.max(1, first.until - now));
		}
	}

	private count(waitedMs: number): void {
		this.stats.acquired++;
		if (waitedMs) {
			this.stats.waited++;
			this.stats.waitedMs += waitedMs;
		}
	}

	private async take(): Promise<Slot> {
		// The time actually waited (timers fire late), not the pauses asked for.
		const started = Date.now();
		for (;;) {
			const now = Date.now();
			if (now < this.blockedUntil) {
				await sleep(this.blockedUntil - now);
				this.updatedAt = Date.now();
				continue;
			}
			this.refill(now);
			if (this.tokens >= 1) {
				this.tokens -= 1;
				this.count(now - started);
				return NOTHING_TO_RELEASE;
			}
			await sleep(Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000));
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
	return { ...limit, perSecond: limit.perSecond / n, burst: Math.max(1, Math.floor(limit.burst / n)) };
}

const NOTHING_TO_RELEASE: Slot = { done: () => undefined };

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
