#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The sandbox (`npm start` runs it after the build): a real n8n with this package installed, wired to a local
 * Vtiger emulator, with the example workflows imported. Nothing leaves the machine.
 *
 *   npm start                              build, then start everything; Ctrl+C stops it all
 *   node scripts/sandbox.js                start without rebuilding
 *   node scripts/sandbox.js --touch Leads  create a record in the running sandbox's emulator (fires the trigger)
 *   node scripts/sandbox.js --touch Leads --id 10x5   update that record instead (bumps modifiedtime)
 *
 * Ports (env): N8N_PORT (5678, the editor), VTIGER_EMULATOR_PORT (8090), SANDBOX_ADMIN_PORT (8099, /touch).
 * Data: `.sandbox/` in the project (git-ignored): n8n's database, the credential and the workflows survive
 * restarts; the emulator is in memory and starts from the same deterministic seed each time.
 * Login: owner@example.com / CrmSuite!2025 (set up on the first run).
 */
const fs = require('fs');
const http = require('http');
const path = require('path');
const { ensureN8n, packPackage, startN8n, DEFAULT_OWNER } = require('./lib/n8n-server');

const ROOT = path.resolve(__dirname, '..');
const SANDBOX_DIR = path.join(ROOT, '.sandbox');
const EXAMPLES_DIR = path.join(ROOT, 'examples');
const N8N_PORT = Number(process.env.N8N_PORT || 5678);
const EMULATOR_PORT = Number(process.env.VTIGER_EMULATOR_PORT || 8090);
const ADMIN_PORT = Number(process.env.SANDBOX_ADMIN_PORT || 8099);
const CREDENTIAL_NAME = 'Vtiger Sandbox (emulator)';
const SEED = 200;

/** @param {string} name */
function arg(name) {
	const i = process.argv.indexOf(`--${name}`);
	if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
	const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
	return eq ? eq.slice(name.length + 3) : undefined;
}

/** `--touch <Module>`: ask the running sandbox to create (or, with --id, update) a record. */
async function touch(module) {
	const q = new URLSearchParams({ module });
	const id = arg('id');
	if (id) q.set('id', id);
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
	console.log(`${body.action} ${module} ${body.record.id}: ${body.record.label || ''}`);
}

/** @param {any} emu @param {string} module @param {string | undefined} id */
function touchRecord(emu, module, id) {
	if (id) {
		const record = emu.updateRecord(id, { description: `Touched by the sandbox at ${new Date().toISOString()}` });
		return { action: 'updated', record };
	}
	const [newId] = emu.seed(module, 1); // realistic fields, stamped with the emulator's clock (now)
	return { action: 'created', record: emu.getRecord(newId) };
}

/** @param {any} emu */
function startAdminServer(emu) {
	const server = http.createServer((req, res) => {
		const url = new URL(req.url || '/', 'http://127.0.0.1');
		const send = (/** @type {number} */ status, /** @type {unknown} */ body) => {
			res.writeHead(status, { 'content-type': 'application/json' });
			res.end(JSON.stringify(body));
		};
		if (url.pathname !== '/touch') return send(404, { error: 'use /touch?module=Leads[&id=10x5]' });
		const module = url.searchParams.get('module') || 'Leads';
		try {
			send(200, touchRecord(emu, module, url.searchParams.get('id') || undefined));
		} catch (e) {
			send(400, { error: e instanceof Error ? e.message : String(e) });
		}
	});
	return new Promise((resolve, reject) => {
		server.on('error', reject);
		server.listen(ADMIN_PORT, '127.0.0.1', () => resolve(server));
	});
}

/** @param {any} n8n @param {string} baseUrl @param {string} accessKey */
async function ensureCredential(n8n, baseUrl, accessKey) {
	const data = { baseUrl, username: 'admin', accessKey };
	const existing = (await n8n.listCredentials()).find((c) => c.name === CREDENTIAL_NAME && c.type === 'vtigerApi');
	if (existing) {
		// Keep it pointing at this run's emulator port.
		await n8n.rest('PATCH', `/rest/credentials/${existing.id}`, { name: CREDENTIAL_NAME, type: 'vtigerApi', data }).catch(() => {});
		return existing.id;
	}
	return n8n.createCredential({ name: CREDENTIAL_NAME, type: 'vtigerApi', data });
}

/** Import examples/*.json whose workflow name is not in n8n yet, with the sandbox credential patched in. */
async function importExamples(n8n, credentialId) {
	if (!fs.existsSync(EXAMPLES_DIR)) return [];
	const have = new Set((await n8n.listWorkflows()).map((w) => w.name));
	const todo = [];
	for (const file of fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()) {
		const wf = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
		if (have.has(wf.name)) continue;
		for (const node of wf.nodes || []) {
			if (node.credentials && node.credentials.vtigerApi) node.credentials.vtigerApi = { id: credentialId, name: CREDENTIAL_NAME };
		}
		todo.push(wf);
	}
	if (!todo.length) return [];
	const ids = await n8n.importWorkflows(todo);
	return todo.map((wf, i) => ({ id: ids[i], name: wf.name }));
}

async function main() {
	const touchModule = arg('touch');
	if (touchModule) return touch(touchModule);

	const { createVtigerEmulator } = require(path.join(ROOT, 'test', 'emulators', 'vtiger', 'server.js'));
	console.log('[sandbox] checking the n8n install (the first run installs it: several minutes)…');
	ensureN8n();
	const tgz = process.env.SANDBOX_PACKAGE_TGZ || packPackage(ROOT); // env: a tgz packed elsewhere

	const emu = createVtigerEmulator();
	const from = { createdtime: '2025-01-01 09:00:00', stepSeconds: 3600 };
	const accountIds = emu.seed('Accounts', SEED, from);
	emu.seed('Contacts', SEED, { ...from, accountIds });
	emu.seed('Leads', SEED, from);
	emu.seed('Potentials', SEED, { ...from, accountIds });
	const emulatorUrl = await emu.start(EMULATOR_PORT);
	const accessKey = emu.accessKeyFor('admin');
	const admin = /** @type {http.Server} */ (await startAdminServer(emu));

	console.log(`[sandbox] starting n8n on port ${N8N_PORT} (user folder ${path.relative(ROOT, SANDBOX_DIR)}/)…`);
	const n8n = await startN8n({ userFolder: SANDBOX_DIR, port: N8N_PORT, packageTgz: tgz });
	const credentialId = await ensureCredential(n8n, emulatorUrl, accessKey);
	const imported = await importExamples(n8n, credentialId);

	let stopping = false;
	const shutdown = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\n[sandbox] stopping n8n and the emulator…');
		admin.close();
		await n8n.stop();
		await emu.stop();
		process.exit(0);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);

	const workflows = await n8n.listWorkflows();
	console.log(`
n8n sandbox is running (started in ${(n8n.startMs / 1000).toFixed(1)} s)
  Editor     : ${n8n.baseUrl}
  Login      : ${DEFAULT_OWNER.email} / ${DEFAULT_OWNER.password}
  Credential : "${CREDENTIAL_NAME}" (Vtiger API, id ${credentialId})
  Vtiger     : emulator at ${emulatorUrl}  user admin  access key ${accessKey}
               seeded ${SEED} each of Accounts, Contacts, Leads, Potentials
  Workflows  :${workflows.map((w) => `\n    ${n8n.baseUrl}/workflow/${w.id}  ${w.name}${imported.some((i) => i.id === w.id) ? '  (imported now)' : ''}`).join('') || ' none'}
  Fire the trigger: publish "Vtiger: new leads" in the editor, then
      node scripts/sandbox.js --touch Leads         (a new lead; the trigger polls once a minute)
  n8n log    : ${path.relative(ROOT, n8n.logFile)}
Ctrl+C stops n8n and the emulator.`);
}

main().catch((e) => {
	console.error(e instanceof Error ? e.stack || e.message : e);
	process.exit(1);
});
