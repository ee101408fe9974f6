import { sleep } from 'n8n-workflow';
import { settle } from './errors';

/**
 * How a transport classifies a failed attempt:
 * - `retry`: safe to send again (a read, or a write the CRM refused before acting, e.g. rate limited);
 *   `afterMs` overrides the backoff when the CRM said how long to wait.
 * - `fail`: give up and surface the error (including every write whose outcome is unknown).
 */
export type RetryDecision = { retry: true; afterMs?: number } | { retry: false };

export interface RetryPolicy {
	/** Attempts in total, the first included. */
	attempts: number;
	/** First backoff; doubles on every retry, with jitter, up to `maxDelayMs`. */
	baseDelayMs: number;
	maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 8000 };

export function backoffMs(policy: RetryPolicy, retryNumber: number): number {
	const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
	return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

/** Runs `attempt` until it succeeds, `classify` says stop, or the attempts run out. */
export async function withRetry<T>(
	attempt: (attemptNumber: number) => Promise<T>,
	classify: (error: unknown, attemptNumber: number) => RetryDecision,
	policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
	for (let attemptNumber = 1; ; attemptNumber++) {
		const outcome = await settle(attempt(attemptNumber));
		if (outcome.ok) return outcome.value;
		const decision = attemptNumber < policy.attempts ? classify(outcome.error, attemptNumber) : { retry: false as const };
		if (!decision.retry) throw outcome.error;
		await sleep(decision.afterMs ?? backoffMs(policy, attemptNumber));
	}
}

const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET']);

function networkCode(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
		const code = (current as { code?: unknown }).code;
		if (typeof code === 'string' && (REFUSED_CODES.has(code) || DROPPED_CODES.has(code))) return code;
		const message = (current as { message?: unknown }).message;
		if (typeof message === 'string' && /socket hang up/i.test(message)) return 'ECONNRESET';
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

/** The request never reached the CRM (nothing can have been written): safe to retry, also for writes. */
export function isConnectionRefused(error: unknown): boolean {
	const code = networkCode(error);
	return code !== undefined && REFUSED_CODES.has(code);
}

/** The connection broke after the request may have been received: retry reads only. */
export function isConnectionDropped(error: unknown): boolean {
	const code = networkCode(error);
	return code !== undefined && DROPPED_CODES.has(code);
}
