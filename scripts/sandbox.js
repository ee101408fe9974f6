#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The sandbox (`npm start` runs it after the build): a real n8n with this package installed, wired to local
 * emulators of all four CRMs (Vtiger, Bitrix24, amoCRM, SalesMan), with the example workflows imported.
 * Nothing leaves the machine: everything listens on 127.0.0.1.
 *
 *   npm start                                  build, then start everything; Ctrl+C stops it all
 *   node scripts/sandbox.js                    start without rebuilding
 *   node scripts/sandbox.js --touch <crm> <what>   make a running sandbox's emulator fire an event:
 *       --touch bitrix24 lead                  a new lead (ONCRMLEADADD to the outbound webhooks)
 *       --touch amocrm lead                    a new lead (add_lead)
 *       --touch amocrm won                     an open lead moved to Won, status 142 (status_lead)
 *       --touch salesman client                a new client through SalesMan's API (client.add)
 *       --touch vtiger Leads                   a new record (the polling trigger sees it within a minute)
 *       --touch vtiger Accounts --update       bump an existing record's modifiedtime (or --id 11x5)
 *   node scripts/sandbox.js --touch Leads      (old form) same as --touch vtiger Leads
 *
 * Ports (env): N8N_PORT (5678, the editor), VTIGER_EMULATOR_PORT (8090), BITRIX24_EMULATOR_PORT (8091),
 * AMOCRM_EMULATOR_PORT (8092), SALESMAN_EMULATOR_PORT (8093), SANDBOX_ADMIN_PORT (8099, /touch).
 * SANDBOX_PACKAGE_TGZ: install this packed tgz instead of packing the project. SANDBOX_DIR: n8n's data folder.
 * Data: `.sandbox/` in the project (git-ignored): n8n's database, the credentials and the workflows survive
 * restarts; the emulators are in memory and start from the same deterministic seed each time.
 * Login: owner@example.com / CrmSuite!2025 (set up on the first run).
 */
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { ensureN8n, packPackage, startN8n, DEFAULT_OWNER } = require('./lib/n8n-server');

const ROOT = path.resolve(__dirname, '..');
const SANDBOX_DIR = path.resolve(process.env.SANDBOX_DIR || path.join(ROOT, '.sandbox'));
const EXAMPLES_DIR = path.join(ROOT, 'examples');
const EMULATORS_DIR = path.join(ROOT, 'test', 'emulators');
const N8N_PORT = Number(process.env.N8N_PORT || 5678);
const ADMIN_PORT = Number(process.env.SANDBOX_ADMIN_PORT || 8099);
const PORTS = {
	vtiger: Number(process.env.VTIGER_EMULATOR_PORT || 8090),
	bitrix24: Number(process.env.BITRIX24_EMULATOR_PORT || 8091),
	amocrm: Number(process.env.AMOCRM_EMULATOR_PORT || 8092),
	salesman: Number(process.env.SALESMAN_EMULATOR_PORT || 8093),
};
const SEED = 200;
const PKG = 'n8n-nodes-crm-suite';

/** The sandbox credential of each CRM: its n8n type and name (the names the examples refer to). */
const CREDENTIALS = {
	vtiger: { type: 'vtigerApi', name: 'Vtiger Sandbox (emulator)', label: 'Vtiger API' },
	bitrix24: { type: 'bitrix24WebhookApi', name: 'Bitrix24 Sandbox (emulator)', label: 'Bitrix24 Webhook API' },
	amocrm: { type: 'amoCrmApi', name: 'amoCRM Sandbox (emulator)', label: 'amoCRM (Long-Lived Token) API' },
	salesman: { type: 'salesManApi', name: 'SalesMan Sandbox (emulator)', label: 'SalesMan CRM API' },
};
/** @typedef {keyof typeof CREDENTIALS} Crm */
const CRM_NAMES = /** @type {Crm[]} */ (Object.keys(CREDENTIALS));

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// --touch: the client side

/** `--touch <crm> <what>` (or the old `--touch <Module>` for Vtiger): ask the running sandbox to fire an event. */
async function touch() {
	const i = process.argv.findIndex((a) => a === '--touch' || a.startsWith('--touch='));
	const rest = process.argv.slice(i + 1);
	let first = process.argv[i].startsWith('--touch=') ? process.argv[i].slice(8) : rest.shift();
	let crm = String(first || '').toLowerCase();
	let what = rest[0] && !rest[0].startsWith('--') ? rest[0] : '';
	if (!CRM_NAMES.includes(/** @type {Crm} */ (crm))) {
		// `--touch Leads`: the Vtiger module, as before the other CRMs were added.
		what = String(first || 'Leads');
		crm = 'vtiger';
	}
	const q = new URLSearchParams({ crm, what });
	const id = arg('id');
	if (id) q.set('id', id);
	if (process.argv.includes('--update')) q.set('update', '1');
	let res;
	try {
		res = await fetch(`http://127.0.0.1:${ADMIN_PORT}/touch?${q}`, { method: 'POST' });
	} catch {
		console.error(`No sandbox is listening on 127.0.0.1:${ADMIN_PORT}. Start it with \`npm start\` first.`);
		process.exit(1);
	}
	const body = await res.json();
	if (!res.ok) {
		console.error(body.error || body);
		process.exit(1);
	}
	console.log(body.message);
}

// ---------------------------------------------------------------------------------------------------------
// --touch: the server side (the admin endpoint)

/** @param {string} s */
const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();

/**
 * @param {Emulators} emus
 * @param {{ crm: string, what: string, id?: string, update?: boolean }} t
 * @returns {Promise<{ message: string, record: unknown }>}
 */
async function touchRecord(emus, t) {
	const n = ++touchCount;
	if (t.crm === 'vtiger') {
		const emu = emus.vtiger.emu;
		const module = t.what ? capitalized(t.what) === 'Helpdesk' ? 'HelpDesk' : capitalized(t.what) : 'Leads';
		let id = t.id;
		if (!id && t.update) {
			// Bump one of the seeded records (a different one each time).
			const ids = emus.vtiger.ids[module];
			if (!ids || !ids.length) throw new Error(`--update: the sandbox seeded no ${module}; give --id`);
			id = ids[(n * 37) % ids.length];
		}
		if (id) {
			const record = emu.updateRecord(id, { description: `Touched by the sandbox at ${new Date().toISOString()}` });
			return { message: `vtiger: updated ${module} ${record.id} "${record.label || ''}" (modifiedtime ${record.modifiedtime}; the trigger polls once a minute)`, record };
		}
		const [newId] = emu.seed(module, 1, { seed: 1000 + n }); // realistic fields, stamped with the emulator's clock (now)
		const record = emu.getRecord(newId);
		return { message: `vtiger: created ${module} ${record.id} "${record.label || ''}" (the trigger polls once a minute)`, record };
	}
	if (t.crm === 'bitrix24') {
		const entity = (t.what || 'lead').toLowerCase();
		if (!['lead', 'deal', 'contact', 'company'].includes(entity)) throw new Error('bitrix24: touch lead, deal, contact or company');
		const [fields] = require(path.join(EMULATORS_DIR, 'bitrix24', 'seed.js')).generate(entity, 1, { seed: 7000 + n, offset: 400 + n });
		const record = emus.bitrix24.emu.createRecord(entity, fields); // fires ONCRM<ENTITY>ADD
		await emus.bitrix24.emu.flushDeliveries();
		return { message: `bitrix24: created ${entity} ${record.ID} "${record.TITLE}" (ONCRM${entity.toUpperCase()}ADD ${deliveredTo(emus.bitrix24.emu.deliveries, (d) => d.event === `ONCRM${entity.toUpperCase()}ADD`)})`, record };
	}
	if (t.crm === 'amocrm') {
		const emu = emus.amocrm.emu;
		const what = (t.what || 'lead').toLowerCase();
		if (what === 'won' || what === 'lost') {
			const status = what === 'won' ? 142 : 143;
			let id = t.id ? Number(t.id) : 0;
			if (!id) {
				const open = emus.amocrm.leadIds.filter((l) => ![142, 143].includes(emu.getRecord('leads', l)?.status_id));
				if (!open.length) throw new Error('amocrm: no open lead left to close');
				id = open[(n * 37) % open.length];
			}
			emu.updateRecord('leads', id, { status_id: status }); // fires status_lead
			await emu.flushDeliveries();
			const record = emu.getRecord('leads', id);
			return { message: `amocrm: lead ${id} "${record.name}" moved to ${what} (status ${status}; status_lead ${deliveredTo(emu.deliveries, (d) => d.actions.includes('status_lead'))})`, record };
		}
		if (what !== 'lead') throw new Error('amocrm: touch lead, won or lost');
		const [fields] = require(path.join(EMULATORS_DIR, 'amocrm', 'seed.js')).generate('leads', 1, { seed: 7000 + n, offset: 1000 + n });
		const record = emu.createRecord('leads', fields); // fires add_lead
		emus.amocrm.leadIds.push(record.id);
		await emu.flushDeliveries();
		return { message: `amocrm: created lead ${record.id} "${record.name}" (add_lead ${deliveredTo(emu.deliveries, (d) => d.actions.includes('add_lead'))})`, record };
	}
	if (t.crm === 'salesman') {
		const emu = emus.salesman.emu;
		const what = (t.what || 'client').toLowerCase();
		if (what !== 'client') throw new Error('salesman: touch client');
		const [fields] = require(path.join(EMULATORS_DIR, 'salesman', 'seed.js')).generate('client', 1, { seed: 7000 + n, offset: 5000 + n });
		// The emulator's record helpers fire no webhooks; an API call does, as in SalesMan itself.
		const before = emu.deliveries.length;
		const res = await fetch(`${emus.salesman.baseUrl}/developer/v2/client`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', login: emu.login, apikey: emu.apiKey },
			body: JSON.stringify({ action: 'add', ...fields }),
		});
		const answer = /** @type {any} */ (await res.json());
		if (answer.result === 'Error') throw new Error(`salesman: ${answer.error && answer.error.text}`);
		await emu.flushDeliveries();
		const record = emu.getRecord('client', Number(answer.data));
		const sent = emu.deliveries.slice(before);
		return { message: `salesman: created client ${answer.data} "${record && record.title}" (client.add ${sent.length ? sent.map((/** @type {any} */ d) => `→ HTTP ${d.status || d.error}`).join(', ') : 'registered for no URL'})`, record };
	}
	throw new Error(`unknown CRM "${t.crm}": use one of ${CRM_NAMES.join(', ')}`);
}

let touchCount = 0;

/** "→ HTTP 200" for the newest delivery that matches, or a hint when there was none. */
function deliveredTo(/** @type {any[]} */ deliveries, /** @type {(d: any) => boolean} */ match) {
	const d = [...deliveries].reverse().find(match);
	if (!d) return 'went nowhere: no webhook is registered for it';
	return `→ HTTP ${d.status ?? d.error}`;
}

/** @param {Emulators} emus */
function startAdminServer(emus) {
	const server = http.createServer((req, res) => {
		const url = new URL(req.url || '/', 'http://127.0.0.1');
		const send = (/** @type {number} */ status, /** @type {unknown} */ body) => {
			res.writeHead(status, { 'content-type': 'application/json' });
			res.end(JSON.stringify(body));
		};
		if (url.pathname !== '/touch') return send(404, { error: 'use /touch?crm=bitrix24|amocrm|salesman|vtiger&what=lead|won|client|Leads[&id=…][&update=1]' });
		// Old form: /touch?module=Leads[&id=10x5] (Vtiger).
		const module = url.searchParams.get('module');
		const t = {
			crm: (url.searchParams.get('crm') || 'vtiger').toLowerCase(),
			what: url.searchParams.get('what') || module || '',
			id: url.searchParams.get('id') || undefined,
			update: url.searchParams.get('update') === '1',
		};
		touchRecord(emus, t).then(
			(r) => send(200, r),
			(e) => send(400, { error: e instanceof Error ? e.message : String(e) }),
		);
	});
	return new Promise((resolve, reject) => {
		server.on('error', reject);
		server.listen(ADMIN_PORT, '127.0.0.1', () => resolve(server));
	});
}

// ---------------------------------------------------------------------------------------------------------
// The emulators

/**
 * @typedef {object} Emulators
 * @property {{ emu: any, baseUrl: string, ids: Record<string, string[]>, seeded: string }} vtiger
 * @property {{ emu: any, baseUrl: string, seeded: string }} bitrix24
 * @property {{ emu: any, baseUrl: string, leadIds: number[], seeded: string }} amocrm
 * @property {{ emu: any, baseUrl: string, seeded: string }} salesman
 */

/** @returns {Promise<Emulators>} */
async function startEmulators() {
	const load = (/** @type {string} */ crm) => require(path.join(EMULATORS_DIR, crm, 'server.js'));
	/** @type {any[]} */
	const started = [];
	try {
		// Vtiger: 200 each of accounts, contacts, leads, potentials, created an hour apart through 2025.
		const vtiger = load('vtiger').createVtigerEmulator();
		const from = { createdtime: '2025-01-01 09:00:00', stepSeconds: 3600 };
		const accountIds = vtiger.seed('Accounts', SEED, from);
		const vtigerIds = {
			Accounts: accountIds,
			Contacts: vtiger.seed('Contacts', SEED, { ...from, accountIds }),
			Leads: vtiger.seed('Leads', SEED, from),
			Potentials: vtiger.seed('Potentials', SEED, { ...from, accountIds }),
		};
		const vtigerUrl = await vtiger.start(PORTS.vtiger);
		started.push(vtiger);

		// Bitrix24: companies, contacts, leads, deals (the inbound-webhook user 1, all scopes). About 20 companies
		// carry the names of Vtiger accounts, so the Vtiger → Bitrix24 upsert example finds some and creates others.
		const bitrix24 = load('bitrix24').createBitrix24Emulator();
		const companyIds = bitrix24.seed('company', SEED / 2);
		const contactIds = bitrix24.seed('contact', SEED, { companyIds });
		bitrix24.seed('lead', SEED);
		bitrix24.seed('deal', SEED / 2, { companyIds, contactIds });
		const twins = accountIds.filter((/** @type {string} */ _, /** @type {number} */ i) => i % 10 === 0);
		for (const id of twins) {
			const a = vtiger.getRecord(id);
			bitrix24.createRecord('company', { TITLE: a.accountname, ADDRESS_CITY: a.bill_city, ADDRESS_COUNTRY: a.bill_country, PHONE: a.phone ? [{ VALUE: a.phone, VALUE_TYPE: 'WORK' }] : undefined }, { silent: true });
		}
		const bitrix24Url = await bitrix24.start(PORTS.bitrix24);
		started.push(bitrix24);

		// amoCRM: companies, contacts, leads spread over both pipelines and their statuses, tasks, notes.
		const amocrm = load('amocrm').createAmoCrmEmulator();
		const amoCompanies = amocrm.seed('companies', SEED / 2);
		const amoContacts = amocrm.seed('contacts', SEED, { companyIds: amoCompanies });
		const leadIds = amocrm.seed('leads', SEED, { contactIds: amoContacts, companyIds: amoCompanies });
		amocrm.seed('tasks', SEED / 2, { leadIds });
		amocrm.seed('notes', SEED / 2, { leadIds });
		const amocrmUrl = await amocrm.start(PORTS.amocrm);
		started.push(amocrm);

		// SalesMan: clients, persons, deals, leads, tasks, history. Webhooks are delivered in the background
		// (`async`), so an API write never waits for n8n.
		const salesman = load('salesman').createSalesManEmulator({ webhookMode: 'async' });
		salesman.seed('client', SEED);
		salesman.seed('person', SEED);
		salesman.seed('deal', SEED / 2);
		salesman.seed('lead', SEED / 2);
		salesman.seed('task', SEED / 4);
		salesman.seed('history', SEED / 4);
		const salesmanUrl = await salesman.start(PORTS.salesman);
		started.push(salesman);

		return {
			vtiger: { emu: vtiger, baseUrl: vtigerUrl, ids: vtigerIds, seeded: `${SEED} each of Accounts, Contacts, Leads, Potentials` },
			bitrix24: { emu: bitrix24, baseUrl: bitrix24Url, seeded: `${SEED} leads, ${SEED} contacts, ${SEED / 2 + twins.length} companies, ${SEED / 2} deals` },
			amocrm: { emu: amocrm, baseUrl: amocrmUrl, leadIds: [...leadIds], seeded: `${SEED} leads, ${SEED} contacts, ${SEED / 2} companies, ${SEED / 2} tasks, ${SEED / 2} notes` },
			salesman: { emu: salesman, baseUrl: salesmanUrl, seeded: `${SEED} clients, ${SEED} persons, ${SEED / 2} deals, ${SEED / 2} leads, ${SEED / 4} tasks` },
		};
	} catch (e) {
		await Promise.all(started.map((emu) => emu.stop().catch(() => {})));
		if (e && /** @type {any} */ (e).code === 'EADDRINUSE') {
			throw new Error(`${/** @type {any} */ (e).message}: another sandbox or emulator is running? Ports come from VTIGER_EMULATOR_PORT, BITRIX24_EMULATOR_PORT, AMOCRM_EMULATOR_PORT, SALESMAN_EMULATOR_PORT.`);
		}
		throw e;
	}
}

/** The credential data for each CRM's emulator. @param {Emulators} emus @returns {Record<Crm, Record<string, unknown>>} */
function credentialData(emus) {
	const amo = emus.amocrm.emu;
	return {
		vtiger: { baseUrl: emus.vtiger.baseUrl, username: 'admin', accessKey: emus.vtiger.emu.accessKeyFor('admin') },
		bitrix24: { webhookUrl: emus.bitrix24.emu.webhookUrl(), plan: 'standard' },
		amocrm: { accountDomain: `${amo.account.subdomain}.${amo.account.domain}`, accessToken: amo.longLivedToken, baseUrl: emus.amocrm.baseUrl },
		salesman: { baseUrl: emus.salesman.baseUrl, login: emus.salesman.emu.login, apiKey: emus.salesman.emu.apiKey },
	};
}

// ---------------------------------------------------------------------------------------------------------
// n8n: credentials, workflows, trigger wiring

/**
 * One credential per CRM, created if missing; an existing one is updated to this run's emulator URL and keys.
 * @param {any} n8n @param {Record<Crm, Record<string, unknown>>} data
 * @returns {Promise<Record<Crm, { id: string, name: string, type: string, created: boolean }>>}
 */
async function ensureCredentials(n8n, data) {
	const existing = await n8n.listCredentials();
	/** @type {any} */
	const out = {};
	for (const crm of CRM_NAMES) {
		const { type, name } = CREDENTIALS[crm];
		const found = existing.find((/** @type {any} */ c) => c.name === name && c.type === type);
		if (found) {
			try {
				await n8n.rest('PATCH', `/rest/credentials/${found.id}`, { name, type, data: data[crm] });
			} catch (e) {
				console.warn(`[sandbox] could not update the credential "${name}": ${e instanceof Error ? e.message : e}`);
			}
			out[crm] = { id: found.id, name, type, created: false };
		} else {
			out[crm] = { id: await n8n.createCredential({ name, type, data: data[crm] }), name, type, created: true };
		}
	}
	return out;
}

/** The node types the sandbox wires to an emulator. */
const TYPES = {
	bitrix24Trigger: `${PKG}.bitrix24Trigger`,
	salesManTrigger: `${PKG}.salesManTrigger`,
};

/**
 * Connect a workflow's webhook triggers to the emulators, changing the workflow where needed (in place):
 *  - Bitrix24 Trigger with the inbound-webhook credential: register its production URL as an outbound webhook
 *    of the emulator (as a portal admin would) and put the application token it returns into the trigger. The
 *    emulator is new on every start, so the token changes on every start.
 *  - SalesMan CRM Trigger: give it a random secret if it has none, and register `<production URL>?secret=…`
 *    with the emulator (as SalesMan's admin would in Settings → Webhooks).
 * @param {any} wf @param {Emulators} emus @param {string} n8nBaseUrl
 * @returns {string[]} what changed in the workflow (empty: nothing)
 */
function wireWorkflow(wf, emus, n8nBaseUrl) {
	/** @type {string[]} */
	const changed = [];
	for (const node of wf.nodes || []) {
		if (node.disabled) continue;
		const p = node.parameters || (node.parameters = {});
		if (node.type === TYPES.bitrix24Trigger && (p.authentication || 'webhook') === 'webhook') {
			if (!node.webhookId) {
				node.webhookId = crypto.randomUUID();
				changed.push(`${node.name}: webhook ID`);
			}
			const url = `${n8nBaseUrl}/webhook/${node.webhookId}/bitrix24`;
			const token = emus.bitrix24.emu.addOutboundWebhook(url, Array.isArray(p.events) ? p.events : []);
			if (p.applicationToken !== token) {
				p.applicationToken = token;
				changed.push(`${node.name}: application token`);
			}
		}
		if (node.type === TYPES.salesManTrigger) {
			if (!node.webhookId) {
				node.webhookId = crypto.randomUUID();
				changed.push(`${node.name}: webhook ID`);
			}
			if (!p.secret || typeof p.secret !== 'string' || p.secret.startsWith('=')) {
				if (typeof p.secret === 'string' && p.secret.startsWith('=')) continue; // an expression: leave it to its author
				p.secret = crypto.randomBytes(24).toString('hex');
				changed.push(`${node.name}: secret`);
			}
			const url = `${n8nBaseUrl}/webhook/${node.webhookId}/salesman?secret=${encodeURIComponent(p.secret)}`;
			const events = Array.isArray(p.events) && p.events.length ? p.events : undefined;
			emus.salesman.emu.addWebhook(url, events);
		}
	}
	return changed;
}

/** @param {any} wf */
const needsWiring = (wf) => (wf.nodes || []).some((/** @type {any} */ n) => Object.values(TYPES).includes(n.type) || n.type === AMOCRM_TRIGGER);
const AMOCRM_TRIGGER = `${PKG}.amoCrmTrigger`;

/**
 * Import examples/*.json whose workflow name is not in n8n yet: the sandbox credentials patched in, the
 * triggers wired to the emulators first.
 * @param {any} n8n @param {Record<Crm, { id: string, name: string, type: string }>} creds @param {Emulators} emus
 */
async function importExamples(n8n, creds, emus) {
	if (!fs.existsSync(EXAMPLES_DIR)) return [];
	const have = new Set((await n8n.listWorkflows()).map((/** @type {any} */ w) => w.name));
	const byType = Object.fromEntries(CRM_NAMES.map((crm) => [creds[crm].type, { id: creds[crm].id, name: creds[crm].name }]));
	const todo = [];
	for (const file of fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()) {
		let wf;
		try {
			wf = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
		} catch (e) {
			console.warn(`[sandbox] skipping examples/${file}: ${e instanceof Error ? e.message : e}`);
			continue;
		}
		if (have.has(wf.name)) continue;
		for (const node of wf.nodes || []) {
			for (const type of Object.keys(node.credentials || {})) {
				if (byType[type]) node.credentials[type] = byType[type];
			}
		}
		wireWorkflow(wf, emus, n8n.baseUrl);
		todo.push(wf);
	}
	if (!todo.length) return [];
	const ids = await n8n.importWorkflows(todo);
	return todo.map((wf, i) => ({ id: ids[i], name: wf.name }));
}

/**
 * Wire the triggers of the workflows that were already in n8n (the emulators are new on every start). A workflow
 * whose trigger changed is saved, and published again if it was published, so the live trigger has the change.
 * @param {any} n8n @param {Emulators} emus @param {Set<string>} skip ids wired at import
 */
async function wireExistingWorkflows(n8n, emus, skip) {
	const notes = [];
	for (const summary of await n8n.listWorkflows()) {
		if (skip.has(summary.id) || summary.isArchived) continue;
		const wf = await n8n.rest('GET', `/rest/workflows/${summary.id}`);
		if (!needsWiring(wf)) continue;
		const changed = wireWorkflow(wf, emus, n8n.baseUrl);
		const published = Boolean(wf.activeVersionId || wf.active);
		// The amoCRM Trigger registers its webhook when published. On a restart n8n 2.41.1 does not register
		// webhooks again (it finds them in its database and assumes the CRM still has them), but this
		// amoCRM emulator is new: publish such workflows once more so they register with it.
		const amo = published && (wf.nodes || []).some((/** @type {any} */ n) => n.type === AMOCRM_TRIGGER && !n.disabled);
		if (!changed.length && !amo) continue;
		try {
			if (changed.length) await n8n.rest('PATCH', `/rest/workflows/${wf.id}`, { nodes: wf.nodes });
			if (amo) await n8n.unpublish(wf.id).catch(() => {});
			if (published) await n8n.publish(wf.id);
			notes.push(`"${wf.name}": ${changed.length ? `${changed.join(', ')} updated and ` : ''}${published ? `published again${amo ? ' (registers its amoCRM webhook)' : ''}` : 'saved'}`);
		} catch (e) {
			notes.push(`"${wf.name}": could not update (${e instanceof Error ? e.message.split('\n')[0] : e}); fix it in the editor`);
		}
	}
	return notes;
}

// ---------------------------------------------------------------------------------------------------------

/** @param {string[][]} rows */
function table(rows) {
	const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
	const line = (/** @type {string[]} */ r) => `  ${r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()}`;
	return [line(rows[0]), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
	if (process.argv.some((a) => a === '--touch' || a.startsWith('--touch='))) return touch();

	console.log('[sandbox] checking the n8n install (the first run installs it: several minutes)…');
	ensureN8n();
	const tgz = process.env.SANDBOX_PACKAGE_TGZ || packPackage(ROOT); // env: a tgz packed elsewhere
	const t0 = Date.now();

	const emus = await startEmulators();
	const stopEmulators = () => Promise.all(CRM_NAMES.map((crm) => emus[crm].emu.stop().catch(() => {})));
	/** @type {http.Server | undefined} */
	let admin;
	/** @type {any} */
	let n8n;
	let stopping = false;
	const shutdown = async (/** @type {number} */ code = 0) => {
		if (stopping) return;
		stopping = true;
		console.log('\n[sandbox] stopping n8n and the emulators…');
		if (admin) admin.close();
		if (n8n) await n8n.stop();
		await stopEmulators();
		process.exit(code);
	};
	process.on('SIGINT', () => void shutdown(0));
	process.on('SIGTERM', () => void shutdown(0));

	try {
		admin = /** @type {http.Server} */ (await startAdminServer(emus));
		console.log(`[sandbox] emulators up; starting n8n on port ${N8N_PORT} (user folder ${path.relative(ROOT, SANDBOX_DIR) || SANDBOX_DIR}/)…`);
		n8n = await startN8n({ userFolder: SANDBOX_DIR, port: N8N_PORT, packageTgz: tgz });
		const creds = await ensureCredentials(n8n, credentialData(emus));
		const imported = await importExamples(n8n, creds, emus);
		const notes = await wireExistingWorkflows(n8n, emus, new Set(imported.map((i) => i.id)));

		const workflows = (await n8n.listWorkflows()).filter((/** @type {any} */ w) => !w.isArchived);
		const data = credentialData(emus);
		const rows = [
			['CRM', 'emulator URL', 'credential in n8n', 'emulator login', 'seeded'],
			['Vtiger', emus.vtiger.baseUrl, `"${creds.vtiger.name}" (id ${creds.vtiger.id})`, `admin / access key ${data.vtiger.accessKey}`, emus.vtiger.seeded],
			['Bitrix24', emus.bitrix24.baseUrl, `"${creds.bitrix24.name}" (id ${creds.bitrix24.id})`, `inbound webhook ${data.bitrix24.webhookUrl}`, emus.bitrix24.seeded],
			['amoCRM', emus.amocrm.baseUrl, `"${creds.amocrm.name}" (id ${creds.amocrm.id})`, `account ${data.amocrm.accountDomain}, long-lived token`, emus.amocrm.seeded],
			['SalesMan', emus.salesman.baseUrl, `"${creds.salesman.name}" (id ${creds.salesman.id})`, `${data.salesman.login} / API key ${data.salesman.apiKey}`, emus.salesman.seeded],
		];
		console.log(`
n8n sandbox is running (n8n started in ${(n8n.startMs / 1000).toFixed(1)} s, everything in ${((Date.now() - t0) / 1000).toFixed(1)} s)
  Editor     : ${n8n.baseUrl}
  Login      : ${DEFAULT_OWNER.email} / ${DEFAULT_OWNER.password}
  Package    : ${path.basename(tgz)}

${table(rows)}

  Workflows  :${workflows.map((/** @type {any} */ w) => `\n    ${n8n.baseUrl}/workflow/${w.id}  ${w.name}${w.active || w.activeVersionId ? '  [published]' : ''}${imported.some((i) => i.id === w.id) ? '  (imported now)' : ''}`).join('') || ' none'}${notes.length ? `\n  Updated    :${notes.map((n) => `\n    ${n}`).join('')}` : ''}

  Fire events: publish a workflow in the editor (top right), then
      node scripts/sandbox.js --touch bitrix24 lead           Bitrix24 → amoCRM
      node scripts/sandbox.js --touch amocrm won              amoCRM won → SalesMan deal
      node scripts/sandbox.js --touch vtiger Accounts --update   Vtiger → Bitrix24 (polled once a minute)
      node scripts/sandbox.js --touch salesman client         SalesMan → Vtiger
      node scripts/sandbox.js --touch vtiger Leads            "Vtiger: new leads" (polled once a minute)
  n8n log    : ${path.relative(ROOT, n8n.logFile) || n8n.logFile}
Ctrl+C stops n8n and the emulators.`);
	} catch (e) {
		console.error(e instanceof Error ? e.stack || e.message : e);
		await shutdown(1);
	}
}

main().catch((e) => {
	console.error(e instanceof Error ? e.stack || e.message : e);
	process.exit(1);
});
