// The real servers' answers, replayed against the emulators alone: every probe of the differential test
// (test/real/probes.ts) is sent to the emulator, started in-process, with the recorded run's tag and clock, and its
// normalised answer must equal the real server's, recorded in test/emulators/{vtiger,salesman}/observed-real.json
// (accepted differences: each side as the probe records it). So every difference the differential test found stays
// covered on machines without the real servers. Refresh the fixtures with `RECORD_REAL=1 npm run test:real`.
import {
	compareAnswers,
	groupsOf,
	readObserved,
	recordable,
	salesManProbes,
	startSalesManEmulator,
	startVtigerEmulator,
	vtigerProbes,
	type Crm,
	type Probe,
	type RunContext,
} from '../real/probes';

jest.setTimeout(30_000);

/**
 * Probes that cannot be replayed deterministically offline, by key, with the reason. Each is still run (later probes
 * may need the records it creates), but its answer is not compared.
 */
const SKIPPED: Record<Crm, Record<string, string>> = {
	vtiger: {},
	salesman: {},
};

function replay<S>(crm: Crm, label: string, probesOf: (context: RunContext) => Array<Probe<S>>, start: () => Promise<{ side: S; stop(): Promise<void> }>): void {
	const observed = readObserved(crm);
	const context: RunContext = { run: observed.run, now: observed.now };
	const probes = probesOf(context);
	const skipped = SKIPPED[crm];

	describe(`${label} emulator answers as the real ${observed.server} did (recorded ${observed.recorded.slice(0, 10)})`, () => {
		let side: S;
		let stop: (() => Promise<void>) | undefined;
		let replayed = 0;
		beforeAll(async () => {
			({ side, stop } = await start());
		});
		afterAll(async () => {
			await stop?.();
			const skips = Object.entries(skipped).map(([key, reason]) => `\n  skipped ${key}: ${reason}`);
			console.log(`${label}: ${replayed} of ${probes.length} probes replayed offline against the recorded answers of ${observed.server}, ${skips.length} skipped${skips.join('')}`);
		});

		it('the fixture has an answer for every probe and none for a probe that is gone', () => {
			const keys = probes.map((p) => p.key);
			expect(keys.filter((key) => !(key in observed.answers))).toEqual([]);
			expect(Object.keys(observed.answers).filter((key) => !keys.includes(key))).toEqual([]);
			expect(Object.keys(skipped).filter((key) => !keys.includes(key))).toEqual([]);
		});

		for (const [group, list] of groupsOf(probes)) {
			describe(group, () => {
				for (const probe of list) {
					const title = probe.key in skipped ? `${probe.title} [run, not compared: ${skipped[probe.key]}]` : probe.title;
					it(title, async () => {
						const answer = recordable(probe.normalise(side, await probe.run(side)), context);
						if (probe.key in skipped) return;
						expect(probe.key in observed.answers).toBe(true);
						compareAnswers(probe, answer, observed.answers[probe.key]);
						replayed++;
					});
				}
			});
		}
	});
}

replay('vtiger', 'Vtiger', vtigerProbes, startVtigerEmulator);
replay('salesman', 'SalesMan', salesManProbes, startSalesManEmulator);
