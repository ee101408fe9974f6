/**
 * Process-wide helpers keyed by CRM account: one-at-a-time sections (a Vtiger login, an OAuth refresh)
 * and values that expire (sessions, describe metadata).
 */
const sections = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task with the same key has settled. */
export async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
	const previous = sections.get(key) ?? Promise.resolve();
	const run = previous.then(task, task);
	const settled = run.then(
		() => undefined,
		() => undefined,
	);
	sections.set(key, settled);
	void settled.then(() => {
		if (sections.get(key) === settled) sections.delete(key);
	});
	return await run;
}

export class ExpiringCache<T> {
	private readonly entries = new Map<string, { value: T; expiresAt: number }>();

	constructor(private readonly maxEntries = 500) {}

	get(key: string): T | undefined {
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		if (entry.expiresAt <= Date.now()) {
			this.entries.delete(key);
			return undefined;
		}
		return entry.value;
	}

	set(key: string, value: T, ttlMs: number): void {
		if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
			const oldest = this.entries.keys().next().value;
			if (oldest !== undefined) this.entries.delete(oldest);
		}
		this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
	}

	delete(key: string): void {
		this.entries.delete(key);
	}

	clear(): void {
		this.entries.clear();
	}
}
