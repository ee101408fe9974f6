#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * Standalone Bitrix24 emulator: node test/emulators/bitrix24/cli.js [--port 8091] [--seed 200] [--enterprise]
 * (env BITRIX24_EMULATOR_PORT also accepted). --seed N creates N leads, N contacts, N/2 companies, N/2 deals,
 * N/4 smart-process items and N/4 tasks.
 */
const { createBitrix24Emulator } = require('./server.js');

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined && !process.argv[i + 1].startsWith('--')) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

async function main() {
	const port = Number(arg('port') ?? process.env.BITRIX24_EMULATOR_PORT ?? 8091);
	const n = Number(arg('seed') ?? 0);
	const emu = createBitrix24Emulator({ plan: process.argv.includes('--enterprise') ? 'enterprise' : 'standard' });
	if (n > 0) {
		const companyIds = emu.seed('company', Math.ceil(n / 2));
		const contactIds = emu.seed('contact', n, { companyIds });
		emu.seed('lead', n);
		emu.seed('deal', Math.ceil(n / 2), { companyIds, contactIds });
		emu.seed(128, Math.ceil(n / 4));
		emu.seed('task', Math.ceil(n / 4));
	}
	const base = await emu.start(port);
	const urls = emu.oauthUrls();
	process.stdout.write(
		`Bitrix24 emulator listening\n` +
			`  portal base URL   : ${base}   (domain ${emu.domain}, member_id ${emu.memberId})\n` +
			`  inbound webhook   : ${emu.webhookUrl()}   (user ${emu.webhook.userId}, code ${emu.webhook.code})\n` +
			`  OAuth client_id   : ${emu.app.clientId}\n` +
			`  OAuth secret      : ${emu.app.clientSecret}\n` +
			`  OAuth scope       : ${emu.app.scope}\n` +
			`  authorize URL     : ${urls.authorize}?client_id=${emu.app.clientId}&redirect_uri=...&state=...\n` +
			`  token URL         : ${urls.token}   (stands in for https://oauth.bitrix.info/oauth/token/)\n` +
			`  client endpoint   : ${urls.clientEndpoint}\n` +
			`  rate limit        : ${emu.knobs.bucket.perSecond} req/s drain, burst ${emu.knobs.bucket.burst}\n` +
			(n > 0
				? `  seeded            : ${n} leads, ${n} contacts, ${Math.ceil(n / 2)} companies, ${Math.ceil(n / 2)} deals, ` +
					`${Math.ceil(n / 4)} smart-process items (entityTypeId 128), ${Math.ceil(n / 4)} tasks\n`
				: ''),
	);
	const shutdown = () => emu.stop().then(() => process.exit(0));
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
