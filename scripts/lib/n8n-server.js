// @ts-check
'use strict';
/**
 * Drive a real n8n (the pinned version installed by scripts/ensure-n8n.sh) from tests and scripts.
 * Plain CommonJS, Node's standard library only: runs under Node 20 (jest, scripts); n8n itself runs
 * under the Node 24 that ensure-n8n.sh installs next to it.
 *
 *   const { ensureN8n, packPackage, startN8n } = require('./scripts/lib/n8n-server');
 *   const tgz = packPackage(projectDir);
 *   const n8n = await startN8n({ userFolder, packageTgz: tgz });
 *   const credId = await n8n.createCredential({ name, type, data });
 *   const wfId = await n8n.importWorkflow(workflowJson);
 *   const { items } = await n8n.execute(wfId);           // `n8n execute --id --rawOutput`
 *   await n8n.publish(wfId); await n8n.waitForExecutions(wfId, 1, 75_000);
 *   await n8n.restart(); await n8n.stop();
 *
 * Queue mode (Redis + Postgres from scripts/queue-services.sh): pass `env: queueModeEnv(servicesEnv)` to startN8n
 * and to `startWorker({ userFolder, mainPort: n8n.port, packageTgz, env })` for each worker.
 */
const { spawn, spawnSync, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const ENSURE_SCRIPT = path.join(PROJECT_DIR, 'scripts', 'ensure-n8n.sh');
const PACKAGE_NAME = 'n8n-nodes-crm-suite';

/** Fixed so that credentials stay readable across restarts of the same user folder. Test-only key. */
const ENCRYPTION_KEY = 'n8n-crm-suite-local-encryption-key-not-secret';

/** The owner every started instance gets (documented in the README for the sandbox). */
const DEFAULT_OWNER = Object.freeze({
	email: 'owner@example.com',
	firstName: 'Sandbox',
	lastName: 'Owner',
	password: 'CrmSuite!2025',
});

/** @typedef {{ n8nBin: string, nodeBin: string, dir: string }} N8nInstall */

/** @type {N8nInstall | undefined} */
let cachedInstall;

/**
 * Install the pinned n8n once (cached outside the clone), return where it is.
 * @returns {N8nInstall}
 */
function ensureN8n() {
	if (cachedInstall) return cachedInstall;
	const res = spawnSync('bash', [ENSURE_SCRIPT], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
	});
	if (res.status !== 0) {
		throw new Error(`scripts/ensure-n8n.sh failed (exit ${res.status}); see its output above`);
	}
	const dir = res.stdout.trim().split('\n').pop() || '';
	const install = {
		dir,
		n8nBin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
		nodeBin: path.join(dir, 'node_modules', 'node', 'bin', 'node'),
	};
	for (const f of [install.n8nBin, install.nodeBin]) {
		if (!fs.existsSync(f)) throw new Error(`ensure-n8n.sh reported ${dir} but ${f} is missing`);
	}
	cachedInstall = install;
	return install;
}

/**
 * `npm pack` the (already built) package into a fresh temp folder.
 * @param {string} [projectDir]
 * @returns {string} absolute path of the .tgz
 */
function packPackage(projectDir = PROJECT_DIR) {
	if (!fs.existsSync(path.join(projectDir, 'dist'))) {
		throw new Error(`${projectDir}/dist does not exist: run \`npm run build\` first`);
	}
	// n8n 2.41.1 drops the whole package, logging nothing at level info, when one file listed in the
	// package.json "n8n" section is missing: say which one instead.
	const pkg = JSON.parse(fs.readFileSync(path.join(projectDir, 'package.json'), 'utf8'));
	const listed = [...((pkg.n8n && pkg.n8n.nodes) || []), ...((pkg.n8n && pkg.n8n.credentials) || [])];
	const missing = listed.filter((/** @type {string} */ f) => !fs.existsSync(path.join(projectDir, f)));
	if (missing.length) {
		throw new Error(`package.json "n8n" lists files that are not built: ${missing.join(', ')} (run \`npm run build\`)`);
	}
	const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-crm-suite-pack-'));
	const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
		cwd: projectDir,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const info = JSON.parse(out.slice(out.indexOf('[')));
	return path.join(dest, info[0].filename);
}

/**
 * A free TCP port on loopback.
 * @returns {Promise<number>}
 */
function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			const port = typeof addr === 'object' && addr ? addr.port : 0;
			srv.close(() => resolve(port));
		});
	});
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A 16-character id of the kind n8n uses for workflows. */
function newWorkflowId() {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	let id = '';
	for (const b of crypto.randomBytes(16)) id += abc[b % abc.length];
	return id;
}

/**
 * Put the package into `<userFolder>/.n8n/nodes` the way n8n's community-package installer leaves it.
 * @param {string} userFolder
 * @param {string} tgz
 * @returns {string} the package name
 */
function installCommunityPackage(userFolder, tgz) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const staging = path.join(nodesDir, `.extract-${process.pid}`);
	fs.rmSync(staging, { recursive: true, force: true });
	fs.mkdirSync(staging, { recursive: true });
	execFileSync('tar', ['-xzf', tgz, '--strip-components=1', '-C', staging]);
	const { name, version } = JSON.parse(fs.readFileSync(path.join(staging, 'package.json'), 'utf8'));
	const target = path.join(nodesDir, 'node_modules', name);
	fs.rmSync(target, { recursive: true, force: true });
	fs.mkdirSync(path.dirname(target), { recursive: true });
	fs.renameSync(staging, target);
	const pkgFile = path.join(nodesDir, 'package.json');
	/** @type {any} */
	let pkg = { name: 'installed-nodes', private: true, dependencies: {} };
	if (fs.existsSync(pkgFile)) {
		try {
			pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
		} catch {}
	}
	pkg.dependencies = { ...(pkg.dependencies || {}), [name]: version };
	fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
	return name;
}

/** Children still running when this process exits get killed (jest crash, Ctrl+C in a script). */
const liveChildren = new Set();
process.on('exit', () => {
	for (const pid of liveChildren) {
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {}
	}
});

/**
 * The environment of every n8n process of one instance (server, CLI commands, queue-mode workers).
 * @param {N8nInstall} install
 * @param {{ userFolder: string, port: number, brokerPort: number, env?: Record<string,string>, extra?: Record<string,string> }} o
 * @returns {Record<string,string|undefined>}
 */
function n8nEnv(install, o) {
	const { userFolder, port, brokerPort } = o;
	const baseUrl = `http://127.0.0.1:${port}`;
	/** @type {Record<string,string|undefined>} */
	const env = { ...process.env };
	// Never leak the jest/in-process harness settings of the parent into the server.
	for (const k of Object.keys(env)) if (/^(N8N_|DB_|JEST_|NODE_OPTIONS$|NODE_PATH$)/.test(k)) delete env[k];
	// jest sets NODE_ENV=test, with which n8n 2.41.1 exits with code 1 and prints nothing.
	delete env.NODE_ENV;
	return {
		...env,
		PATH: `${path.dirname(install.nodeBin)}${path.delimiter}${env.PATH || ''}`,
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: ENCRYPTION_KEY,
		N8N_PORT: String(port),
		N8N_HOST: '127.0.0.1',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: baseUrl,
		WEBHOOK_URL: `${baseUrl}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_OUTPUT: 'console',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		...(o.env || {}),
		...(o.extra || {}),
	};
}

/**
 * @typedef {object} StartOptions
 * @property {string} userFolder         N8N_USER_FOLDER (created if missing; n8n keeps its data in `.n8n/` inside)
 * @property {number} [port]             editor/REST port (default: a free one)
 * @property {string} [packageTgz]       package to install as a community package before starting
 * @property {Record<string,string>} [env] extra environment for n8n and its CLI commands
 * @property {{email:string,password:string,firstName?:string,lastName?:string}} [owner]
 * @property {number} [readyTimeoutMs]   default 90 s
 */

/**
 * Start `n8n start`, wait until ready, set up the owner (first run) and log in.
 * @param {StartOptions} opts
 */
async function startN8n(opts) {
	const install = ensureN8n();
	const userFolder = path.resolve(opts.userFolder);
	fs.mkdirSync(userFolder, { recursive: true });
	if (opts.packageTgz) installCommunityPackage(userFolder, opts.packageTgz);
	const port = opts.port || (await freePort());
	const brokerPort = await freePort();
	const owner = { ...DEFAULT_OWNER, ...(opts.owner || {}) };
	const baseUrl = `http://127.0.0.1:${port}`;
	const logFile = path.join(userFolder, 'n8n.log');
	const flatted = require(path.join(install.dir, 'node_modules', 'flatted'));

	/** @param {Record<string,string>} [extra] */
	const makeEnv = (extra) => n8nEnv(install, { userFolder, port, brokerPort, env: opts.env, extra });

	/** @type {import('child_process').ChildProcess | undefined} */
	let child;
	/** @type {Promise<number|null> | undefined} */
	let exited;
	let logStart = 0;
	let cookie = '';

	const logTail = (lines = 60) => {
		try {
			const text = fs.readFileSync(logFile, 'utf8').slice(logStart);
			return text.split('\n').slice(-lines).join('\n');
		} catch {
			return '(no log)';
		}
	};
	const fullLog = () => {
		try {
			return fs.readFileSync(logFile, 'utf8');
		} catch {
			return '';
		}
	};

	/**
	 * @param {string} method
	 * @param {string} p  path, e.g. `/rest/workflows`
	 * @param {unknown} [body]
	 * @param {{ raw?: boolean, cookie?: boolean }} [o]
	 */
	async function request(method, p, body, o = {}) {
		/** @type {Record<string,string>} */
		const headers = { accept: 'application/json', 'browser-id': 'n8n-crm-suite-e2e' };
		if (body !== undefined) headers['content-type'] = 'application/json';
		if (cookie && o.cookie !== false) headers.cookie = cookie;
		const res = await fetch(baseUrl + p, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const setCookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
		for (const c of setCookies) {
			const m = /^n8n-auth=([^;]*)/.exec(c);
			if (m && m[1]) cookie = `n8n-auth=${m[1]}`;
		}
		const text = await res.text();
		/** @type {any} */
		let json;
		try {
			json = text ? JSON.parse(text) : undefined;
		} catch {
			json = undefined;
		}
		if (o.raw) return { status: res.status, body: json, text };
		if (!res.ok) {
			throw new Error(`${method} ${p} -> HTTP ${res.status}: ${text.slice(0, 500)}`);
		}
		return json && typeof json === 'object' && 'data' in json ? json.data : json;
	}

	async function waitReady(timeoutMs = opts.readyTimeoutMs || 90_000) {
		const t0 = Date.now();
		while (Date.now() - t0 < timeoutMs) {
			if (child && child.exitCode !== null) {
				throw new Error(`n8n exited with code ${child.exitCode} before it was ready:\n${logTail()}`);
			}
			try {
				const res = await fetch(`${baseUrl}/healthz/readiness`);
				if (res.ok) return Date.now() - t0;
			} catch {}
			await sleep(200);
		}
		throw new Error(`n8n was not ready after ${timeoutMs} ms:\n${logTail()}`);
	}

	async function loginOrSetup() {
		const settings = await request('GET', '/rest/settings');
		if (settings && settings.userManagement && settings.userManagement.showSetupOnFirstLoad) {
			await request('POST', '/rest/owner/setup', {
				email: owner.email,
				firstName: owner.firstName,
				lastName: owner.lastName,
				password: owner.password,
			});
		}
		await request('POST', '/rest/login', { emailOrLdapLoginId: owner.email, password: owner.password });
		if (!cookie) throw new Error('login did not return the n8n-auth cookie');
	}

	async function launch() {
		logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
		const fd = fs.openSync(logFile, 'a');
		const t0 = Date.now();
		child = spawn(install.nodeBin, [install.n8nBin, 'start'], {
			cwd: userFolder,
			env: makeEnv(),
			stdio: ['ignore', fd, fd],
			detached: true, // own process group: stop() can take the task runners along
		});
		fs.closeSync(fd);
		const pid = /** @type {number} */ (child.pid);
		liveChildren.add(pid);
		const c = child;
		exited = new Promise((resolve) => c.on('exit', (code) => {
			liveChildren.delete(pid);
			resolve(code);
		}));
		handle.readyMs = await waitReady();
		await loginOrSetup();
		handle.startMs = Date.now() - t0;
	}

	async function stop() {
		const c = child;
		if (!c || c.exitCode !== null || c.signalCode !== null) return;
		const pid = /** @type {number} */ (c.pid);
		try {
			process.kill(pid, 'SIGTERM');
		} catch {}
		/** @type {NodeJS.Timeout | undefined} */
		let timer;
		const done = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
		clearTimeout(timer);
		if (done === 'timeout') {
			try {
				process.kill(-pid, 'SIGKILL');
			} catch {}
			await exited;
		}
		// Task-runner children left in the group (should be none after a clean shutdown).
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {}
		liveChildren.delete(pid);
		child = undefined;
	}

	/**
	 * Run an n8n CLI command against the same user folder/database (own task-broker port).
	 * @param {string[]} args
	 * @param {{ env?: Record<string,string>, timeoutMs?: number }} [o]
	 * @returns {Promise<{ code: number|null, stdout: string, stderr: string, ms: number }>}
	 */
	async function cli(args, o = {}) {
		const env = makeEnv({ N8N_RUNNERS_BROKER_PORT: String(await freePort()), ...(o.env || {}) });
		const t0 = Date.now();
		// stdout goes to a file, not a pipe: n8n commands print and then call process.exit(), which cuts off
		// whatever a pipe had not taken yet (`execute --rawOutput` of 3,000 Bitrix24 leads, 10 MB, arrived cut off).
		// Writes to a file are synchronous in Node, so the file gets everything.
		const outFile = path.join(userFolder, `.cli-stdout-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
		const outFd = fs.openSync(outFile, 'w');
		return new Promise((resolve, reject) => {
			/** @type {import('child_process').ChildProcessByStdio<null, null, import('stream').Readable>} */
			let p;
			try {
				p = spawn(install.nodeBin, [install.n8nBin, ...args], { cwd: userFolder, env, detached: true, stdio: ['ignore', outFd, 'pipe'] });
			} finally {
				fs.closeSync(outFd);
			}
			liveChildren.add(p.pid);
			let stderr = '';
			p.stderr.on('data', (d) => (stderr += d));
			const timer = setTimeout(() => {
				try {
					process.kill(-(/** @type {number} */ (p.pid)), 'SIGKILL');
				} catch {}
			}, o.timeoutMs || 120_000);
			p.on('error', (e) => {
				fs.rmSync(outFile, { force: true });
				reject(e);
			});
			p.on('close', (code) => {
				clearTimeout(timer);
				liveChildren.delete(p.pid);
				try {
					process.kill(-(/** @type {number} */ (p.pid)), 'SIGKILL');
				} catch {}
				let stdout = '';
				try {
					stdout = fs.readFileSync(outFile, 'utf8');
				} catch {}
				fs.rmSync(outFile, { force: true });
				resolve({ code, stdout, stderr, ms: Date.now() - t0 });
			});
		});
	}

	/**
	 * @param {{ name: string, type: string, data: Record<string, unknown> }} cred
	 * @returns {Promise<string>} credential id
	 */
	async function createCredential(cred) {
		const res = await request('POST', '/rest/credentials', cred);
		return res.id;
	}

	/**
	 * The editor's "Test" button on a credential: n8n runs the credential type's test (its test request or the
	 * node's credentialTest method) and answers { status: 'OK' | 'Error', message }.
	 * @param {{ id: string, name: string, type: string, data: Record<string, unknown> }} cred
	 * @returns {Promise<{ status: string, message: string }>}
	 */
	async function testCredential(cred) {
		return request('POST', '/rest/credentials/test', { credentials: cred });
	}

	/** @returns {Promise<Array<{id:string,name:string,type:string}>>} */
	async function listCredentials() {
		return request('GET', '/rest/credentials');
	}

	/**
	 * Import workflows with one `n8n import:workflow --separate` (works while the server runs; ~3 s per CLI call,
	 * so import several at once). Each gets an id if it has none.
	 * @param {any[]} workflows
	 * @returns {Promise<string[]>} workflow ids, in order
	 */
	async function importWorkflows(workflows) {
		const dir = path.join(userFolder, 'imports', `batch-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`);
		fs.mkdirSync(dir, { recursive: true });
		const ids = workflows.map((workflow) => {
			const wf = { active: false, settings: { executionOrder: 'v1' }, connections: {}, ...workflow };
			if (!wf.id) wf.id = newWorkflowId();
			fs.writeFileSync(path.join(dir, `${wf.id}.json`), JSON.stringify(wf, null, 2));
			return wf.id;
		});
		const r = await cli(['import:workflow', '--separate', `--input=${dir}`]);
		if (r.code !== 0) {
			throw new Error(`import:workflow failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
		}
		return ids;
	}

	/**
	 * Import one workflow with `n8n import:workflow`.
	 * @param {any} workflow
	 * @returns {Promise<string>} workflow id
	 */
	async function importWorkflow(workflow) {
		return (await importWorkflows([workflow]))[0];
	}

	/** @returns {Promise<any[]>} */
	async function listWorkflows() {
		const res = await request('GET', '/rest/workflows');
		return Array.isArray(res) ? res : [];
	}

	/**
	 * @param {string} workflowId
	 * @param {number} [timeoutMs]
	 */
	async function publish(workflowId, timeoutMs = 30_000) {
		const wf = await request('GET', `/rest/workflows/${workflowId}`);
		await request('POST', `/rest/workflows/${workflowId}/activate`, { versionId: wf.versionId });
		const t0 = Date.now();
		/** @type {any} */
		let status;
		while (Date.now() - t0 < timeoutMs) {
			status = await request('GET', `/rest/workflows/${workflowId}/publication-status`);
			if (status && status.status === 'published') {
				const bad = (status.triggers || []).filter((/** @type {any} */ t) => t.status !== 'activated');
				if (bad.length) throw new Error(`publish ${workflowId}: trigger not activated: ${JSON.stringify(status)}`);
				return status;
			}
			if (status && /error|fail/i.test(String(status.status))) break;
			await sleep(250);
		}
		throw new Error(`publish ${workflowId}: ${JSON.stringify(status)}\n${logTail()}`);
	}

	/** @param {string} workflowId */
	async function unpublish(workflowId) {
		return request('POST', `/rest/workflows/${workflowId}/deactivate`, {});
	}

	/**
	 * Executions of a workflow, newest first, each with its full run data (flatted decoded).
	 * @param {string} workflowId
	 * @returns {Promise<Array<{id:string,status:string,mode:string,startedAt:string,stoppedAt?:string,data:any}>>}
	 */
	async function executions(workflowId) {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		/** @type {any[]} */
		const results = [];
		for (let lastId = ''; ; ) {
			// The list is newest first, at most 100 a page; `lastId` pages towards older ones.
			const page = await request('GET', `/rest/executions?limit=100&filter=${filter}${lastId ? `&lastId=${lastId}` : ''}`);
			const rows = (page && page.results) || [];
			results.push(...rows);
			if (rows.length < 100) break;
			lastId = rows[rows.length - 1].id;
		}
		const out = [];
		for (const r of results) {
			if (['running', 'new', 'waiting'].includes(r.status)) continue;
			const full = await request('GET', `/rest/executions/${r.id}`);
			const data = typeof full.data === 'string' ? flatted.parse(full.data) : full.data;
			out.push({ id: r.id, status: full.status || r.status, mode: full.mode || r.mode, startedAt: r.startedAt, stoppedAt: full.stoppedAt, data });
		}
		return out;
	}

	/**
	 * Poll until the workflow has at least `n` finished executions (optionally only those matching `filter`).
	 * @param {string} workflowId
	 * @param {number} n
	 * @param {number} [timeoutMs]
	 * @param {(e: any) => boolean} [filter]
	 */
	async function waitForExecutions(workflowId, n, timeoutMs = 30_000, filter = () => true) {
		const t0 = Date.now();
		let list = [];
		for (;;) {
			list = (await executions(workflowId)).filter(filter);
			if (list.length >= n) return list;
			if (Date.now() - t0 > timeoutMs) {
				throw new Error(`waited ${timeoutMs} ms for ${n} execution(s) of ${workflowId}, have ${list.length}:\n${logTail(30)}`);
			}
			await sleep(1000);
		}
	}

	/**
	 * `n8n execute --id=<id> --rawOutput`, parsed.
	 * @param {string} workflowId
	 * @param {{ timeoutMs?: number }} [o]  the CLI is killed after this (default 120 s)
	 * @returns {Promise<{ code: number|null, stdout: string, stderr: string, ms: number, output: any }>}
	 */
	async function execute(workflowId, o = {}) {
		const r = await cli(['execute', `--id=${workflowId}`, '--rawOutput'], o);
		return { ...r, output: parseExecuteOutput(r.stdout) };
	}

	/**
	 * The node types the editor knows (`/types/nodes.json`; needs the login cookie in 2.41.1).
	 * @returns {Promise<any[]>}
	 */
	async function nodeTypes() {
		return request('GET', '/types/nodes.json');
	}

	/** @returns {Promise<any[]>} credential types (`/types/credentials.json`) */
	async function credentialTypes() {
		return request('GET', '/types/credentials.json');
	}

	async function restart() {
		await stop();
		await launch();
	}

	const handle = {
		baseUrl,
		port,
		userFolder,
		logFile,
		owner,
		install,
		/** ms from spawn to logged in (last start) */
		startMs: 0,
		/** ms from spawn to /healthz/readiness 200 (last start) */
		readyMs: 0,
		rest: (/** @type {string} */ method, /** @type {string} */ p, /** @type {unknown} */ body) => request(method, p, body),
		request,
		createCredential,
		testCredential,
		listCredentials,
		importWorkflow,
		importWorkflows,
		listWorkflows,
		publish,
		unpublish,
		executions,
		waitForExecutions,
		nodeTypes,
		credentialTypes,
		execute,
		cli,
		stop,
		restart,
		logTail,
		fullLog,
		get cookie() {
			return cookie;
		},
		get pid() {
			return child ? child.pid : undefined;
		},
	};

	try {
		await launch();
	} catch (e) {
		await stop();
		throw e;
	}
	return handle;
}

/**
 * The environment n8n's queue mode needs on main, workers and CLI commands, from the env lines that
 * `scripts/queue-services.sh start` prints (QUEUE_BULL_REDIS_*, DB_POSTGRESDB_*).
 * @param {Record<string,string|undefined>} services
 * @returns {Record<string,string>}
 */
function queueModeEnv(services) {
	/** @type {Record<string,string>} */
	const env = { EXECUTIONS_MODE: 'queue', DB_TYPE: 'postgresdb' };
	for (const [k, v] of Object.entries(services)) {
		if (v !== undefined && /^(QUEUE_BULL_REDIS_|DB_POSTGRESDB_)/.test(k)) env[k] = String(v);
	}
	for (const k of ['QUEUE_BULL_REDIS_PORT', 'DB_POSTGRESDB_PORT']) {
		if (!env[k]) throw new Error(`queueModeEnv: ${k} is missing (run scripts/queue-services.sh start)`);
	}
	return env;
}

/**
 * @typedef {object} WorkerOptions
 * @property {string} userFolder         the worker's own N8N_USER_FOLDER (created if missing)
 * @property {number} mainPort           the main instance's port (its webhook/editor URLs, as main has them)
 * @property {string} [packageTgz]       install this community package into the worker's user folder first
 * @property {Record<string,string>} [env] extra environment (the queue-mode env: see queueModeEnv)
 * @property {number} [concurrency]      `n8n worker --concurrency` (default 10, n8n's default)
 * @property {number} [readyTimeoutMs]   default 90 s
 */

/**
 * Start a queue-mode `n8n worker` with its own task-broker port and health-check port, and wait until
 * `GET /healthz/readiness` on that port answers 200.
 * @param {WorkerOptions} opts
 */
async function startWorker(opts) {
	const install = ensureN8n();
	const userFolder = path.resolve(opts.userFolder);
	fs.mkdirSync(userFolder, { recursive: true });
	if (opts.packageTgz) installCommunityPackage(userFolder, opts.packageTgz);
	const healthPort = await freePort();
	const brokerPort = await freePort();
	const logFile = path.join(userFolder, 'n8n-worker.log');
	const env = n8nEnv(install, {
		userFolder,
		port: opts.mainPort,
		brokerPort,
		env: opts.env,
		extra: { QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort) },
	});
	const fd = fs.openSync(logFile, 'a');
	const t0 = Date.now();
	const child = spawn(install.nodeBin, [install.n8nBin, 'worker', `--concurrency=${opts.concurrency || 10}`], {
		cwd: userFolder,
		env,
		stdio: ['ignore', fd, fd],
		detached: true,
	});
	fs.closeSync(fd);
	const pid = /** @type {number} */ (child.pid);
	liveChildren.add(pid);
	/** @type {Promise<number|null>} */
	const exited = new Promise((resolve) => child.on('exit', (code) => {
		liveChildren.delete(pid);
		resolve(code);
	}));
	const fullLog = () => {
		try {
			return fs.readFileSync(logFile, 'utf8');
		} catch {
			return '';
		}
	};
	const logTail = (lines = 60) => fullLog().split('\n').slice(-lines).join('\n');

	async function stop() {
		if (child.exitCode !== null || child.signalCode !== null) return;
		try {
			process.kill(pid, 'SIGTERM');
		} catch {}
		/** @type {NodeJS.Timeout | undefined} */
		let timer;
		const done = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
		clearTimeout(timer);
		if (done === 'timeout') {
			try {
				process.kill(-pid, 'SIGKILL');
			} catch {}
			await exited;
		}
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {}
		liveChildren.delete(pid);
	}

	const readyTimeoutMs = opts.readyTimeoutMs || 90_000;
	let readyMs = 0;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`n8n worker exited with code ${child.exitCode} before it was ready:\n${logTail()}`);
		try {
			const res = await fetch(`http://127.0.0.1:${healthPort}/healthz/readiness`);
			if (res.ok) {
				readyMs = Date.now() - t0;
				break;
			}
		} catch {}
		if (Date.now() - t0 > readyTimeoutMs) {
			await stop();
			throw new Error(`n8n worker was not ready after ${readyTimeoutMs} ms:\n${logTail()}`);
		}
		await sleep(200);
	}
	return {
		pid,
		userFolder,
		logFile,
		healthPort,
		brokerPort,
		/** ms from spawn to /healthz/readiness 200 */
		readyMs,
		fullLog,
		logTail,
		/**
		 * Execution ids this worker logged as started ("Worker started execution <id> (job <n>)").
		 * @returns {string[]}
		 */
		startedExecutions() {
			return [...fullLog().matchAll(/Worker started execution (\S+) \(job/g)].map((m) => m[1]);
		},
		/**
		 * Execution ids this worker logged as finished ("Worker finished execution <id> (job <n>)").
		 * @returns {string[]}
		 */
		finishedExecutions() {
			return [...fullLog().matchAll(/Worker finished execution (\S+) \(job/g)].map((m) => m[1]);
		},
		stop,
	};
}

/**
 * `n8n execute --rawOutput` prints the execution (`{ data: { resultData }, status, mode, … }`) as JSON between
 * log lines; on a failed run (exit 1) after "Execution error:" and a line of "=". Take the first top-level JSON
 * object that starts a line.
 * @param {string} stdout
 */
function parseExecuteOutput(stdout) {
	for (let i = 0; i < stdout.length; i++) {
		if (stdout[i] !== '{' || (i > 0 && stdout[i - 1] !== '\n')) continue;
		const end = matchingBrace(stdout, i);
		if (end < 0) continue;
		try {
			return JSON.parse(stdout.slice(i, end + 1));
		} catch {}
	}
	return undefined;
}

/**
 * Index of the brace closing the JSON object that opens at `start` (strings and escapes respected), or -1.
 * @param {string} text
 * @param {number} start
 */
function matchingBrace(text, start) {
	let depth = 0;
	let inString = false;
	for (let i = start; i < text.length; i++) {
		const c = text[i];
		if (inString) {
			if (c === '\\') i++;
			else if (c === '"') inString = false;
		} else if (c === '"') inString = true;
		else if (c === '{' || c === '[') depth++;
		else if (c === '}' || c === ']') {
			depth--;
			if (depth === 0) return i;
		}
	}
	return -1;
}

/**
 * Items a node produced in a run (`runData[node][runIndex].data.main[output]`), as plain json objects.
 * Works for both `execute --rawOutput` output and REST execution data.
 * @param {any} run  IRun / execution data (`{ resultData: { runData } }` or `{ data: { resultData } }`)
 * @param {string} nodeName
 * @param {{ runIndex?: number, output?: number }} [o]
 * @returns {any[]}
 */
function nodeItems(run, nodeName, o = {}) {
	const resultData = (run && (run.resultData || (run.data && run.data.resultData))) || {};
	const runs = (resultData.runData || {})[nodeName] || [];
	const r = runs[o.runIndex || 0];
	if (!r) return [];
	if (r.error && !r.data) return [];
	const main = (r.data && r.data.main) || [];
	return (main[o.output || 0] || []).map((/** @type {any} */ i) => i.json);
}

/**
 * The error (if any) a run ended with.
 * @param {any} run
 */
function runError(run) {
	const resultData = (run && (run.resultData || (run.data && run.data.resultData))) || {};
	return resultData.error;
}

module.exports = {
	ensureN8n,
	packPackage,
	startN8n,
	startWorker,
	queueModeEnv,
	freePort,
	installCommunityPackage,
	parseExecuteOutput,
	nodeItems,
	runError,
	newWorkflowId,
	ENCRYPTION_KEY,
	DEFAULT_OWNER,
	PACKAGE_NAME,
};
