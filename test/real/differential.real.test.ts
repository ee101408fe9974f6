// Differential test: the same raw requests go to the real CRM (../shared/real-crm) and to our emulator, started
// in-process; the answers are compared after the volatile parts (ids, record numbers, timestamps, tokens,
// session names) are replaced by symbols. The real server is the reference: a difference is fixed in the
// emulator (and written down in its README under "Observed"); the few that cannot sensibly be reproduced are
// listed in the probes as accepted, each with its reason. Every record a run writes carries the run's tag, and every
// list or query is scoped to that tag, so repeated runs on the same persistent databases compare the same thing.
//
// The probes and the normalisation are in ./probes.ts. With RECORD_REAL=1 the real servers' normalised answers are
// written to test/emulators/{vtiger,salesman}/observed-real.json, which test/emulators/observed-real.test.ts replays
// against the emulators alone (`npm test`, no real server needed): `RECORD_REAL=1 npm run test:real`.
import { assertReachable, RUN, SALESMAN, VTIGER } from './setup';
import {
	compareAnswers,
	groupsOf,
	recordable,
	salesManProbes,
	SalesManSide,
	startSalesManEmulator,
	startVtigerEmulator,
	vtigerProbes,
	VtigerSide,
	writeObserved,
	type Crm,
	type Probe,
	type RunContext,
} from './probes';

jest.setTimeout(30_000);

const context: RunContext = { run: RUN, now: Date.now() };
const RECORD = !!process.env.RECORD_REAL && process.env.RECORD_REAL !== '0';

/** The version a real server reports: Vtiger in its asset URLs (`?v=8.0.0`), SalesMan in _whatsnew/version.json. */
async function realVersion(crm: Crm): Promise<{ server: string; version: string }> {
	if (crm === 'vtiger') {
		const page = await (await fetch(`${VTIGER.baseUrl}/index.php`, { signal: AbortSignal.timeout(15_000) })).text();
		const version = /\?v=(\d+\.\d+\.\d+)/.exec(page)?.[1];
		if (!version) throw new Error('The real Vtiger reports no version in index.php');
		return { server: `Vtiger CRM ${version}`, version };
	}
	const info = (await (await fetch(`${SALESMAN.baseUrl}/_whatsnew/version.json`, { signal: AbortSignal.timeout(15_000) })).json()) as { version: string; build?: string };
	return { server: `SalesMan CRM ${info.version}${info.build ? ` build ${info.build}` : ''}`, version: info.version };
}

/**
 * The probes of one CRM, each sent to both sides in parallel (they are different servers); the real side's
 * normalised answers are kept and, with RECORD_REAL=1, written to the fixture once every probe has one.
 */
function differential<S>(crm: Crm, title: string, probes: Array<Probe<S>>, sides: () => Promise<{ real: S; emulated: S; stop(): Promise<void> }>): void {
	describe(title, () => {
		let real: S;
		let emulated: S;
		let stop: (() => Promise<void>) | undefined;
		const answers: Record<string, unknown> = {};
		beforeAll(async () => {
			({ real, emulated, stop } = await sides());
		});
		afterAll(async () => {
			await stop?.();
			if (!RECORD) return;
			const missing = probes.filter((p) => !(p.key in answers)).map((p) => p.key);
			if (missing.length) throw new Error(`RECORD_REAL: ${crm} fixture not written, the real server gave no answer to ${missing.length} probes (run the whole file): ${missing.slice(0, 5).join('; ')}`);
			const ordered = Object.fromEntries(probes.map((p) => [p.key, answers[p.key]]));
			writeObserved(crm, {
				about:
					'The real server\'s normalised answers to the probes of test/real/probes.ts, recorded by test/real/differential.real.test.ts and replayed against the emulator by test/emulators/observed-real.test.ts (npm test). Do not edit: refresh with RECORD_REAL=1 npm run test:real.',
				...(await realVersion(crm)),
				recorded: new Date().toISOString(),
				run: context.run,
				now: context.now,
				answers: ordered,
			});
		});
		for (const [group, list] of groupsOf(probes)) {
			describe(group, () => {
				for (const probe of list) {
					it(probe.title, async () => {
						const [r, e] = await Promise.all([
							probe.run(real).then((answer) => {
								answers[probe.key] = recordable(probe.normalise(real, answer), context);
								return answer;
							}),
							probe.run(emulated),
						]);
						compareAnswers(probe, probe.normalise(emulated, e), probe.normalise(real, r));
					});
				}
			});
		}
	});
}

differential('vtiger', 'Vtiger: the real server and the emulator answer alike', vtigerProbes(context), async () => {
	await assertReachable(VTIGER.baseUrl, 'The real Vtiger');
	const emulator = await startVtigerEmulator();
	return { real: new VtigerSide('real', `${VTIGER.baseUrl}/webservice.php`, VTIGER.accessKey), emulated: emulator.side, stop: emulator.stop };
});

differential('salesman', 'SalesMan: the real server and the emulator answer alike', salesManProbes(context), async () => {
	await assertReachable(SALESMAN.baseUrl, 'The real SalesMan');
	const emulator = await startSalesManEmulator();
	return { real: new SalesManSide('real', SALESMAN.baseUrl), emulated: emulator.side, stop: emulator.stop };
});
