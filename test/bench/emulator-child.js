// @ts-check
/**
 * One emulator in its own process, so that a benchmark measures the node's process alone (the emulator's
 * CPU and garbage collection would otherwise land in the node's wall time). Started with fork(); the parent
 * sends { crm, records }, this answers with what a credential needs, and exits when the parent disconnects.
 * The emulators' own rate limits are lifted: the node keeps to the CRM's limit with its own limiter (measured
 * separately), and the benchmark replays the same requests at full speed to find the floor.
 */
const path = require('path');

/** @param {string} name */
const dir = (name) => path.join(__dirname, '..', 'emulators', name);

process.on('message', async (/** @type {{ crm: string, records: number, latencyMs?: number }} */ { crm, records, latencyMs = 0 }) => {
	/** @type {any} */
	let emu;
	/** @type {Record<string, unknown>} */
	let credential;
	if (crm === 'vtiger') {
		emu = require(path.join(dir('vtiger'), 'server')).createVtigerEmulator({ latencyMs });
		const baseUrl = await emu.start();
		emu.seed('Accounts', records);
		credential = { vtigerApi: { baseUrl, username: 'admin', accessKey: emu.accessKeyFor('admin') } };
	} else if (crm === 'bitrix24') {
		emu = require(path.join(dir('bitrix24'), 'server')).createBitrix24Emulator({ bucket: { perSecond: 1e6, burst: 1e6 }, latencyMs });
		await emu.start();
		emu.seed('lead', records);
		credential = { bitrix24WebhookApi: { webhookUrl: emu.webhookUrl(), plan: 'standard' } };
	} else if (crm === 'amocrm') {
		emu = require(path.join(dir('amocrm'), 'server')).createAmoCrmEmulator({ rps: 1e6, accountRps: 1e6, latencyMs });
		const baseUrl = await emu.start();
		emu.seed('leads', records);
		credential = { amoCrmApi: { accountDomain: `${emu.account.subdomain}.amocrm.ru`, accessToken: emu.longLivedToken, baseUrl } };
	} else {
		emu = require(path.join(dir('salesman'), 'server')).createSalesManEmulator({ latencyMs });
		const baseUrl = await emu.start();
		emu.seed('client', records);
		credential = { salesManApi: { baseUrl, login: emu.login, apiKey: emu.apiKey } };
	}
	process.send?.({ credential });
	process.on('disconnect', () => void emu.stop().then(() => process.exit(0)));
});
