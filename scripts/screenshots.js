#!/usr/bin/env node
'use strict';
/**
 * Screenshots of the n8n editor for docs/getting-started.md (docs/images/*.png), taken from a running sandbox.
 *
 *   1. start a sandbox:  npm start   (or with SANDBOX_DIR, N8N_PORT, … as in the README)
 *   2. in another terminal:
 *        PUPPETEER_CORE=/path/to/node_modules/puppeteer-core \
 *        /path/to/node24 scripts/screenshots.js
 *
 * Not a dependency of the package: puppeteer-core (25.x needs Node 22.12 or later; it downloads no browser) is
 * installed outside the project, e.g. `cd ~/.cache/n8n-crm-suite/puppeteer && npm install puppeteer-core@25`,
 * and the browser is the system Chromium (`apt-get install chromium`).
 *
 * Env: N8N_URL (http://127.0.0.1:$N8N_PORT, default port 5678), N8N_EMAIL / N8N_PASSWORD (the sandbox owner),
 * SANDBOX_ADMIN_PORT (passed on to `--touch`), CHROMIUM (/usr/bin/chromium), PUPPETEER_CORE (where
 * puppeteer-core is; default ~/.cache/n8n-crm-suite/puppeteer/node_modules/puppeteer-core), OUT (docs/images),
 * ONLY (comma-separated names of the shots to take, e.g. ONLY=node-panel).
 *
 * The `execution` shot (05 and 06) publishes "Bitrix24 new lead → amoCRM lead with contact" and fires `--touch bitrix24 lead`; the workflow
 * stays published. For pictures like the ones in the docs (one execution in the list), run it against a fresh
 * sandbox (a new SANDBOX_DIR).
 *
 * What is hidden so it does not cover the subject: toasts, the Overview's insights summary (all zeros), the
 * floating "Open chat" button of the AI agent, and the "Editing in another tab" pill that n8n shows while the
 * earlier shots' tabs still hold the workflow's edit lock.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const BASE = (process.env.N8N_URL || `http://127.0.0.1:${process.env.N8N_PORT || 5678}`).replace(/\/$/, '');
const EMAIL = process.env.N8N_EMAIL || 'owner@example.com';
const PASSWORD = process.env.N8N_PASSWORD || 'CrmSuite!2025';
const OUT = path.resolve(process.env.OUT || path.join(ROOT, 'docs', 'images'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PUPPETEER_CORE =
	process.env.PUPPETEER_CORE || path.join(os.homedir(), '.cache', 'n8n-crm-suite', 'puppeteer', 'node_modules', 'puppeteer-core');
const ONLY = process.env.ONLY ? process.env.ONLY.split(',') : null;
const VIEWPORT = { width: 1440, height: 900 };

const WF = {
	bitrix24ToAmo: 'Bitrix24 new lead → amoCRM lead with contact',
	aiAgent: 'AI agent: the four CRMs as tools',
};

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const log = (/** @type {string} */ s) => console.log(`[screenshots] ${s}`);

let cookie = '';

/** A REST call to n8n with the session cookie. */
async function rest(/** @type {string} */ method, /** @type {string} */ url, /** @type {unknown} */ body) {
	const res = await fetch(`${BASE}${url}`, {
		method,
		headers: { 'content-type': 'application/json', ...(cookie ? { cookie: `n8n-auth=${cookie}` } : {}) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
	const setCookie = res.headers.getSetCookie ? res.headers.getSetCookie() : [];
	for (const c of setCookie) {
		const m = /^n8n-auth=([^;]+)/.exec(c);
		if (m) cookie = m[1];
	}
	const json = text ? JSON.parse(text) : {};
	return json && typeof json === 'object' && 'data' in json ? json.data : json;
}

async function login() {
	await rest('POST', '/rest/login', { emailOrLdapLoginId: EMAIL, password: PASSWORD });
	if (!cookie) throw new Error('login: no n8n-auth cookie in the answer');
}

async function workflowByName(/** @type {string} */ name) {
	const list = await rest('GET', '/rest/workflows');
	const wf = (Array.isArray(list) ? list : list.data || []).find((/** @type {any} */ w) => w.name === name && !w.isArchived);
	if (!wf) throw new Error(`no workflow named "${name}" in n8n: is this the sandbox?`);
	return rest('GET', `/rest/workflows/${wf.id}`);
}

async function publish(/** @type {any} */ wf) {
	if (!(wf.active || wf.activeVersionId)) await rest('POST', `/rest/workflows/${wf.id}/activate`, { versionId: wf.versionId });
	for (let i = 0; i < 60; i++) {
		const s = await rest('GET', `/rest/workflows/${wf.id}/publication-status`).catch(() => null);
		if (s && s.status === 'published' && (s.triggers || []).every((/** @type {any} */ t) => t.status === 'activated')) return;
		await sleep(500);
	}
	throw new Error(`"${wf.name}" was not published within 30 s`);
}

async function executions(/** @type {string} */ workflowId) {
	const filter = encodeURIComponent(JSON.stringify({ workflowId }));
	const r = await rest('GET', `/rest/executions?limit=20&filter=${filter}`);
	return r.results || [];
}

/** CSS that hides what covers the canvas in a screenshot: toasts, the "production checklist" and other popovers. */
const HIDE_CSS = `
	.el-notification, .el-message, [data-test-id="notification"] { display: none !important; }
	[data-test-id="ask-assistant-floating-button"] { display: none !important; }
`;

async function newPage(/** @type {any} */ browser) {
	const page = await browser.newPage();
	await page.setViewport(VIEWPORT);
	return page;
}

async function settle(/** @type {any} */ page, /** @type {number} */ ms = 1500) {
	await page.addStyleTag({ content: HIDE_CSS }).catch(() => {});
	await page.mouse.move(VIEWPORT.width - 5, VIEWPORT.height - 5); // no hover tooltips
	await sleep(ms);
}

async function shot(/** @type {any} */ page, /** @type {string} */ name) {
	const file = path.join(OUT, `${name}.png`);
	await page.screenshot({ path: file, type: 'png' });
	log(`${path.relative(ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} KB)`);
}

async function openCanvas(/** @type {any} */ page, /** @type {string} */ url) {
	await page.goto(`${BASE}${url}`, { waitUntil: 'networkidle0', timeout: 60_000 });
	await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 30_000 });
	await page.keyboard.press('Escape').catch(() => {});
	// "Fit view" (shortcut 1) so the whole workflow, sticky note included, is in the picture.
	await page.click('[data-test-id="canvas-wrapper"], .vue-flow__pane').catch(() => {});
	await page.keyboard.press('1').catch(() => {});
}

/** Double-click a node on the canvas by its name to open its panel (NDV). */
async function openNode(/** @type {any} */ page, /** @type {string} */ name) {
	const handle = await page.waitForSelector(`[data-test-id="canvas-node"][data-node-name="${name}"]`, { timeout: 15_000 });
	const box = await handle.boundingBox();
	await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { count: 2 });
	await page.waitForSelector('[data-test-id="ndv"]', { visible: true, timeout: 15_000 });
}

const SHOTS = {
	/** 1. The workflow list with the examples. */
	async 'workflows'(/** @type {any} */ page) {
		await page.goto(`${BASE}/home/workflows`, { waitUntil: 'networkidle0', timeout: 60_000 });
		await page.waitForSelector('[data-test-id="resources-list-item-workflow"]', { timeout: 30_000 });
		// The insights summary (all zeros in a new sandbox) would push the seventh example below the fold.
		await page.$eval('[data-test-id="insights-summary-tabs"]', (el) => {
			/** @type {HTMLElement} */ (el.closest('[class*="insightsWrapper"]') || el).style.display = 'none';
		}).catch(() => {});
		await settle(page);
		await shot(page, '01-workflows');
	},

	/** 2. The cross-CRM example canvas. */
	async 'canvas'(/** @type {any} */ page) {
		const wf = await workflowByName(WF.bitrix24ToAmo);
		await openCanvas(page, `/workflow/${wf.id}`);
		await settle(page);
		await shot(page, '02-bitrix24-to-amocrm');
	},

	/** 3. A node panel with the resource mapper's fields loaded from the amoCRM emulator. */
	async 'node-panel'(/** @type {any} */ page) {
		const wf = await workflowByName(WF.bitrix24ToAmo);
		await openCanvas(page, `/workflow/${wf.id}`);
		await openNode(page, 'Create amoCRM lead with contact');
		await settle(page, 3000);
		// Open the Status picker: "Pipeline: Status" options loaded live from the emulator's pipelines.
		// Scrolled to the top of the parameters first, so the list opens downwards and covers no other field's name.
		await page.$eval('[data-test-id="resource-mapper-container"]', (el) => el.scrollIntoView({ block: 'start' }));
		await sleep(500);
		await page.click('[data-test-id="parameter-input-status_id"]');
		await page.waitForFunction(() => document.body.innerText.includes('(won)'), { timeout: 15_000 });
		await sleep(1000);
		await shot(page, '03-node-panel-fields');
	},

	/** 4. The AI agent with the four CRM nodes as tools. */
	async 'ai-agent'(/** @type {any} */ page) {
		const wf = await workflowByName(WF.aiAgent);
		await openCanvas(page, `/workflow/${wf.id}`);
		// The floating "Open chat" button would cover the label of the Vtiger tool.
		await page.evaluate(() => {
			for (const b of document.querySelectorAll('button')) {
				if (/** @type {HTMLElement} */ (b).innerText.trim() === 'Open chat') /** @type {HTMLElement} */ (b).style.visibility = 'hidden';
			}
		});
		await settle(page);
		await shot(page, '04-ai-agent-tools');
	},

	/** 5. Publish the Bitrix24 → amoCRM workflow, fire a Bitrix24 lead, open the execution. */
	async 'execution'(/** @type {any} */ page) {
		const wf = await workflowByName(WF.bitrix24ToAmo);
		await publish(wf);
		const before = new Set((await executions(wf.id)).map((/** @type {any} */ e) => e.id));
		const out = execFileSync(process.execPath, [path.join(__dirname, 'sandbox.js'), '--touch', 'bitrix24', 'lead'], {
			env: process.env,
			encoding: 'utf8',
		});
		log(`--touch: ${out.trim()}`);
		let exec;
		for (let i = 0; i < 60 && !exec; i++) {
			exec = (await executions(wf.id)).find((/** @type {any} */ e) => !before.has(e.id) && e.status !== 'running' && e.status !== 'new');
			if (!exec) await sleep(500);
		}
		if (!exec) throw new Error('the trigger did not run within 30 s');
		log(`execution ${exec.id}: ${exec.status}`);
		await openCanvas(page, `/workflow/${wf.id}/executions/${exec.id}`);
		await settle(page, 2500);
		// n8n still holds the edit lock of the tabs of the shots before for a while and shows an "Editing in
		// another tab · Edit here" pill over the canvas: hide it.
		await page.evaluate(() => {
			for (const b of document.querySelectorAll('button')) {
				if (/** @type {HTMLElement} */ (b).innerText.trim() !== 'Edit here') continue;
				// The outermost element that holds only the pill's text.
				let pill = /** @type {HTMLElement} */ (b);
				while (pill.parentElement && pill.parentElement.innerText.trim().length < 60) pill = pill.parentElement;
				pill.style.visibility = 'hidden';
			}
		});
		await shot(page, '05-execution');
		// The amoCRM node of that execution: the Bitrix24 lead in, amoCRM's answer out.
		await openNode(page, 'Create amoCRM lead with contact');
		await settle(page, 2000);
		await shot(page, '06-execution-node');
	},
};

async function main() {
	const puppeteer = require(PUPPETEER_CORE);
	fs.mkdirSync(OUT, { recursive: true });
	await login();
	log(`logged in to ${BASE} as ${EMAIL}`);
	const browser = await puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-background-networking',
			'--disable-component-update',
			'--no-first-run',
			`--window-size=${VIEWPORT.width},${VIEWPORT.height}`,
		],
	});
	try {
		const host = new URL(BASE).hostname;
		await browser.setCookie({ name: 'n8n-auth', value: cookie, domain: host, path: '/', httpOnly: true, secure: false });
		for (const [name, take] of Object.entries(SHOTS)) {
			if (ONLY && !ONLY.includes(name)) continue;
			const page = await newPage(browser);
			try {
				await take(page);
			} catch (e) {
				const file = path.join(os.tmpdir(), `screenshots-${name}-failed.png`);
				await page.screenshot({ path: file }).catch(() => {});
				console.error(`[screenshots] ${name} failed; the page at that moment: ${file}`);
				throw e;
			} finally {
				await page.close();
			}
		}
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error(e instanceof Error ? e.stack || e.message : e);
	process.exit(1);
});
