#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * Standalone Vtiger emulator: node test/emulators/vtiger/cli.js [--port 8090] [--seed 200]
 * (env VTIGER_EMULATOR_PORT also accepted). --seed N creates N Accounts, N Contacts, N/2 Leads,
 * N/2 Potentials and N/4 HelpDesk tickets.
 */
const { createVtigerEmulator } = require('./server.js');

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

async function main() {
	const port = Number(arg('port') ?? process.env.VTIGER_EMULATOR_PORT ?? 8090);
	const n = Number(arg('seed') ?? 0);
	const emu = createVtigerEmulator();
	if (n > 0) {
		const accountIds = emu.seed('Accounts', n);
		const contactIds = emu.seed('Contacts', n, { accountIds });
		emu.seed('Leads', Math.ceil(n / 2));
		emu.seed('Potentials', Math.ceil(n / 2), { accountIds });
		emu.seed('HelpDesk', Math.ceil(n / 4), { accountIds, contactIds });
	}
	const base = await emu.start(port);
	const user = emu.users[0];
	process.stdout.write(
		`Vtiger emulator listening\n` +
			`  base URL   : ${base}   (endpoint ${base}/webservice.php)\n` +
			`  user name  : ${user.user_name}   (userId ${user.id})\n` +
			`  access key : ${user.accessKey}\n` +
			(n > 0 ? `  seeded     : ${n} Accounts, ${n} Contacts, ${Math.ceil(n / 2)} Leads, ${Math.ceil(n / 2)} Potentials, ${Math.ceil(n / 4)} HelpDesk\n` : ''),
	);
	const shutdown = () => emu.stop().then(() => process.exit(0));
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
