#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * Standalone amoCRM emulator: node test/emulators/amocrm/cli.js [--port 8092] [--seed 200] [--subdomain example]
 * (env AMOCRM_EMULATOR_PORT also accepted). --seed N creates N/2 companies, N contacts, N leads (linked to them),
 * N/2 tasks and N/2 notes.
 */
const { createAmoCrmEmulator } = require('./server.js');

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

async function main() {
	const port = Number(arg('port') ?? process.env.AMOCRM_EMULATOR_PORT ?? 8092);
	const n = Number(arg('seed') ?? 0);
	const subdomain = arg('subdomain');
	const emu = createAmoCrmEmulator(subdomain ? { subdomain } : {});
	const base = await emu.start(port);
	if (n > 0) {
		const companyIds = emu.seed('companies', Math.ceil(n / 2));
		const contactIds = emu.seed('contacts', n, { companyIds });
		const leadIds = emu.seed('leads', n, { contactIds, companyIds });
		emu.seed('tasks', Math.ceil(n / 2), { leadIds });
		emu.seed('notes', Math.ceil(n / 2), { leadIds });
	}
	const c = emu.oauthClient;
	process.stdout.write(
		`amoCRM emulator listening\n` +
			`  base URL         : ${base}   (API ${base}/api/v4/, OAuth ${base}/oauth2/access_token, authorize ${base}/oauth)\n` +
			`  account          : subdomain ${emu.account.subdomain}, id ${emu.account.id}\n` +
			`  long-lived token : ${emu.longLivedToken}\n` +
			`  OAuth client_id  : ${c.client_id}\n` +
			`  OAuth secret     : ${c.client_secret}\n` +
			`  OAuth redirect   : ${c.redirect_uri}\n` +
			(n > 0 ? `  seeded           : ${Math.ceil(n / 2)} companies, ${n} contacts, ${n} leads, ${Math.ceil(n / 2)} tasks, ${Math.ceil(n / 2)} notes\n` : ''),
	);
	const shutdown = () => emu.stop().then(() => process.exit(0));
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
