#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * Standalone SalesMan emulator: node test/emulators/salesman/cli.js [--port 8093] [--seed 200] [--webhook URL]
 * (env SALESMAN_EMULATOR_PORT also accepted). --seed N creates N clients, N persons, N/2 deals, N/2 leads,
 * N/4 tasks (today, active) and N/4 history entries. --webhook URL (repeatable) registers a delivery URL.
 */
const { createSalesManEmulator } = require('./server.js');

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

async function main() {
	const port = Number(arg('port') ?? process.env.SALESMAN_EMULATOR_PORT ?? 8093);
	const n = Number(arg('seed') ?? 0);
	const hooks = process.argv.flatMap((a, i) => (a === '--webhook' ? [process.argv[i + 1]] : a.startsWith('--webhook=') ? [a.slice(10)] : []));
	const emu = createSalesManEmulator({ webhooks: hooks.filter(Boolean).map((url) => ({ url })) });
	if (n > 0) {
		emu.seed('client', n);
		emu.seed('person', n);
		emu.seed('deal', Math.ceil(n / 2));
		emu.seed('lead', Math.ceil(n / 2));
		emu.seed('task', Math.ceil(n / 4));
		emu.seed('history', Math.ceil(n / 4));
	}
	const base = await emu.start(port);
	process.stdout.write(
		`SalesMan emulator listening\n` +
			`  base URL : ${base}   (API ${base}/developer/v2/{client|person|deal|lead|task|history|user|guides})\n` +
			`  login    : ${emu.login}\n` +
			`  apikey   : ${emu.apiKey}\n` +
			(hooks.length ? `  webhooks : ${hooks.join(', ')}\n` : '') +
			(n > 0 ? `  seeded   : ${n} clients, ${n} persons, ${Math.ceil(n / 2)} deals, ${Math.ceil(n / 2)} leads, ${Math.ceil(n / 4)} tasks, ${Math.ceil(n / 4)} history\n` : ''),
	);
	const shutdown = () => emu.stop().then(() => process.exit(0));
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
