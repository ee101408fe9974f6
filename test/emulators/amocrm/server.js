// @ts-check
'use strict';

/**
 * amoCRM / Kommo API v4 emulator: `/api/v4/*`, `/oauth2/access_token`, `/oauth` (auto-approving authorize page)
 * and form-encoded webhook deliveries in the old v2 key names. Follows amoCRM's documentation (README.md lists the
 * sources and every assumption). No dependencies beyond Node's standard library.
 */

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const { URL, URLSearchParams } = require('node:url');
const { generate, rng, pick } = require('./seed.js');

const ENTITIES = /** @type {const} */ (['leads', 'contacts', 'companies', 'tasks']);
const NOTE_ENTITIES = ['leads', 'contacts', 'companies'];
const TAG_ENTITIES = ['leads', 'contacts', 'companies'];
const CF_ENTITIES = ['leads', 'contacts', 'companies'];
const MAX_LIMIT = 250;
const DEFAULT_LIMIT = 50;
const MAX_BATCH = 250;
const MAX_COMPLEX = 50;
const EVENTS_MAX_LIMIT = 100;

/** Webhook actions accepted by POST /api/v4/webhooks (settings). */
const WEBHOOK_ACTIONS = new Set([
	'add_lead', 'update_lead', 'delete_lead', 'restore_lead', 'status_lead', 'responsible_lead', 'note_lead',
	'add_contact', 'update_contact', 'delete_contact', 'restore_contact', 'responsible_contact', 'note_contact',
	'add_company', 'update_company', 'delete_company', 'restore_company', 'responsible_company', 'note_company',
	'add_task', 'update_task', 'delete_task', 'responsible_task',
	'add_customer', 'update_customer', 'delete_customer', 'responsible_customer', 'note_customer',
	'add_talk', 'update_talk', 'add_message', 'add_chat_template_review', 'update_chat_template_review',
]);

/** v2 note type numbers used in webhook payloads. */
const NOTE_TYPE_NUM = {
	common: 4, call_in: 10, call_out: 11, service_message: 25, extended_service_message: 25, sms_in: 102,
	sms_out: 103, message_cashier: 25, geolocation: 4, attachment: 4,
};
const NOTE_TYPES = Object.keys(NOTE_TYPE_NUM);
/** v2 element_type numbers. */
const ELEMENT_TYPE = { contacts: 1, leads: 2, companies: 3, tasks: 4 };
/** singular entity names used by events and link metadata */
const SINGULAR = { leads: 'lead', contacts: 'contact', companies: 'company', tasks: 'task' };

const CF_TYPES = new Set(['text', 'numeric', 'checkbox', 'select', 'multiselect', 'multitext', 'date', 'url',
	'textarea', 'radiobutton', 'streetaddress', 'birthday', 'date_time', 'price']);

class ApiError extends Error {
	/**
	 * @param {number} status
	 * @param {any} body object (JSON) or string (sent as is)
	 * @param {string} [contentType]
	 */
	constructor(status, body, contentType = 'application/problem+json') {
		super(typeof body === 'string' ? body : body && body.detail);
		this.status = status;
		this.body = body;
		this.contentType = contentType;
	}
}

const TITLES = {
	400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
	405: 'Method Not Allowed', 429: 'Too Many Requests', 500: 'Internal Server Error', 504: 'Gateway Timeout',
};
/** @param {number} status @param {string} detail */
function problem(status, detail) {
	return new ApiError(status, {
		title: TITLES[/** @type {400} */ (status)] || 'Error',
		type: `https://httpstatus.es/${status}`,
		status,
		detail,
	});
}
/**
 * 400 with validation errors grouped by request_id (amoCRM shape: "validation-errors" comes first).
 * @param {{ request_id: string, errors: { code: string, path: string, detail: string }[] }[]} groups
 */
function validationError(groups) {
	return new ApiError(400, {
		'validation-errors': groups,
		title: 'Bad Request',
		type: 'https://httpstatus.es/400',
		status: 400,
		detail: 'Request validation failed',
	});
}
/** OAuth errors (league/oauth2-server messages wrapped in amoCRM's OAuthProblemJson). @param {number} status @param {string} hint */
function oauthError(status, hint) {
	return new ApiError(status, {
		hint,
		title: 'Некорректный запрос',
		type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson',
		status,
		detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
	});
}
const NGINX_403 = '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

const V = {
	choice: (/** @type {string} */ path) => ({ code: 'NotSupportedChoice', path, detail: 'The value you selected is not a valid choice.' }),
	type: (/** @type {string} */ path, /** @type {string} */ t) => ({ code: 'InvalidType', path, detail: `This value should be of type ${t}.` }),
	blank: (/** @type {string} */ path) => ({ code: 'NotBlank', path, detail: 'This value should not be blank.' }),
	notFound: (/** @type {string} */ path) => ({ code: 'NotFound', path, detail: 'Entity not found.' }),
	extra: (/** @type {string} */ path) => ({ code: 'UnknownField', path, detail: 'This field was not expected.' }),
	count: (/** @type {string} */ path, /** @type {number} */ max) => ({ code: 'TooManyValues', path, detail: `This collection should contain ${max} elements or less.` }),
};

// ---- small helpers -------------------------------------------------------------------------------
const isInt = (/** @type {unknown} */ v) => typeof v === 'number' && Number.isInteger(v);
const isObj = (/** @type {unknown} */ v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** @param {unknown} x @returns {string[]} */
function asList(x) {
	if (x === undefined || x === null) return [];
	if (Array.isArray(x)) return x.map(String);
	if (typeof x === 'object') return Object.values(x).map(String);
	return [String(x)];
}
/**
 * PHP-style query parsing: filter[statuses][0][pipeline_id]=1, filter[id][]=2 → nested objects.
 * @param {URLSearchParams} sp
 */
function parsePhpQuery(sp) {
	/** @type {Record<string, any>} */
	const root = {};
	for (const [k, v] of sp) {
		const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(k);
		if (!m) continue;
		const parts = [m[1]];
		const re = /\[([^\]]*)\]/g;
		let mm;
		while ((mm = re.exec(m[2]))) parts.push(mm[1]);
		/** @type {any} */
		let node = root;
		for (let i = 0; i < parts.length; i++) {
			let p = parts[i];
			if (p === '__proto__' || p === 'constructor' || p === 'prototype') break;
			if (p === '') p = String(Object.keys(node).length);
			if (i === parts.length - 1) node[p] = v;
			else {
				if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
				node = node[p];
			}
		}
	}
	return root;
}
/** Flatten nested data into PHP-style form pairs. @param {string} prefix @param {any} value @param {[string, string][]} out */
function flattenForm(prefix, value, out) {
	if (value === undefined) return;
	if (Array.isArray(value)) value.forEach((v, i) => flattenForm(`${prefix}[${i}]`, v, out));
	else if (isObj(value)) for (const [k, v] of Object.entries(value)) flattenForm(prefix ? `${prefix}[${k}]` : k, v, out);
	else out.push([prefix, value === null ? '' : typeof value === 'boolean' ? (value ? '1' : '0') : String(value)]);
}
const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
/** ULID-like id (amoCRM event ids look like "01dr…"). @param {number} ms */
function ulid(ms) {
	let t = '';
	let x = ms;
	for (let i = 0; i < 10; i++) {
		t = CROCKFORD[x % 32] + t;
		x = Math.floor(x / 32);
	}
	const rb = crypto.randomBytes(16);
	let r = '';
	for (let i = 0; i < 16; i++) r += CROCKFORD[rb[i] % 32];
	return t + r;
}
const b64url = (/** @type {string | Buffer} */ s) => Buffer.from(s).toString('base64url');
/** A JWT-shaped bearer token (amoCRM tokens are RS256 JWTs; the signature here is random, nobody verifies it). */
function jwtToken(/** @type {Record<string, unknown>} */ claims, /** @type {Buffer} */ sig) {
	return `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', jti: claims.jti }))}.${b64url(JSON.stringify(claims))}.${b64url(sig)}`;
}
const pad2 = (/** @type {number} */ n) => String(n).padStart(2, '0');
/** 'YYYY-MM-DD HH:MM:SS' in UTC. @param {number} sec */
function ymdhms(sec) {
	const d = new Date(sec * 1000);
	return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/**
 * @typedef {{ id: number, name: string, email?: string, lang?: string, is_admin?: boolean }} UserOption
 * @typedef {{ client_id: string, client_secret: string, redirect_uri: string }} OAuthClient
 * @typedef {{ type: 'http500' | 'drop' | 'rateLimit' | 'ipBlock' | 'expireToken' | 'paymentRequired' | 'forbidden' | 'timeout504',
 *   path?: string | RegExp, method?: string }} Fault
 * @typedef {{ field_id: number, values: any[] }} CfValue
 * @typedef {Record<string, any> & { id: number, _entity: string, cf: CfValue[], tags: number[], is_deleted: boolean }} Rec
 */

/**
 * @param {{ subdomain?: string, accountId?: number, accountName?: string, domain?: string, lang?: string,
 *   longLivedTokens?: string[], oauthClients?: OAuthClient[], users?: UserOption[], rps?: number, accountRps?: number,
 *   latencyMs?: number, now?: () => (number | Date), linkBase?: string, strictUnknownFields?: boolean,
 *   accessTokenTtl?: number, refreshTokenTtl?: number, authCodeTtl?: number, breakChainOnReuse?: boolean,
 *   webhookTimeoutMs?: number, webhookRetries?: number, webhookRetryDelayMs?: number,
 *   exactNextLinks?: boolean, seed?: number }} [options]
 */
function createAmoCrmEmulator(options = {}) {
	const subdomain = options.subdomain ?? 'example';
	const accountId = options.accountId ?? 31234567;
	const domain = options.domain ?? 'amocrm.ru';
	const lang = options.lang ?? 'ru';
	const accessTokenTtl = options.accessTokenTtl ?? 86400;
	const refreshTokenTtl = options.refreshTokenTtl ?? 90 * 86400;
	const authCodeTtl = options.authCodeTtl ?? 20 * 60;
	const breakChainOnReuse = options.breakChainOnReuse ?? true;
	const strictUnknownFields = options.strictUnknownFields ?? false;
	const exactNextLinks = options.exactNextLinks ?? false;

	// ---- clock ---------------------------------------------------------------------------------------
	/** @type {() => number} */
	let clockBase = () => Date.now();
	if (options.now) {
		const f = options.now;
		clockBase = () => +f();
	}
	let clockOffset = 0;
	const nowMs = () => clockBase() + clockOffset;
	const now = () => Math.floor(nowMs() / 1000);

	// ---- configuration: users, integrations, tokens ----------------------------------------------------
	const users = (options.users && options.users.length
		? options.users
		: [
			{ id: 8000001, name: 'API Admin', email: 'admin@example.com', is_admin: true },
			{ id: 8000002, name: 'Sales Manager', email: 'manager@example.com', is_admin: false },
			{ id: 8000003, name: 'Support Agent', email: 'support@example.com', is_admin: false },
		]
	).map((u) => ({ id: u.id, name: u.name, email: u.email ?? `user${u.id}@example.com`, lang: u.lang ?? lang, is_admin: u.is_admin ?? false }));
	const userIds = new Set(users.map((u) => u.id));
	const adminId = users[0].id;
	const clients = (options.oauthClients && options.oauthClients.length
		? options.oauthClients
		: [{
			client_id: '6f1c3a52-0c1e-4b8e-9f7a-2d5e8b0a1c01',
			client_secret: 'emulatorClientSecretAmoCRM0000000000000000000000000000000000000001',
			redirect_uri: 'http://localhost:5678/rest/oauth2-credential/callback',
		}]).map((c) => ({ ...c }));
	const defaultLongLived = jwtToken(
		{ aud: clients[0].client_id, jti: 'emulator-long-lived-0001', iat: 1735689600, nbf: 1735689600, exp: 1893456000,
			sub: String(adminId), grant_type: '', account_id: accountId, base_domain: domain, version: 2,
			scopes: ['crm', 'files', 'files_delete', 'notifications', 'push_notifications'], api_domain: `api-b.${domain}` },
		Buffer.alloc(64, 7),
	);
	const longLived = options.longLivedTokens && options.longLivedTokens.length ? [...options.longLivedTokens] : [defaultLongLived];

	// ---- state -------------------------------------------------------------------------------------------
	/** @type {Record<string, Map<number, Rec>>} */
	let store;
	/** @type {Record<string, Rec[] | null>} ascending-id arrays of live records (rebuilt lazily) */
	let liveCache;
	/** @type {Map<number, Rec>} */
	let notes;
	/** @type {Record<string, Map<number, { id: number, name: string, color: string | null }>>} */
	let tags;
	/** @type {Record<string, Map<number, Record<string, Map<number, Record<string, any>>>>>} */
	let links;
	/** @type {Record<string, any[]>} */
	let customFields;
	/** @type {any[]} */
	let pipelines;
	/** @type {any[]} */
	let events;
	/** @type {any[]} */
	let webhooks;
	let seq = { leads: 0, contacts: 0, companies: 0, tasks: 0, notes: 0, tags: 0, fields: 0, enums: 0, pipelines: 0, statuses: 0, webhooks: 0 };
	/** @type {Map<string, { kind: 'long' | 'oauth', chain?: string, expiresAt: number, revoked: boolean, userId: number }>} */
	let accessTokens;
	/** @type {Map<string, { chain: string, expiresAt: number, used: boolean, clientId: string }>} */
	let refreshTokens;
	/** @type {Map<string, { revoked: boolean, clientId: string }>} */
	let chains;
	/** @type {Map<string, { clientId: string, expiresAt: number, used: boolean, state?: string }>} */
	let authCodes;
	const tokenSig = crypto.randomBytes(8);
	/** bumped by every write that can change a record's JSON (records, links, tags, fields) */
	let gen = 0;

	const BASE_IDS = { leads: 1000000, contacts: 2000000, companies: 3000000, tasks: 4000000, notes: 5000000, tags: 100000, fields: 600000, enums: 700000, pipelines: 7000000, statuses: 60000000, webhooks: 900000 };
	const nextId = (/** @type {keyof typeof seq} */ k) => BASE_IDS[k] + ++seq[k];

	function initState() {
		store = { leads: new Map(), contacts: new Map(), companies: new Map(), tasks: new Map() };
		liveCache = { leads: null, contacts: null, companies: null, tasks: null };
		notes = new Map();
		tags = { leads: new Map(), contacts: new Map(), companies: new Map() };
		links = {};
		events = [];
		webhooks = [];
		seq = { leads: 0, contacts: 0, companies: 0, tasks: 0, notes: 0, tags: 0, fields: 0, enums: 0, pipelines: 0, statuses: 0, webhooks: 0 };
		accessTokens = new Map();
		for (const t of longLived) accessTokens.set(t, { kind: 'long', expiresAt: Infinity, revoked: false, userId: adminId });
		refreshTokens = new Map();
		chains = new Map();
		authCodes = new Map();
		customFields = { leads: [], contacts: [], companies: [] };
		defaultCustomFields();
		pipelines = [];
		defaultPipelines();
	}

	// ---- custom fields ----------------------------------------------------------------------------------
	/**
	 * @param {string} entity
	 * @param {{ name: string, type: string, code?: string | null, enums?: (string | { value: string, sort?: number })[],
	 *   is_predefined?: boolean, is_api_only?: boolean, sort?: number }} def
	 */
	function addCustomField(entity, def) {
		if (!CF_ENTITIES.includes(entity)) throw new Error(`amocrm emulator: no custom fields for ${entity}`);
		if (!CF_TYPES.has(def.type)) throw new Error(`amocrm emulator: unknown custom field type ${def.type}`);
		gen++;
		const id = nextId('fields');
		const hasEnums = ['select', 'multiselect', 'multitext', 'radiobutton'].includes(def.type);
		const f = {
			id,
			name: def.name,
			type: def.type,
			account_id: accountId,
			code: def.code ?? null,
			sort: def.sort ?? 500 + customFields[entity].length * 10,
			is_api_only: def.is_api_only ?? false,
			enums: hasEnums
				? (def.enums || []).map((e, i) => {
					const o = typeof e === 'string' ? { value: e } : e;
					return { id: nextId('enums'), value: o.value, sort: o.sort ?? (i + 1) * 2 };
				})
				: null,
			group_id: null,
			required_statuses: [],
			is_deletable: !def.is_predefined,
			is_predefined: def.is_predefined ?? false,
			entity_type: entity,
			remind: def.type === 'birthday' ? 'never' : null,
			triggers: [],
			currency: null,
			hidden_statuses: [],
			chained_lists: null,
		};
		customFields[entity].push(f);
		return f;
	}
	function defaultCustomFields() {
		const phone = ['WORK', 'WORKDD', 'MOB', 'FAX', 'HOME', 'OTHER'];
		const email = ['WORK', 'PRIV', 'OTHER'];
		addCustomField('contacts', { name: 'Должность', type: 'text', code: 'POSITION', is_predefined: true });
		addCustomField('contacts', { name: 'Телефон', type: 'multitext', code: 'PHONE', enums: phone, is_predefined: true });
		addCustomField('contacts', { name: 'Email', type: 'multitext', code: 'EMAIL', enums: email, is_predefined: true });
		addCustomField('contacts', { name: 'Newsletter', type: 'checkbox' });
		addCustomField('contacts', { name: 'Birthday', type: 'birthday' });
		addCustomField('companies', { name: 'Телефон', type: 'multitext', code: 'PHONE', enums: phone, is_predefined: true });
		addCustomField('companies', { name: 'Email', type: 'multitext', code: 'EMAIL', enums: email, is_predefined: true });
		addCustomField('companies', { name: 'Web', type: 'url', code: 'WEB', is_predefined: true });
		addCustomField('companies', { name: 'Адрес', type: 'textarea', code: 'ADDRESS', is_predefined: true });
		addCustomField('companies', { name: 'Industry', type: 'select', enums: ['IT', 'Retail', 'Manufacturing', 'Finance', 'Other'] });
		addCustomField('leads', { name: 'Source', type: 'select', enums: ['Website', 'Referral', 'Cold call', 'Exhibition'] });
		addCustomField('leads', { name: 'Products', type: 'multiselect', enums: ['Licence', 'Support', 'Training', 'Hardware'] });
		addCustomField('leads', { name: 'Contract date', type: 'date' });
		addCustomField('leads', { name: 'Urgent', type: 'checkbox' });
		addCustomField('leads', { name: 'Discount, %', type: 'numeric' });
		addCustomField('leads', { name: 'Comment', type: 'text' });
		addCustomField('leads', { name: 'Landing page', type: 'url' });
	}
	/** @param {string} entity @param {unknown} idOrCode */
	function findField(entity, idOrCode) {
		const list = customFields[entity] || [];
		return list.find((f) => f.id === idOrCode || (typeof idOrCode === 'string' && f.code === idOrCode)) || null;
	}

	// ---- pipelines ------------------------------------------------------------------------------------------
	const COLORS = ['#c1c1c1', '#99ccff', '#ffff99', '#ffcc66', '#ffcccc', '#ccff66', '#d5d8db'];
	/**
	 * @param {{ name: string, is_main?: boolean, sort?: number, statuses?: (string | { name: string, color?: string })[] }} def
	 */
	function addPipeline(def) {
		const id = nextId('pipelines');
		const p = {
			id,
			name: def.name,
			sort: def.sort ?? (pipelines.length + 1),
			is_main: def.is_main ?? pipelines.length === 0,
			is_unsorted_on: true,
			is_archive: false,
			account_id: accountId,
			/** @type {any[]} */
			statuses: [],
		};
		p.statuses.push(mkStatus(nextId('statuses'), 'Неразобранное', 10, true, id, '#c1c1c1', 1));
		const names = def.statuses || ['Первичный контакт', 'Переговоры', 'Принимают решение', 'Согласование договора'];
		names.forEach((s, i) => {
			const o = typeof s === 'string' ? { name: s } : s;
			p.statuses.push(mkStatus(nextId('statuses'), o.name, 20 + i * 10, true, id, o.color ?? COLORS[(i + 1) % COLORS.length], 0));
		});
		p.statuses.push(mkStatus(142, 'Успешно реализовано', 10000, false, id, '#CCFF66', 0));
		p.statuses.push(mkStatus(143, 'Закрыто и не реализовано', 11000, false, id, '#D5D8DB', 0));
		pipelines.push(p);
		return p;
	}
	/** @param {number} id @param {string} name @param {number} sort @param {boolean} editable @param {number} pid @param {string} color @param {number} type */
	function mkStatus(id, name, sort, editable, pid, color, type) {
		return { id, name, sort, is_editable: editable, pipeline_id: pid, color, type, account_id: accountId };
	}
	function defaultPipelines() {
		addPipeline({ name: 'Воронка', is_main: true });
		addPipeline({ name: 'Partners', statuses: ['New partner', 'Negotiation', 'Contract'] });
	}
	const mainPipeline = () => pipelines.find((p) => p.is_main) || pipelines[0];
	const pipelineById = (/** @type {number} */ id) => pipelines.find((p) => p.id === id);
	const firstStatus = (/** @type {any} */ p) => p.statuses.filter((/** @type {any} */ s) => s.type === 0 && s.id !== 142 && s.id !== 143)
		.sort((/** @type {any} */ a, /** @type {any} */ b) => a.sort - b.sort)[0] || p.statuses.find((/** @type {any} */ s) => s.id === 142);

	initState();

	const knobs = {
		/** @type {Fault[]} */
		failNext: [],
		latencyMs: options.latencyMs ?? 0,
		/** requests per second per token (sliding 1 s window) */
		rps: options.rps ?? 7,
		/** requests per second per account (all tokens) */
		accountRps: options.accountRps ?? 50,
		/** every API request answers nginx's HTML 403 (IP block) */
		ipBlocked: false,
		/** after this many 429 answers within 60 s the emulator switches ipBlocked on (null = never) */
		ipBlockAfter429s: /** @type {number | null} */ (null),
		/** every API request answers 402 (account not paid) */
		accountUnpaid: false,
		webhookTimeoutMs: options.webhookTimeoutMs ?? 2000,
		/** extra attempts after a failed delivery (amoCRM retries; 0 = no retries) */
		webhookRetries: options.webhookRetries ?? 0,
		webhookRetryDelayMs: options.webhookRetryDelayMs ?? 1000,
		/** delay before a delivery is sent */
		webhookDelayMs: 0,
	};

	/** @type {{ method: string, path: string, query: Record<string, any>, body: any, token: string | null, at: number, status: number }[]} */
	const requests = [];
	/** @type {{ id: number, webhookId: number, destination: string, actions: string[], body: string,
	 *   fields: Record<string, string>, at: number, attempt: number, status: number | null, error: string | null,
	 *   durationMs: number | null }[]} */
	const deliveries = [];
	/** @type {Set<Promise<void>>} */
	const pendingDeliveries = new Set();
	let deliverySeq = 0;
	/** @type {Map<string, number[]>} */
	const rateWindows = new Map();
	/** @type {number[]} */
	let recent429 = [];
	/** @type {string} */
	let publicBase = options.linkBase || `https://${subdomain}.${domain}`;

	// ---- records ----------------------------------------------------------------------------------------------
	const touch = (/** @type {string} */ entity) => {
		liveCache[entity] = null;
		gen++;
	};
	const live = (/** @type {string} */ entity) => {
		let rows = liveCache[entity];
		if (!rows) {
			rows = [];
			for (const r of store[entity].values()) if (!r.is_deleted) rows.push(r);
			liveCache[entity] = rows;
		}
		return rows;
	};
	/** @param {string} entity @param {number} id */
	const getLive = (entity, id) => {
		const r = store[entity] && store[entity].get(id);
		return r && !r.is_deleted ? r : undefined;
	};

	// links: links[entity].get(id)[toEntity] → Map(toId → metadata), kept symmetric
	/** @param {string} e @param {number} id @param {boolean} create */
	function bucket(e, id, create) {
		let m = links[e];
		if (!m) {
			if (!create) return undefined;
			m = links[e] = new Map();
		}
		let b = m.get(id);
		if (!b && create) {
			b = {};
			m.set(id, b);
		}
		return b;
	}
	/** @param {string} ae @param {number} aid @param {string} be @param {number} bid @param {Record<string, any>} meta */
	function addLink(ae, aid, be, bid, meta = {}) {
		gen++;
		const a = /** @type {Record<string, Map<number, any>>} */ (bucket(ae, aid, true));
		const b = /** @type {Record<string, Map<number, any>>} */ (bucket(be, bid, true));
		(a[be] || (a[be] = new Map())).set(bid, meta);
		(b[ae] || (b[ae] = new Map())).set(aid, meta);
	}
	/** @param {string} ae @param {number} aid @param {string} be @param {number} bid */
	function removeLink(ae, aid, be, bid) {
		gen++;
		const a = bucket(ae, aid, false);
		const b = bucket(be, bid, false);
		const had = !!(a && a[be] && a[be].has(bid));
		if (a && a[be]) a[be].delete(bid);
		if (b && b[ae]) b[ae].delete(aid);
		return had;
	}
	/** @param {string} e @param {number} id @param {string} [toEntity] @returns {{ entity: string, id: number, meta: Record<string, any> }[]} */
	function linksOf(e, id, toEntity) {
		const b = bucket(e, id, false);
		/** @type {{ entity: string, id: number, meta: Record<string, any> }[]} */
		const out = [];
		if (!b) return out;
		for (const te of toEntity ? [toEntity] : Object.keys(b)) {
			const m = b[te];
			if (!m) continue;
			const st = store[te];
			for (const [ti, meta] of m) {
				if (st) {
					const r = st.get(ti);
					if (!r || r.is_deleted) continue;
				}
				out.push({ entity: te, id: ti, meta });
			}
		}
		return out;
	}
	/** Single company per lead / contact: linking a new one replaces the old. @param {string} e @param {number} id @param {number} companyId */
	function setCompany(e, id, companyId) {
		for (const l of linksOf(e, id, 'companies')) removeLink(e, id, 'companies', l.id);
		addLink(e, id, 'companies', companyId, {});
	}
	/** @param {number} leadId @param {number} contactId @param {boolean} main */
	function linkContactToLead(leadId, contactId, main) {
		const existing = linksOf('leads', leadId, 'contacts');
		const isMain = main || existing.filter((l) => l.id !== contactId).length === 0;
		if (isMain) for (const l of existing) l.meta.main_contact = false;
		addLink('leads', leadId, 'contacts', contactId, { main_contact: isMain });
	}

	// ---- tags ------------------------------------------------------------------------------------------------
	/** @param {string} entity @param {string} name @param {string | null} [color] */
	function tagByName(entity, name, color) {
		for (const t of tags[entity].values()) if (t.name.toLowerCase() === name.toLowerCase()) return t;
		gen++;
		const t = { id: nextId('tags'), name, color: entity === 'leads' ? color ?? null : null };
		tags[entity].set(t.id, t);
		return t;
	}

	// ---- serialisation ----------------------------------------------------------------------------------------
	/** @param {string} p */
	const href = (p) => ({ href: `${publicBase}${p}` });
	/** @param {string} entity @param {Rec} r */
	function cfOut(entity, r) {
		if (!r.cf.length) return null;
		return r.cf.map((v) => {
			const f = findField(entity, v.field_id);
			return {
				field_id: v.field_id,
				field_name: f ? f.name : '',
				field_code: f ? f.code : null,
				field_type: f ? f.type : 'text',
				values: v.values.map((x) => ({ ...x })),
			};
		});
	}
	/** @param {string} entity @param {Rec} r */
	const tagsOut = (entity, r) => r.tags.map((id) => tags[entity].get(id)).filter(Boolean).map((t) => ({ id: t?.id, name: t?.name, color: t?.color ?? null }));
	/**
	 * @param {string} entity
	 * @param {Rec} r
	 * @param {Set<string>} [withSet]
	 */
	function toApi(entity, r, withSet = new Set()) {
		/** @type {Record<string, any>} */
		let o;
		const self = { self: href(`/api/v4/${entity}/${r.id}`) };
		switch (entity) {
			case 'leads': {
				o = {
					id: r.id, name: r.name, price: r.price, responsible_user_id: r.responsible_user_id, group_id: r.group_id,
					status_id: r.status_id, pipeline_id: r.pipeline_id, loss_reason_id: r.loss_reason_id,
					created_by: r.created_by, updated_by: r.updated_by, created_at: r.created_at, updated_at: r.updated_at,
					closed_at: r.closed_at, closest_task_at: closestTask('leads', r.id), is_deleted: r.is_deleted,
					custom_fields_values: cfOut(entity, r), score: null, account_id: accountId, labor_cost: null,
				};
				if (withSet.has('source_id')) o.source_id = null;
				if (withSet.has('is_price_modified_by_robot')) o.is_price_modified_by_robot = false;
				o._links = self;
				/** @type {Record<string, any>} */
				const emb = { tags: tagsOut(entity, r), companies: linksOf('leads', r.id, 'companies').map((l) => ({ id: l.id, _links: { self: href(`/api/v4/companies/${l.id}`) } })) };
				if (withSet.has('contacts')) {
					emb.contacts = linksOf('leads', r.id, 'contacts').map((l) => ({ id: l.id, is_main: !!l.meta.main_contact, _links: { self: href(`/api/v4/contacts/${l.id}`) } }));
				}
				if (withSet.has('loss_reason')) emb.loss_reason = [];
				if (withSet.has('catalog_elements')) emb.catalog_elements = [];
				o._embedded = emb;
				return o;
			}
			case 'contacts': {
				o = {
					id: r.id, name: r.name, first_name: r.first_name, last_name: r.last_name,
					responsible_user_id: r.responsible_user_id, group_id: r.group_id, created_by: r.created_by,
					updated_by: r.updated_by, created_at: r.created_at, updated_at: r.updated_at,
					closest_task_at: closestTask('contacts', r.id), is_deleted: r.is_deleted, is_unsorted: false,
					custom_fields_values: cfOut(entity, r), account_id: accountId, _links: self,
				};
				/** @type {Record<string, any>} */
				const emb = { tags: tagsOut(entity, r), companies: linksOf('contacts', r.id, 'companies').map((l) => ({ id: l.id, _links: { self: href(`/api/v4/companies/${l.id}`) } })) };
				if (withSet.has('leads')) emb.leads = linksOf('contacts', r.id, 'leads').map((l) => ({ id: l.id, _links: { self: href(`/api/v4/leads/${l.id}`) } }));
				if (withSet.has('catalog_elements')) emb.catalog_elements = [];
				o._embedded = emb;
				return o;
			}
			case 'companies': {
				o = {
					id: r.id, name: r.name, responsible_user_id: r.responsible_user_id, group_id: r.group_id,
					created_by: r.created_by, updated_by: r.updated_by, created_at: r.created_at, updated_at: r.updated_at,
					closest_task_at: closestTask('companies', r.id), is_deleted: r.is_deleted,
					custom_fields_values: cfOut(entity, r), account_id: accountId, _links: self,
				};
				/** @type {Record<string, any>} */
				const emb = { tags: tagsOut(entity, r) };
				if (withSet.has('leads')) emb.leads = linksOf('companies', r.id, 'leads').map((l) => ({ id: l.id, _links: { self: href(`/api/v4/leads/${l.id}`) } }));
				if (withSet.has('contacts')) emb.contacts = linksOf('companies', r.id, 'contacts').map((l) => ({ id: l.id, _links: { self: href(`/api/v4/contacts/${l.id}`) } }));
				if (withSet.has('catalog_elements')) emb.catalog_elements = [];
				o._embedded = emb;
				return o;
			}
			case 'tasks':
				return {
					id: r.id, created_by: r.created_by, updated_by: r.updated_by, created_at: r.created_at,
					updated_at: r.updated_at, responsible_user_id: r.responsible_user_id, group_id: r.group_id,
					entity_id: r.entity_id, entity_type: r.entity_type, duration: r.duration, is_completed: r.is_completed,
					task_type_id: r.task_type_id, text: r.text, result: r.result ? { ...r.result } : [],
					complete_till: r.complete_till, account_id: accountId, _links: self,
				};
			default:
				throw new Error(entity);
		}
	}
	/** @param {Rec} n */
	function noteOut(n) {
		return {
			id: n.id, entity_id: n.entity_id, created_by: n.created_by, updated_by: n.updated_by, created_at: n.created_at,
			updated_at: n.updated_at, responsible_user_id: n.responsible_user_id, group_id: 0, note_type: n.note_type,
			params: JSON.parse(JSON.stringify(n.params)), account_id: accountId,
			_links: { self: href(`/api/v4/${n.entity_type}/${n.entity_id}/notes/${n.id}`) },
		};
	}
	/** @param {string} entity @param {number} id */
	function closestTask(entity, id) {
		let best = null;
		for (const l of linksOf(entity, id, 'tasks')) {
			const t = store.tasks.get(l.id);
			if (t && !t.is_deleted && !t.is_completed && (best === null || t.complete_till < best)) best = t.complete_till;
		}
		return best;
	}

	// ---- change tracking: events (GET /api/v4/events) and webhooks -------------------------------------------
	/** @type {{ entity: string, action: string, payload: Record<string, any> }[] | null} */
	let batch = null;
	const beginBatch = () => {
		batch = [];
	};
	function endBatch() {
		const b = batch;
		batch = null;
		if (b && b.length) scheduleWebhooks(b);
	}
	/** @param {string} entity @param {string} action @param {Record<string, any>} payload */
	function queueHook(entity, action, payload) {
		if (batch) batch.push({ entity, action, payload });
		else scheduleWebhooks([{ entity, action, payload }]);
	}
	/**
	 * @param {string} type
	 * @param {string} entity plural
	 * @param {number} entityId
	 * @param {any[]} before
	 * @param {any[]} after
	 * @param {number} by
	 */
	function recordEvent(type, entity, entityId, before, after, by) {
		const at = now();
		events.push({
			id: ulid(nowMs()), type, entity_id: entityId, entity_type: SINGULAR[/** @type {'leads'} */ (entity)] || entity,
			created_by: by, created_at: at, value_after: after, value_before: before, account_id: accountId,
			_embedded: { entity: { id: entityId } },
		});
	}

	/** v2 custom_fields array for webhook payloads. @param {string} entity @param {Rec} r */
	function hookCustomFields(entity, r) {
		if (!r.cf.length) return undefined;
		return r.cf.map((v) => {
			const f = findField(entity, v.field_id);
			/** @type {Record<string, any>} */
			const o = { id: v.field_id, name: f ? f.name : '' };
			if (f && f.code) o.code = f.code;
			const dateLike = f && ['date', 'birthday', 'date_time'].includes(f.type);
			o.values = v.values.map((x) => {
				if (dateLike) return x.value;
				/** @type {Record<string, any>} */
				const vv = { value: typeof x.value === 'boolean' ? (x.value ? '1' : '0') : x.value };
				if (x.enum_id) vv.enum = x.enum_id;
				return vv;
			});
			return o;
		});
	}
	/** @param {string} entity @param {Rec} r */
	const hookTags = (entity, r) => (r.tags.length ? tagsOut(entity, r).map((t) => ({ id: t.id, name: t.name })) : undefined);
	/**
	 * v2 payload of one record.
	 * @param {string} entity @param {Rec} r @param {Record<string, any>} [extra]
	 */
	function hookPayload(entity, r, extra = {}) {
		if (entity === 'leads') {
			return {
				id: r.id, name: r.name, status_id: r.status_id, ...('old_status_id' in extra ? { old_status_id: extra.old_status_id } : {}),
				price: r.price, responsible_user_id: r.responsible_user_id,
				...('old_responsible_user_id' in extra ? { old_responsible_user_id: extra.old_responsible_user_id } : {}),
				last_modified: r.updated_at, modified_user_id: r.updated_by, created_user_id: r.created_by,
				date_create: r.created_at, pipeline_id: r.pipeline_id,
				...('old_pipeline_id' in extra ? { old_pipeline_id: extra.old_pipeline_id } : {}),
				tags: hookTags(entity, r), account_id: accountId, custom_fields: hookCustomFields(entity, r),
				created_at: r.created_at, updated_at: r.updated_at,
			};
		}
		if (entity === 'contacts' || entity === 'companies') {
			const company = entity === 'contacts' ? linksOf('contacts', r.id, 'companies')[0] : undefined;
			return {
				id: r.id, name: r.name, responsible_user_id: r.responsible_user_id,
				...('old_responsible_user_id' in extra ? { old_responsible_user_id: extra.old_responsible_user_id } : {}),
				date_create: r.created_at, last_modified: r.updated_at, created_user_id: r.created_by,
				modified_user_id: r.updated_by, ...(company ? { linked_company_id: company.id } : {}),
				tags: hookTags(entity, r), account_id: accountId, custom_fields: hookCustomFields(entity, r),
				created_at: r.created_at, updated_at: r.updated_at, type: entity === 'contacts' ? 'contact' : 'company',
			};
		}
		// tasks
		return {
			id: r.id, element_id: r.entity_id ?? 0, element_type: r.entity_type ? ELEMENT_TYPE[/** @type {'leads'} */ (r.entity_type)] : 0,
			element_name: undefined, task_type: r.task_type_id, date_create: r.created_at, text: r.text,
			status: r.is_completed ? 1 : 0, account_id: accountId, created_user_id: r.created_by,
			last_modified: r.updated_at, responsible_user_id: r.responsible_user_id,
			...('old_responsible_user_id' in extra ? { old_responsible_user_id: extra.old_responsible_user_id } : {}),
			complete_till: r.complete_till, action_close: r.is_completed ? 1 : 0,
			...(r.result && r.result.text ? { result: { text: r.result.text } } : {}),
			created_at: r.created_at, updated_at: r.updated_at,
		};
	}
	/** top-level webhook key (old v2 names: companies come under "contacts" with type=company, tasks under "task") */
	const hookKey = (/** @type {string} */ entity) => (entity === 'companies' ? 'contacts' : entity === 'tasks' ? 'task' : entity);
	/** setting name for an action. @param {string} entity @param {string} action */
	function settingOf(entity, action) {
		const s = SINGULAR[/** @type {'leads'} */ (entity)];
		if (action === 'note') return `note_${s}`;
		return `${action}_${s}`;
	}

	/** @param {{ entity: string, action: string, payload: Record<string, any> }[]} items */
	function scheduleWebhooks(items) {
		for (const wh of webhooks) {
			if (wh.disabled) continue;
			const mine = items.filter((it) => wh.settings.includes(settingOf(it.entity, it.action)));
			if (!mine.length) continue;
			/** @type {Record<string, Record<string, any[]>>} */
			const body = {};
			for (const it of mine) {
				const k = hookKey(it.entity);
				body[k] = body[k] || {};
				body[k][it.action] = body[k][it.action] || [];
				body[k][it.action].push(it.payload);
			}
			/** @type {[string, string][]} */
			const pairs = [];
			flattenForm('', body, pairs);
			flattenForm('account', { subdomain, id: accountId, _links: { self: publicBase } }, pairs);
			const actions = [...new Set(mine.map((it) => settingOf(it.entity, it.action)))];
			enqueueDelivery(wh, actions, pairs, 1);
		}
	}
	/** @param {any} wh @param {string[]} actions @param {[string, string][]} pairs @param {number} attempt */
	function enqueueDelivery(wh, actions, pairs, attempt) {
		const body = new URLSearchParams(pairs).toString();
		const entry = {
			id: ++deliverySeq, webhookId: wh.id, destination: wh.destination, actions, body,
			fields: Object.fromEntries(pairs), at: nowMs(), attempt, status: /** @type {number | null} */ (null),
			error: /** @type {string | null} */ (null), durationMs: /** @type {number | null} */ (null),
		};
		const p = new Promise((resolve) => {
			setTimeout(() => {
				const started = Date.now();
				send(wh.destination, body, knobs.webhookTimeoutMs).then(
					(status) => {
						entry.status = status;
						entry.durationMs = Date.now() - started;
						entry.at = nowMs();
						deliveries.push(entry);
						if (status < 200 || status >= 300) failed(wh, actions, pairs, attempt);
						else wh._failures = [];
						resolve(undefined);
					},
					(err) => {
						entry.error = String(err && err.message ? err.message : err);
						entry.durationMs = Date.now() - started;
						entry.at = nowMs();
						deliveries.push(entry);
						failed(wh, actions, pairs, attempt);
						resolve(undefined);
					},
				);
			}, knobs.webhookDelayMs);
		});
		pendingDeliveries.add(p);
		p.then(() => pendingDeliveries.delete(p));
	}
	/** @param {any} wh @param {string[]} actions @param {[string, string][]} pairs @param {number} attempt */
	function failed(wh, actions, pairs, attempt) {
		const t = nowMs();
		wh._failures = (wh._failures || []).filter((/** @type {number} */ x) => t - x < 2 * 3600 * 1000);
		wh._failures.push(t);
		if (wh._failures.length >= 100) wh.disabled = true;
		if (attempt <= knobs.webhookRetries && !wh.disabled && webhooks.includes(wh)) {
			const p = new Promise((resolve) => setTimeout(resolve, knobs.webhookRetryDelayMs)).then(() => enqueueDelivery(wh, actions, pairs, attempt + 1));
			pendingDeliveries.add(p);
			p.then(() => pendingDeliveries.delete(p));
		}
	}
	/** @param {string} destination @param {string} body @param {number} timeoutMs @returns {Promise<number>} */
	function send(destination, body, timeoutMs) {
		return new Promise((resolve, reject) => {
			let u;
			try {
				u = new URL(destination);
			} catch {
				reject(new Error('invalid destination'));
				return;
			}
			const mod = u.protocol === 'https:' ? https : http;
			const req = mod.request(u, {
				method: 'POST',
				headers: {
					'Content-Type': 'application/x-www-form-urlencoded',
					'Content-Length': Buffer.byteLength(body),
					'User-Agent': 'amoCRM-Webhooks/1.0',
					Accept: '*/*',
					Connection: 'close',
				},
				rejectUnauthorized: false,
			}, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode || 0));
				res.on('error', reject);
			});
			req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
			req.on('error', reject);
			req.end(body);
		});
	}

	// ---- validation of writes -----------------------------------------------------------------------------
	/**
	 * Validate custom_fields_values; returns normalised [{field_id, values|null}] or pushes errors.
	 * @param {string} entity @param {unknown} input @param {any[]} errors @param {string} path
	 */
	function normaliseCf(entity, input, errors, path = 'custom_fields_values') {
		if (input === undefined) return undefined;
		if (input === null) return [];
		if (!Array.isArray(input)) {
			errors.push(V.type(path, 'array'));
			return undefined;
		}
		/** @type {{ field_id: number, values: any[] | null }[]} */
		const out = [];
		input.forEach((item, i) => {
			const p = `${path}.${i}`;
			if (!isObj(item)) {
				errors.push(V.type(p, 'array'));
				return;
			}
			let f = null;
			if (item.field_id !== undefined && item.field_id !== null) {
				if (!isInt(item.field_id)) {
					errors.push(V.type(`${p}.field_id`, 'int'));
					return;
				}
				f = findField(entity, item.field_id);
				if (!f) {
					errors.push(V.choice(`${p}.field_id`));
					return;
				}
			} else if (typeof item.field_code === 'string' && item.field_code) {
				f = findField(entity, item.field_code.toUpperCase());
				if (!f) {
					errors.push(V.choice(`${p}.field_code`));
					return;
				}
			} else {
				errors.push(V.blank(`${p}.field_id`));
				return;
			}
			if (item.values === null || (Array.isArray(item.values) && item.values.length === 0)) {
				out.push({ field_id: f.id, values: null });
				return;
			}
			if (!Array.isArray(item.values)) {
				errors.push(V.type(`${p}.values`, 'array'));
				return;
			}
			if (!['multiselect', 'multitext'].includes(f.type) && item.values.length > 1) {
				errors.push(V.count(`${p}.values`, 1));
				return;
			}
			/** @type {any[]} */
			const vals = [];
			item.values.forEach((/** @type {any} */ v, /** @type {number} */ j) => {
				const vp = `${p}.values.${j}`;
				if (!isObj(v)) {
					errors.push(V.type(vp, 'array'));
					return;
				}
				const x = normaliseValue(/** @type {any} */ (f), v, vp, errors);
				if (x) vals.push(x);
			});
			out.push({ field_id: f.id, values: vals });
		});
		return out;
	}
	/** @param {any} f @param {Record<string, any>} v @param {string} vp @param {any[]} errors */
	function normaliseValue(f, v, vp, errors) {
		const val = v.value;
		switch (f.type) {
			case 'text': case 'textarea': case 'url': case 'streetaddress': {
				if (typeof val !== 'string' && typeof val !== 'number') {
					errors.push(V.type(`${vp}.value`, 'string'));
					return null;
				}
				return { value: String(val) };
			}
			case 'numeric': case 'price': {
				const n = typeof val === 'number' ? val : typeof val === 'string' && val.trim() !== '' ? Number(val) : NaN;
				if (!Number.isFinite(n)) {
					errors.push(V.type(`${vp}.value`, 'numeric'));
					return null;
				}
				return { value: String(val).trim() };
			}
			case 'checkbox': {
				if (typeof val !== 'boolean' && val !== 0 && val !== 1) {
					errors.push(V.type(`${vp}.value`, 'bool'));
					return null;
				}
				return { value: !!val };
			}
			case 'date': case 'birthday': case 'date_time': {
				let ts = NaN;
				if (isInt(val)) ts = val;
				else if (typeof val === 'string' && /^\d+$/.test(val)) ts = Number(val);
				else if (typeof val === 'string' && /^\d{4}-\d{2}-\d{2}/.test(val)) ts = Math.floor(Date.parse(val) / 1000);
				if (!Number.isFinite(ts)) {
					errors.push(V.type(`${vp}.value`, 'int'));
					return null;
				}
				return { value: ts };
			}
			case 'select': case 'multiselect': case 'radiobutton': {
				let e = null;
				if (v.enum_id !== undefined && v.enum_id !== null) {
					e = f.enums.find((/** @type {any} */ x) => x.id === v.enum_id);
					if (!e) {
						errors.push(V.choice(`${vp}.enum_id`));
						return null;
					}
				} else if (val !== undefined && val !== null) {
					e = f.enums.find((/** @type {any} */ x) => x.value === String(val));
					if (!e) {
						errors.push(V.choice(`${vp}.value`));
						return null;
					}
				} else if (typeof v.enum_code === 'string') {
					errors.push(V.choice(`${vp}.enum_code`));
					return null;
				} else {
					errors.push(V.blank(`${vp}.value`));
					return null;
				}
				return { value: e.value, enum_id: e.id, enum_code: null };
			}
			case 'multitext': {
				if (typeof val !== 'string' && typeof val !== 'number') {
					errors.push(V.type(`${vp}.value`, 'string'));
					return null;
				}
				let e;
				if (v.enum_id !== undefined && v.enum_id !== null) {
					e = f.enums.find((/** @type {any} */ x) => x.id === v.enum_id);
					if (!e) {
						errors.push(V.choice(`${vp}.enum_id`));
						return null;
					}
				} else if (v.enum_code !== undefined && v.enum_code !== null) {
					e = f.enums.find((/** @type {any} */ x) => x.value === String(v.enum_code).toUpperCase());
					if (!e) {
						errors.push(V.choice(`${vp}.enum_code`));
						return null;
					}
				} else e = f.enums.find((/** @type {any} */ x) => x.value === 'WORK') || f.enums[0];
				return { value: String(val), enum_id: e.id, enum_code: e.value };
			}
			default:
				return { value: val };
		}
	}
	/** @param {Rec} r @param {{ field_id: number, values: any[] | null }[] | undefined} cf */
	function applyCf(r, cf) {
		if (!cf) return [];
		/** @type {number[]} */
		const changed = [];
		for (const c of cf) {
			const i = r.cf.findIndex((x) => x.field_id === c.field_id);
			const before = i >= 0 ? JSON.stringify(r.cf[i].values) : null;
			if (c.values === null) {
				if (i >= 0) r.cf.splice(i, 1);
			} else if (i >= 0) r.cf[i] = { field_id: c.field_id, values: c.values };
			else r.cf.push({ field_id: c.field_id, values: c.values });
			const after = c.values === null ? null : JSON.stringify(c.values);
			if (before !== after) changed.push(c.field_id);
		}
		return changed;
	}

	const LEAD_KEYS = new Set(['id', 'name', 'price', 'status_id', 'pipeline_id', 'responsible_user_id', 'created_by', 'updated_by', 'created_at', 'updated_at', 'closed_at', 'loss_reason_id', 'custom_fields_values', 'tags_to_add', 'tags_to_delete', '_embedded', 'request_id', 'group_id', 'score', 'labor_cost', 'is_deleted', 'account_id', 'closest_task_at', '_links', 'source_id']);
	const CONTACT_KEYS = new Set(['id', 'name', 'first_name', 'last_name', 'responsible_user_id', 'created_by', 'updated_by', 'created_at', 'updated_at', 'custom_fields_values', 'tags_to_add', 'tags_to_delete', '_embedded', 'request_id', 'group_id', 'is_deleted', 'is_unsorted', 'account_id', 'closest_task_at', '_links']);
	const TASK_KEYS = new Set(['id', 'text', 'complete_till', 'task_type_id', 'entity_id', 'entity_type', 'responsible_user_id', 'is_completed', 'result', 'duration', 'created_by', 'updated_by', 'created_at', 'updated_at', 'request_id', 'group_id', 'account_id', '_links']);

	/**
	 * Validate one write item (create or update) of leads / contacts / companies / tasks; returns a normalised patch.
	 * @param {string} entity @param {Record<string, any>} item @param {Rec | null} existing @param {any[]} errors
	 */
	function validateItem(entity, item, existing, errors) {
		/** @type {Record<string, any>} */
		const patch = {};
		const keys = entity === 'leads' ? LEAD_KEYS : entity === 'tasks' ? TASK_KEYS : CONTACT_KEYS;
		if (strictUnknownFields) for (const k of Object.keys(item)) if (!keys.has(k)) errors.push(V.extra(k));
		const intField = (/** @type {string} */ k, /** @type {boolean} */ nullable = false) => {
			if (!(k in item)) return;
			const v = item[k];
			if (v === null && nullable) patch[k] = null;
			else if (!isInt(v)) errors.push(V.type(k, 'int'));
			else patch[k] = v;
		};
		const strField = (/** @type {string} */ k) => {
			if (!(k in item)) return;
			if (typeof item[k] !== 'string') errors.push(V.type(k, 'string'));
			else patch[k] = item[k];
		};
		for (const k of ['created_by', 'updated_by', 'created_at', 'updated_at']) intField(k);
		if ('responsible_user_id' in item) {
			intField('responsible_user_id');
			if (isInt(item.responsible_user_id) && !userIds.has(item.responsible_user_id)) {
				errors.push(V.choice('responsible_user_id'));
				delete patch.responsible_user_id;
			}
		}
		if (entity === 'leads') {
			strField('name');
			intField('price');
			intField('closed_at', true);
			intField('loss_reason_id', true);
			intField('status_id');
			intField('pipeline_id');
			// pipeline / status pair
			const pid = 'pipeline_id' in patch ? patch.pipeline_id : undefined;
			const sid = 'status_id' in patch ? patch.status_id : undefined;
			if (pid !== undefined || sid !== undefined) {
				let p = pid !== undefined ? pipelineById(pid) : undefined;
				if (pid !== undefined && !p) errors.push(V.choice('pipeline_id'));
				else if (sid !== undefined) {
					if (!p) {
						// status without pipeline: the current pipeline (update) or the main one (create) when the
						// status is 142/143 or belongs to it; otherwise the pipeline that owns the status
						const cur = existing ? pipelineById(existing.pipeline_id) : mainPipeline();
						if (cur && cur.statuses.some((/** @type {any} */ s) => s.id === sid)) p = cur;
						else p = pipelines.find((pp) => pp.statuses.some((/** @type {any} */ s) => s.id === sid));
					}
					if (!p || !p.statuses.some((/** @type {any} */ s) => s.id === sid)) errors.push(V.choice('status_id'));
					else patch.pipeline_id = p.id;
				} else if (p) {
					// pipeline without status: first status of that pipeline (when the pipeline changes)
					if (!existing || existing.pipeline_id !== p.id) patch.status_id = firstStatus(p).id;
				}
			}
		} else if (entity === 'contacts' || entity === 'companies') {
			strField('name');
			if (entity === 'contacts') {
				strField('first_name');
				strField('last_name');
			}
		} else {
			// tasks
			strField('text');
			intField('complete_till');
			intField('duration');
			if ('task_type_id' in item) {
				intField('task_type_id');
				if (isInt(item.task_type_id) && !taskTypes().some((t) => t.id === item.task_type_id)) {
					errors.push(V.choice('task_type_id'));
					delete patch.task_type_id;
				}
			}
			if ('is_completed' in item) {
				if (typeof item.is_completed !== 'boolean') errors.push(V.type('is_completed', 'bool'));
				else patch.is_completed = item.is_completed;
			}
			if ('result' in item) {
				if (!isObj(item.result) || (item.result.text !== undefined && typeof item.result.text !== 'string')) errors.push(V.type('result', 'array'));
				else patch.result = { text: item.result.text ?? '' };
			}
			if ('entity_type' in item || 'entity_id' in item) {
				if (item.entity_type === null && item.entity_id === null) {
					patch.entity_type = null;
					patch.entity_id = null;
				} else if (!['leads', 'contacts', 'companies', 'customers'].includes(item.entity_type)) errors.push(V.choice('entity_type'));
				else if (!isInt(item.entity_id)) errors.push(V.type('entity_id', 'int'));
				else if (item.entity_type === 'customers' || !getLive(item.entity_type, item.entity_id)) errors.push(V.notFound('entity_id'));
				else {
					patch.entity_type = item.entity_type;
					patch.entity_id = item.entity_id;
				}
			}
			if (!existing) {
				if (!('text' in item) || item.text === '') errors.push(V.blank('text'));
				if (!('complete_till' in item)) errors.push(V.blank('complete_till'));
			}
		}
		if (entity !== 'tasks') {
			const cf = normaliseCf(entity, item.custom_fields_values, errors);
			if (cf !== undefined) patch.cf = cf;
			/** @param {string} k @returns {({ id: number } | { name: string, color?: string })[] | undefined} */
			const tagList = (k, /** @type {any} */ v) => {
				if (v === undefined) return undefined;
				if (v === null) return [];
				if (!Array.isArray(v)) {
					errors.push(V.type(k, 'array'));
					return undefined;
				}
				/** @type {any[]} */
				const out = [];
				v.forEach((t, i) => {
					if (isObj(t) && isInt(t.id)) {
						if (!tags[entity].has(t.id)) errors.push(V.choice(`${k}.${i}.id`));
						else out.push({ id: t.id });
					} else if (isObj(t) && typeof t.name === 'string' && t.name.trim()) out.push({ name: t.name.trim(), color: t.color });
					else errors.push(V.blank(`${k}.${i}.name`));
				});
				return out;
			};
			const emb = isObj(item._embedded) ? item._embedded : undefined;
			if (item._embedded !== undefined && !emb) errors.push(V.type('_embedded', 'array'));
			if (emb && 'tags' in emb) patch.tagsSet = tagList('_embedded.tags', emb.tags);
			if ('tags_to_add' in item) patch.tagsAdd = tagList('tags_to_add', item.tags_to_add);
			if ('tags_to_delete' in item) patch.tagsDel = tagList('tags_to_delete', item.tags_to_delete);
			if (emb && entity === 'leads' && emb.contacts !== undefined) {
				if (!Array.isArray(emb.contacts)) errors.push(V.type('_embedded.contacts', 'array'));
				else {
					patch.linkContacts = [];
					emb.contacts.forEach((/** @type {any} */ c, /** @type {number} */ i) => {
						if (!isObj(c) || !isInt(c.id)) errors.push(V.type(`_embedded.contacts.${i}.id`, 'int'));
						else if (!getLive('contacts', c.id)) errors.push(V.notFound(`_embedded.contacts.${i}.id`));
						else patch.linkContacts.push({ id: c.id, is_main: !!c.is_main });
					});
				}
			}
			if (emb && entity !== 'companies' && emb.companies !== undefined) {
				if (!Array.isArray(emb.companies)) errors.push(V.type('_embedded.companies', 'array'));
				else {
					emb.companies.forEach((/** @type {any} */ c, /** @type {number} */ i) => {
						if (!isObj(c) || !isInt(c.id)) errors.push(V.type(`_embedded.companies.${i}.id`, 'int'));
						else if (!getLive('companies', c.id)) errors.push(V.notFound(`_embedded.companies.${i}.id`));
						else patch.linkCompany = c.id;
					});
				}
			}
		}
		return patch;
	}
	/** @param {string} entity @param {Rec} r @param {Record<string, any>} patch */
	function applyTags(entity, r, patch) {
		const before = r.tags.join(',');
		const resolve = (/** @type {any[]} */ list) => list.map((t) => ('id' in t ? t.id : tagByName(entity, t.name, t.color).id));
		if (patch.tagsSet) r.tags = [...new Set(resolve(patch.tagsSet))];
		if (patch.tagsAdd) r.tags = [...new Set([...r.tags, ...resolve(patch.tagsAdd)])];
		if (patch.tagsDel) {
			const del = new Set(patch.tagsDel.map((/** @type {any} */ t) => ('id' in t ? t.id : [...tags[entity].values()].find((x) => x.name.toLowerCase() === t.name.toLowerCase())?.id)));
			r.tags = r.tags.filter((id) => !del.has(id));
		}
		return before !== r.tags.join(',');
	}

	const taskTypes = () => [
		{ id: 1, name: lang === 'ru' ? 'Связаться' : 'Follow-up', color: null, icon_id: null, code: 'FOLLOW_UP' },
		{ id: 2, name: lang === 'ru' ? 'Встреча' : 'Meeting', color: null, icon_id: null, code: 'MEETING' },
	];

	/**
	 * Create a record from a validated patch (shared by the API, complex and test helpers).
	 * @param {string} entity @param {Record<string, any>} patch @param {number} by @param {{ quiet?: boolean }} [opts]
	 */
	function insert(entity, patch, by, opts = {}) {
		const t = now();
		const id = nextId(/** @type {'leads'} */ (entity));
		/** @type {Rec} */
		const r = { id, _entity: entity, cf: [], tags: [], is_deleted: false, group_id: 0, created_by: by, updated_by: by, created_at: t, updated_at: t };
		r.responsible_user_id = patch.responsible_user_id ?? by;
		for (const k of ['created_by', 'updated_by', 'created_at']) if (k in patch) r[k] = patch[k];
		r.updated_at = patch.updated_at ?? r.created_at;
		if (entity === 'leads') {
			const p = pipelineById(patch.pipeline_id) || mainPipeline();
			r.pipeline_id = p.id;
			r.status_id = patch.status_id ?? firstStatus(p).id;
			r.name = patch.name ?? (lang === 'ru' ? `Сделка #${id}` : `Lead #${id}`);
			r.price = patch.price ?? 0;
			r.loss_reason_id = patch.loss_reason_id ?? null;
			r.closed_at = patch.closed_at ?? (r.status_id === 142 || r.status_id === 143 ? r.updated_at : null);
		} else if (entity === 'contacts') {
			r.first_name = patch.first_name ?? '';
			r.last_name = patch.last_name ?? '';
			r.name = patch.name ?? [r.first_name, r.last_name].filter(Boolean).join(' ');
		} else if (entity === 'companies') {
			r.name = patch.name ?? '';
		} else {
			r.text = patch.text ?? '';
			r.complete_till = patch.complete_till ?? t + 86400;
			r.task_type_id = patch.task_type_id ?? 1;
			r.entity_type = patch.entity_type ?? null;
			r.entity_id = patch.entity_id ?? null;
			r.is_completed = patch.is_completed ?? false;
			r.result = patch.result ?? null;
			r.duration = patch.duration ?? 0;
		}
		applyCf(r, patch.cf);
		if (entity !== 'tasks') applyTags(entity, r, patch);
		store[entity].set(id, r);
		touch(entity);
		if (entity === 'tasks' && r.entity_type && r.entity_id) addLink(r.entity_type, r.entity_id, 'tasks', id, {});
		if (patch.linkContacts) for (const c of patch.linkContacts) linkContactToLead(id, c.id, c.is_main);
		if (patch.linkCompany) setCompany(entity, id, patch.linkCompany);
		if (!opts.quiet) {
			const type = entity === 'tasks' ? 'task_added' : `${SINGULAR[/** @type {'leads'} */ (entity)]}_added`;
			recordEvent(type, entity, id, [], entity === 'leads' ? [{ lead_status: { id: r.status_id, pipeline_id: r.pipeline_id } }] : [], by);
			queueHook(entity, 'add', hookPayload(entity, r));
		}
		return r;
	}

	/**
	 * Apply a validated patch to an existing record; emits update / status / responsible events and webhooks.
	 * @param {string} entity @param {Rec} r @param {Record<string, any>} patch @param {number} by
	 */
	function modify(entity, r, patch, by) {
		const old = { status_id: r.status_id, pipeline_id: r.pipeline_id, responsible_user_id: r.responsible_user_id, name: r.name, price: r.price, is_completed: r.is_completed, text: r.text };
		const simple = entity === 'leads' ? ['name', 'price', 'status_id', 'pipeline_id', 'loss_reason_id', 'closed_at', 'responsible_user_id', 'created_by', 'created_at']
			: entity === 'contacts' ? ['name', 'first_name', 'last_name', 'responsible_user_id', 'created_by', 'created_at']
				: entity === 'companies' ? ['name', 'responsible_user_id', 'created_by', 'created_at']
					: ['text', 'complete_till', 'task_type_id', 'responsible_user_id', 'is_completed', 'result', 'duration', 'created_by', 'created_at'];
		for (const k of simple) if (k in patch) r[k] = patch[k];
		if (entity === 'contacts' && !('name' in patch) && ('first_name' in patch || 'last_name' in patch)) {
			r.name = [r.first_name, r.last_name].filter(Boolean).join(' ');
		}
		if (entity === 'tasks' && 'entity_type' in patch) {
			if (r.entity_type && r.entity_id) removeLink(r.entity_type, r.entity_id, 'tasks', r.id);
			r.entity_type = patch.entity_type;
			r.entity_id = patch.entity_id;
			if (r.entity_type && r.entity_id) addLink(r.entity_type, r.entity_id, 'tasks', r.id, {});
		}
		const cfChanged = applyCf(r, patch.cf);
		if (entity !== 'tasks') applyTags(entity, r, patch);
		if (patch.linkContacts) for (const c of patch.linkContacts) linkContactToLead(r.id, c.id, c.is_main);
		if (patch.linkCompany) setCompany(entity, r.id, patch.linkCompany);
		r.updated_by = patch.updated_by ?? by;
		r.updated_at = patch.updated_at ?? Math.max(now(), r.updated_at);
		const statusChanged = entity === 'leads' && (old.status_id !== r.status_id || old.pipeline_id !== r.pipeline_id);
		if (statusChanged && !('closed_at' in patch)) r.closed_at = r.status_id === 142 || r.status_id === 143 ? r.updated_at : null;
		touch(entity);
		// events
		if (statusChanged) recordEvent('lead_status_changed', entity, r.id, [{ lead_status: { id: old.status_id, pipeline_id: old.pipeline_id } }], [{ lead_status: { id: r.status_id, pipeline_id: r.pipeline_id } }], by);
		if (old.responsible_user_id !== r.responsible_user_id) recordEvent('entity_responsible_changed', entity, r.id, [{ responsible_user: { id: old.responsible_user_id } }], [{ responsible_user: { id: r.responsible_user_id } }], by);
		if (entity !== 'tasks' && old.name !== r.name) recordEvent('name_field_changed', entity, r.id, [{ name_field_value: { name: old.name } }], [{ name_field_value: { name: r.name } }], by);
		if (entity === 'leads' && old.price !== r.price) recordEvent('sale_field_changed', entity, r.id, [{ sale_field_value: { sale: old.price } }], [{ sale_field_value: { sale: r.price } }], by);
		if (entity === 'tasks' && !old.is_completed && r.is_completed) recordEvent('task_completed', entity, r.id, [], [], by);
		if (entity === 'tasks' && old.text !== r.text) recordEvent('task_text_changed', entity, r.id, [{ text: old.text }], [{ text: r.text }], by);
		for (const fid of cfChanged) recordEvent(`custom_field_${fid}_value_changed`, entity, r.id, [], [{ custom_field_value: { field_id: fid } }], by);
		// webhooks
		const extra = {};
		if (statusChanged) Object.assign(extra, { old_status_id: old.status_id });
		queueHook(entity, 'update', hookPayload(entity, r, extra));
		if (statusChanged) queueHook(entity, 'status', hookPayload(entity, r, { old_status_id: old.status_id, old_pipeline_id: old.pipeline_id }));
		if (old.responsible_user_id !== r.responsible_user_id) queueHook(entity, 'responsible', hookPayload(entity, r, { old_responsible_user_id: old.responsible_user_id }));
		return r;
	}
	/** UI-style delete (test helper): soft delete, event + delete_* webhook. @param {string} entity @param {Rec} r @param {number} by */
	function remove(entity, r, by) {
		r.is_deleted = true;
		r.updated_at = Math.max(now(), r.updated_at);
		r.updated_by = by;
		touch(entity);
		recordEvent(entity === 'tasks' ? 'task_deleted' : `${SINGULAR[/** @type {'leads'} */ (entity)]}_deleted`, entity, r.id, [], [], by);
		/** @type {Record<string, any>} */
		const payload = { id: r.id };
		if (entity === 'leads') Object.assign(payload, { status_id: r.status_id, pipeline_id: r.pipeline_id });
		if (entity === 'contacts' || entity === 'companies') payload.type = entity === 'contacts' ? 'contact' : 'company';
		queueHook(entity, 'delete', payload);
	}

	/**
	 * @param {string} entity @param {number} entityId @param {Record<string, any>} item validated
	 * @param {number} by @param {{ quiet?: boolean }} [opts]
	 */
	function insertNote(entity, entityId, item, by, opts = {}) {
		const t = now();
		const n = /** @type {Rec} */ ({
			id: nextId('notes'), _entity: 'notes', cf: [], tags: [], is_deleted: false, entity_type: entity, entity_id: entityId,
			note_type: item.note_type, params: item.params || {}, created_by: item.created_by ?? by, updated_by: by,
			created_at: item.created_at ?? t, updated_at: item.created_at ?? t, responsible_user_id: item.responsible_user_id ?? by,
		});
		notes.set(n.id, n);
		if (!opts.quiet) {
			recordEvent(item.note_type === 'common' ? 'common_note_added' : `${item.note_type}_note_added`, entity, entityId, [], [{ note: { id: n.id } }], by);
			queueHook(entity, 'note', { note: noteHookPayload(n) });
		}
		return n;
	}
	/** @param {Rec} n */
	function noteHookPayload(n) {
		const p = n.params || {};
		const text = n.note_type === 'common' || n.note_type === 'service_message' || n.note_type.startsWith('sms')
			? p.text ?? ''
			: JSON.stringify(p);
		return {
			element_type: ELEMENT_TYPE[/** @type {'leads'} */ (n.entity_type)], element_id: n.entity_id,
			note_type: NOTE_TYPE_NUM[/** @type {'common'} */ (n.note_type)] ?? 4, text, account_id: accountId,
			date_create: ymdhms(n.created_at), timestamp_x: ymdhms(n.updated_at), created_by: n.created_by,
			modified_by: n.updated_by, main_user_id: n.responsible_user_id, group_id: 0, id: n.id,
			created_at: n.created_at, updated_at: n.updated_at,
		};
	}
	/** @param {Record<string, any>} item @param {any[]} errors @param {boolean} creating */
	function validateNote(item, errors, creating) {
		/** @type {Record<string, any>} */
		const out = {};
		if (creating || 'note_type' in item) {
			if (!NOTE_TYPES.includes(item.note_type)) errors.push(V.choice('note_type'));
			else out.note_type = item.note_type;
		}
		if ('params' in item) {
			if (!isObj(item.params)) errors.push(V.type('params', 'array'));
			else {
				out.params = item.params;
				if (['common', 'service_message', 'sms_in', 'sms_out', 'message_cashier', 'extended_service_message'].includes(item.note_type)
					&& (typeof item.params.text !== 'string' || !item.params.text)) errors.push(V.blank('params.text'));
			}
		} else if (creating) errors.push(V.blank('params'));
		for (const k of ['created_by', 'created_at', 'responsible_user_id']) {
			if (k in item) {
				if (!isInt(item[k])) errors.push(V.type(k, 'int'));
				else out[k] = item[k];
			}
		}
		return out;
	}

	// ---- HTTP plumbing -------------------------------------------------------------------------------------
	/**
	 * @typedef {{ method: string, path: string, sp: URLSearchParams, q: Record<string, any>, body: any, rawBody: string,
	 *   token: string | null, userId: number, base: string, req: http.IncomingMessage }} Ctx
	 * @typedef {{ status: number, body?: any, headers?: Record<string, string>, raw?: string, text?: string }} Res
	 */
	/** @param {any} body @returns {Res} */
	const ok = (body, status = 200) => ({ status, body });
	const noContent = () => ({ status: 204 });

	/**
	 * HAL list envelope with page links (absolute URLs); 204 when the page is empty.
	 * @param {Ctx} ctx @param {string} key @param {any[]} all @param {(x: any) => any} fmt
	 * @param {{ maxLimit?: number, totalItems?: boolean, json?: (x: any) => string }} [o] json: cached JSON text per item
	 */
	function pageOf(ctx, key, all, fmt, o = {}) {
		const maxLimit = o.maxLimit ?? MAX_LIMIT;
		let limit = Number.parseInt(ctx.q.limit, 10);
		if (!Number.isFinite(limit) || limit <= 0) limit = DEFAULT_LIMIT;
		if (limit > maxLimit) limit = maxLimit;
		let page = Number.parseInt(ctx.q.page, 10);
		if (!Number.isFinite(page) || page <= 0) page = 1;
		const start = (page - 1) * limit;
		const slice = all.slice(start, start + limit);
		if (!slice.length) return noContent();
		const linkFor = (/** @type {number} */ p) => {
			const sp = new URLSearchParams(ctx.sp);
			sp.delete('page');
			sp.delete('limit');
			sp.append('page', String(p));
			sp.append('limit', String(limit));
			return { href: `${ctx.base}${ctx.path}?${sp.toString().replace(/%5B/gi, '[').replace(/%5D/gi, ']')}` };
		};
		/** @type {Record<string, any>} */
		const lk = { self: linkFor(page) };
		const more = exactNextLinks ? start + limit < all.length : slice.length === limit;
		if (more) lk.next = linkFor(page + 1);
		if (page > 1) lk.prev = linkFor(page - 1);
		/** @type {Record<string, any>} */
		const body = {};
		if (o.totalItems) body._total_items = all.length;
		body._page = page;
		body._links = lk;
		if (o.json) {
			const head = JSON.stringify(body);
			return { status: 200, text: `${head.slice(0, -1)},"_embedded":{${JSON.stringify(key)}:[${slice.map(o.json).join(',')}]}}` };
		}
		body._embedded = { [key]: slice.map(fmt) };
		return ok(body);
	}
	const withOf = (/** @type {Ctx} */ ctx) => new Set(String(ctx.q.with || '').split(',').map((s) => s.trim()).filter(Boolean));

	/** Range filter: value | {from,to} | "a,b". @param {any} f @returns {((v: number | null) => boolean) | null} */
	function rangeFilter(f) {
		if (f === undefined) return null;
		let from = -Infinity;
		let to = Infinity;
		if (isObj(f)) {
			if (f.from !== undefined && f.from !== '') from = Number(f.from);
			if (f.to !== undefined && f.to !== '') to = Number(f.to);
		} else {
			const parts = String(f).split(',');
			from = Number(parts[0]);
			if (parts[1] !== undefined) to = Number(parts[1]);
		}
		if (Number.isNaN(from) || Number.isNaN(to)) return () => false;
		return (v) => v !== null && v !== undefined && v >= from && v <= to;
	}
	/** @param {any} f @returns {Set<number> | null} */
	const idSet = (f) => (f === undefined ? null : new Set(asList(f).flatMap((s) => s.split(',')).map(Number)));

	/** @param {string} entity @param {Ctx} ctx */
	function listRecords(entity, ctx) {
		const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
		const withSet = withOf(ctx);
		const onlyDeleted = withSet.has('only_deleted');
		/** @type {((r: Rec) => boolean)[]} */
		const preds = [];
		const ids = idSet(filter.id);
		let rows;
		if (ids) {
			rows = [...ids].map((id) => store[entity].get(id)).filter((r) => r && r.is_deleted === onlyDeleted);
			rows.sort((a, b) => /** @type {Rec} */ (a).id - /** @type {Rec} */ (b).id);
		} else if (onlyDeleted) rows = [...store[entity].values()].filter((r) => r.is_deleted);
		else rows = live(entity);
		if (filter.name !== undefined) {
			const names = new Set(asList(filter.name));
			preds.push((r) => names.has(r.name));
		}
		for (const k of ['created_at', 'updated_at', 'closed_at', 'closest_task_at', 'price', 'complete_till']) {
			const rf = rangeFilter(filter[k]);
			if (rf) preds.push(k === 'closest_task_at' ? (r) => rf(closestTask(entity, r.id)) : (r) => rf(r[k]));
		}
		for (const k of ['responsible_user_id', 'created_by', 'updated_by', 'pipeline_id', 'task_type', 'entity_id']) {
			if (filter[k] === undefined) continue;
			const set = idSet(filter[k]);
			const field = k === 'task_type' ? 'task_type_id' : k;
			if (set) preds.push((r) => set.has(r[field]));
		}
		if (entity === 'leads' && filter.statuses !== undefined) {
			const pairs = (isObj(filter.statuses) ? Object.values(filter.statuses) : []).filter(isObj)
				.map((/** @type {any} */ s) => [Number(s.pipeline_id), Number(s.status_id)]);
			preds.push((r) => pairs.some(([p, s]) => r.pipeline_id === p && r.status_id === s));
		}
		if (entity === 'tasks') {
			if (filter.is_completed !== undefined) {
				const want = ['1', 'true'].includes(String(filter.is_completed));
				preds.push((r) => r.is_completed === want);
			}
			if (filter.entity_type !== undefined) {
				const et = String(filter.entity_type);
				preds.push((r) => r.entity_type === et);
			}
		}
		if (ctx.q.query !== undefined && String(ctx.q.query) !== '') {
			const q = String(ctx.q.query).toLowerCase();
			const qDigits = q.replace(/\D/g, '');
			preds.push((r) => {
				if (String(r.id) === q) return true;
				if (typeof r.name === 'string' && r.name.toLowerCase().includes(q)) return true;
				if (entity === 'tasks' && typeof r.text === 'string' && r.text.toLowerCase().includes(q)) return true;
				for (const c of r.cf) {
					for (const v of c.values) {
						const s = String(v.value).toLowerCase();
						if (s.includes(q)) return true;
						if (qDigits.length >= 5 && s.replace(/\D/g, '').includes(qDigits)) return true;
					}
				}
				return false;
			});
		}
		if (preds.length) rows = rows.filter((r) => preds.every((p) => p(/** @type {Rec} */ (r))));
		const order = isObj(ctx.q.order) ? ctx.q.order : null;
		if (order) {
			const allowed = entity === 'tasks' ? ['created_at', 'complete_till', 'id'] : ['created_at', 'updated_at', 'id'];
			const [[field, dir] = []] = Object.entries(order).filter(([k]) => allowed.includes(k));
			if (field) {
				const sgn = String(dir).toLowerCase() === 'desc' ? -1 : 1;
				if (rows === liveCache[entity]) rows = rows.slice();
				rows.sort((a, b) => sgn * ((/** @type {any} */ (a)[field] - /** @type {any} */ (b)[field]) || (/** @type {Rec} */ (a).id - /** @type {Rec} */ (b).id)));
			}
		}
		const wkey = [...withSet].sort().join(',');
		return pageOf(ctx, entity, rows, (r) => toApi(entity, r, withSet), {
			json: (r) => {
				const k = `${gen}|${wkey}|${publicBase}`;
				if (r._jsonKey !== k) {
					r._json = JSON.stringify(toApi(entity, r, withSet));
					r._jsonKey = k;
				}
				return r._json;
			},
		});
	}

	/** @param {any} body @param {number} max */
	function requireArray(body, max) {
		if (!Array.isArray(body)) throw validationError([{ request_id: '0', errors: [V.type('', 'array')] }]);
		if (body.length === 0) throw validationError([{ request_id: '0', errors: [V.blank('')] }]);
		if (body.length > max) throw validationError([{ request_id: '0', errors: [V.count('', max)] }]);
	}

	/** POST /api/v4/{entity} (array). @param {string} entity @param {Ctx} ctx */
	function createRecords(entity, ctx) {
		requireArray(ctx.body, MAX_BATCH);
		/** @type {any[]} */
		const groups = [];
		const patches = ctx.body.map((/** @type {any} */ item, /** @type {number} */ i) => {
			const rid = item && item.request_id !== undefined ? String(item.request_id) : String(i);
			/** @type {any[]} */
			const errors = [];
			const patch = isObj(item) ? validateItem(entity, item, null, errors) : (errors.push(V.type(String(i), 'array')), {});
			if (errors.length) groups.push({ request_id: rid, errors });
			return { rid, patch };
		});
		if (groups.length) throw validationError(groups);
		const out = patches.map((/** @type {any} */ x) => {
			const r = insert(entity, x.patch, ctx.userId);
			return { id: r.id, request_id: x.rid, _links: { self: href(`/api/v4/${entity}/${r.id}`) } };
		});
		return ok({ _links: { self: href(`/api/v4/${entity}`) }, _embedded: { [entity]: out } });
	}
	/** PATCH /api/v4/{entity} (array) or /{entity}/{id}. @param {string} entity @param {Ctx} ctx @param {number | null} id */
	function updateRecords(entity, ctx, id) {
		const single = id !== null;
		const items = single ? [ctx.body] : ctx.body;
		if (single && !isObj(ctx.body)) throw validationError([{ request_id: '0', errors: [V.type('', 'array')] }]);
		if (!single) requireArray(items, MAX_BATCH);
		/** @type {any[]} */
		const groups = [];
		/** @type {{ rid: string, r: Rec, patch: any }[]} */
		const work = [];
		items.forEach((/** @type {any} */ item, /** @type {number} */ i) => {
			const rid = item && item.request_id !== undefined ? String(item.request_id) : String(i);
			/** @type {any[]} */
			const errors = [];
			if (!isObj(item)) {
				groups.push({ request_id: rid, errors: [V.type(String(i), 'array')] });
				return;
			}
			const rid2 = single ? id : item.id;
			if (!isInt(rid2)) {
				groups.push({ request_id: rid, errors: [item.id === undefined ? V.blank('id') : V.type('id', 'int')] });
				return;
			}
			const r = getLive(entity, /** @type {number} */ (rid2));
			if (!r) {
				if (single) throw problem(404, 'Entity not found');
				groups.push({ request_id: rid, errors: [V.notFound('id')] });
				return;
			}
			const patch = validateItem(entity, item, r, errors);
			if (errors.length) groups.push({ request_id: rid, errors });
			else work.push({ rid, r, patch });
		});
		if (groups.length) throw validationError(groups);
		const out = work.map((w) => {
			modify(entity, w.r, w.patch, ctx.userId);
			/** @type {Record<string, any>} */
			const o = { id: w.r.id, updated_at: w.r.updated_at };
			if (!single) o.request_id = w.rid;
			o._links = { self: href(`/api/v4/${entity}/${w.r.id}`) };
			return o;
		});
		if (single) return ok(out[0]);
		return ok({ _links: { self: href(`/api/v4/${entity}`) }, _embedded: { [entity]: out } });
	}

	/** POST /api/v4/leads/complex. @param {Ctx} ctx */
	function complex(ctx) {
		requireArray(ctx.body, MAX_COMPLEX);
		/** @type {any[]} */
		const groups = [];
		const plans = ctx.body.map((/** @type {any} */ item, /** @type {number} */ i) => {
			const rid = item && item.request_id !== undefined ? String(item.request_id) : String(i);
			/** @type {any[]} */
			const errors = [];
			if (!isObj(item)) {
				groups.push({ request_id: rid, errors: [V.type(String(i), 'array')] });
				return null;
			}
			const emb = isObj(item._embedded) ? item._embedded : {};
			const { _embedded, ...leadPart } = item;
			const leadPatch = validateItem('leads', { ...leadPart, ...(emb.tags ? { _embedded: { tags: emb.tags } } : {}) }, null, errors);
			/** @param {string} entity @param {unknown} list @returns {{ existing?: Rec, patch?: any }[]} */
			const sub = (entity, list) => {
				if (list === undefined) return [];
				if (!Array.isArray(list)) {
					errors.push(V.type(`_embedded.${entity}`, 'array'));
					return [];
				}
				if (entity === 'companies' && list.length > 1) errors.push(V.count('_embedded.companies', 1));
				return list.map((c, j) => {
					if (!isObj(c)) {
						errors.push(V.type(`_embedded.${entity}.${j}`, 'array'));
						return {};
					}
					if (isInt(c.id)) {
						const ex = getLive(entity, c.id);
						if (!ex) errors.push(V.notFound(`_embedded.${entity}.${j}.id`));
						return { existing: ex };
					}
					/** @type {any[]} */
					const e2 = [];
					const { is_main: isMain, ...rest } = c;
					const patch = validateItem(entity, rest, null, e2);
					for (const e of e2) errors.push({ ...e, path: `_embedded.${entity}.${j}.${e.path}` });
					return { patch, is_main: isMain };
				});
			};
			const contacts = sub('contacts', emb.contacts);
			const companies = sub('companies', emb.companies);
			if (errors.length) groups.push({ request_id: rid, errors });
			return { rid, leadPatch, contacts, companies };
		});
		if (groups.length) throw validationError(groups);
		const out = plans.map((/** @type {any} */ p) => {
			const lead = insert('leads', p.leadPatch, ctx.userId);
			let companyId = null;
			for (const c of p.companies) {
				const r = c.existing || insert('companies', c.patch, ctx.userId);
				companyId = r.id;
				setCompany('leads', lead.id, r.id);
			}
			/** @type {number | null} */
			let contactId = null;
			p.contacts.forEach((/** @type {any} */ c, /** @type {number} */ j) => {
				const r = c.existing || insert('contacts', c.patch, ctx.userId);
				if (contactId === null) contactId = r.id;
				linkContactToLead(lead.id, r.id, j === 0);
				if (companyId !== null && !linksOf('contacts', r.id, 'companies').length) setCompany('contacts', r.id, companyId);
			});
			return { id: lead.id, contact_id: contactId, company_id: companyId, request_id: [p.rid], merged: false };
		});
		return ok(out);
	}

	/** Link / unlink. @param {string} entity @param {Ctx} ctx @param {number | null} id @param {boolean} unlink */
	function linkOp(entity, ctx, id, unlink) {
		requireArray(ctx.body, MAX_BATCH);
		/** @type {any[]} */
		const groups = [];
		/** @type {any[]} */
		const ops = [];
		ctx.body.forEach((/** @type {any} */ l, /** @type {number} */ i) => {
			/** @type {any[]} */
			const errors = [];
			const from = id ?? (l && l.entity_id);
			if (!isObj(l)) errors.push(V.type(String(i), 'array'));
			else {
				if (!isInt(from)) errors.push(V.type('entity_id', 'int'));
				else if (!getLive(entity, from)) errors.push(V.notFound('entity_id'));
				const allowed = ['leads', 'contacts', 'companies', 'catalog_elements', 'customers'].filter((t) => t !== entity);
				if (!allowed.includes(l.to_entity_type)) errors.push(V.choice('to_entity_type'));
				else if (!isInt(l.to_entity_id)) errors.push(V.type('to_entity_id', 'int'));
				else if (['leads', 'contacts', 'companies'].includes(l.to_entity_type) && !getLive(l.to_entity_type, l.to_entity_id)) errors.push(V.notFound('to_entity_id'));
				else if (['catalog_elements', 'customers'].includes(l.to_entity_type)) errors.push(V.notFound('to_entity_id'));
			}
			if (errors.length) groups.push({ request_id: String(i), errors });
			else ops.push({ from, to_type: l.to_entity_type, to_id: l.to_entity_id, meta: isObj(l.metadata) ? l.metadata : {} });
		});
		if (groups.length) throw validationError(groups);
		const out = ops.map((o) => {
			if (unlink) {
				if (removeLink(entity, o.from, o.to_type, o.to_id)) recordEvent('entity_unlinked', entity, o.from, [{ link: { entity: { type: SINGULAR[/** @type {'leads'} */ (o.to_type)], id: o.to_id } } }], [], ctx.userId);
				return null;
			}
			/** @type {Record<string, any>} */
			let meta = {};
			if (entity === 'leads' && o.to_type === 'contacts') {
				linkContactToLead(o.from, o.to_id, !!(o.meta.is_main || o.meta.main_contact));
				meta = { main_contact: !!linksOf('leads', o.from, 'contacts').find((l) => l.id === o.to_id)?.meta.main_contact };
			} else if (entity === 'contacts' && o.to_type === 'leads') {
				linkContactToLead(o.to_id, o.from, !!(o.meta.is_main || o.meta.main_contact));
				meta = { main_contact: !!linksOf('contacts', o.from, 'leads').find((l) => l.id === o.to_id)?.meta.main_contact };
			} else if (o.to_type === 'companies' && entity !== 'companies') setCompany(entity, o.from, o.to_id);
			else if (entity === 'companies' && o.to_type !== 'companies') setCompany(o.to_type, o.to_id, o.from);
			else addLink(entity, o.from, o.to_type, o.to_id, {});
			recordEvent('entity_linked', entity, o.from, [], [{ link: { entity: { type: SINGULAR[/** @type {'leads'} */ (o.to_type)], id: o.to_id } } }], ctx.userId);
			return { entity_id: o.from, entity_type: entity, to_entity_id: o.to_id, to_entity_type: o.to_type, metadata: Object.keys(meta).length ? meta : null };
		});
		if (unlink) return noContent();
		return ok({ _total_items: out.length, _links: { self: href(`/api/v4/${entity}/link`) }, _embedded: { links: out } });
	}
	/** @param {string} entity @param {number[]} ids @param {Ctx} ctx */
	function linksList(entity, ids, ctx) {
		const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
		const toType = filter.to_entity_type !== undefined ? String(filter.to_entity_type) : null;
		const toId = filter.to_entity_id !== undefined ? Number(filter.to_entity_id) : null;
		/** @type {any[]} */
		const out = [];
		for (const id of ids) {
			if (!getLive(entity, id)) continue;
			for (const l of linksOf(entity, id)) {
				if (l.entity === 'tasks') continue;
				if (toType && l.entity !== toType) continue;
				if (toId !== null && l.id !== toId) continue;
				/** @type {Record<string, any>} */
				const o = { to_entity_id: l.id, to_entity_type: l.entity, metadata: null };
				if ((entity === 'leads' && l.entity === 'contacts') || (entity === 'contacts' && l.entity === 'leads')) o.metadata = { main_contact: !!l.meta.main_contact };
				o.entity_id = id;
				o.entity_type = entity;
				out.push(o);
			}
		}
		if (!out.length) return noContent();
		return ok({ _total_items: out.length, _links: { self: href(ctx.path) }, _embedded: { links: out } });
	}

	/** Notes list with filters. @param {string} entity @param {number | null} entityId @param {Ctx} ctx */
	function listNotes(entity, entityId, ctx) {
		const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
		const ids = idSet(filter.id);
		const eids = entityId !== null ? new Set([entityId]) : idSet(filter.entity_id);
		const types = filter.note_type !== undefined ? new Set(asList(filter.note_type)) : null;
		const upd = rangeFilter(filter.updated_at);
		let rows = [];
		for (const n of notes.values()) {
			if (n.entity_type !== entity) continue;
			if (eids && !eids.has(n.entity_id)) continue;
			if (ids && !ids.has(n.id)) continue;
			if (types && !types.has(n.note_type)) continue;
			if (upd && !upd(n.updated_at)) continue;
			rows.push(n);
		}
		const order = isObj(ctx.q.order) ? ctx.q.order : null;
		if (order) {
			const [[field, dir] = []] = Object.entries(order).filter(([k]) => ['updated_at', 'id'].includes(k));
			if (field) {
				const sgn = String(dir).toLowerCase() === 'desc' ? -1 : 1;
				rows = rows.sort((a, b) => sgn * ((a[field] - b[field]) || (a.id - b.id)));
			}
		}
		return pageOf(ctx, 'notes', rows, noteOut);
	}
	/** @param {string} entity @param {number | null} entityId @param {Ctx} ctx */
	function createNotes(entity, entityId, ctx) {
		requireArray(ctx.body, MAX_BATCH);
		/** @type {any[]} */
		const groups = [];
		const plans = ctx.body.map((/** @type {any} */ item, /** @type {number} */ i) => {
			const rid = item && item.request_id !== undefined ? String(item.request_id) : String(i);
			/** @type {any[]} */
			const errors = [];
			if (!isObj(item)) {
				groups.push({ request_id: rid, errors: [V.type(String(i), 'array')] });
				return null;
			}
			const eid = entityId ?? item.entity_id;
			if (!isInt(eid)) errors.push(eid === undefined ? V.blank('entity_id') : V.type('entity_id', 'int'));
			else if (!getLive(entity, eid)) errors.push(V.notFound('entity_id'));
			const v = validateNote(item, errors, true);
			if (errors.length) groups.push({ request_id: rid, errors });
			return { rid, eid, v };
		});
		if (groups.length) throw validationError(groups);
		const out = plans.map((/** @type {any} */ p) => {
			const n = insertNote(entity, p.eid, p.v, ctx.userId);
			return { id: n.id, entity_id: n.entity_id, request_id: p.rid, _links: { self: href(`/api/v4/${entity}/${n.entity_id}/notes/${n.id}`) } };
		});
		return ok({ _links: { self: href(`/api/v4/${entity}/notes`) }, _embedded: { notes: out } });
	}
	/** @param {string} entity @param {number | null} noteId @param {Ctx} ctx */
	function updateNotes(entity, noteId, ctx) {
		const single = noteId !== null;
		const items = single ? [ctx.body] : ctx.body;
		if (!single) requireArray(items, MAX_BATCH);
		else if (!isObj(ctx.body)) throw validationError([{ request_id: '0', errors: [V.type('', 'array')] }]);
		/** @type {any[]} */
		const groups = [];
		/** @type {any[]} */
		const work = [];
		items.forEach((/** @type {any} */ item, /** @type {number} */ i) => {
			const rid = item && item.request_id !== undefined ? String(item.request_id) : String(i);
			/** @type {any[]} */
			const errors = [];
			const id = single ? noteId : item && item.id;
			const n = isInt(id) ? notes.get(id) : undefined;
			if (!n || n.entity_type !== entity) {
				if (single) throw problem(404, 'Note not found');
				groups.push({ request_id: rid, errors: [V.notFound('id')] });
				return;
			}
			const v = validateNote({ note_type: n.note_type, ...item }, errors, false);
			if (errors.length) groups.push({ request_id: rid, errors });
			else work.push({ rid, n, v });
		});
		if (groups.length) throw validationError(groups);
		const out = work.map((w) => {
			if (w.v.params) w.n.params = w.v.params;
			w.n.updated_at = Math.max(now(), w.n.updated_at);
			w.n.updated_by = ctx.userId;
			return { id: w.n.id, entity_id: w.n.entity_id, updated_at: w.n.updated_at, ...(single ? {} : { request_id: w.rid }), _links: { self: href(`/api/v4/${entity}/${w.n.entity_id}/notes/${w.n.id}`) } };
		});
		if (single) return ok(out[0]);
		return ok({ _links: { self: href(`/api/v4/${entity}/notes`) }, _embedded: { notes: out } });
	}

	// account / users / pipelines / custom fields / tags / events / webhooks -----------------------------------
	/** @param {Ctx} ctx */
	function account(ctx) {
		const w = withOf(ctx);
		/** @type {Record<string, any>} */
		const o = {
			id: accountId, name: options.accountName ?? subdomain, subdomain, created_at: 1577836800, created_by: adminId,
			updated_at: 1577836800, updated_by: adminId, current_user_id: ctx.userId, country: lang === 'ru' ? 'RU' : 'US',
			currency: lang === 'ru' ? 'RUB' : 'USD', currency_symbol: lang === 'ru' ? '₽' : '$', customers_mode: 'disabled',
			is_unsorted_on: true, is_loss_reason_enabled: true, is_helpbot_enabled: false, is_technical_account: false,
			contact_name_display_order: 1,
		};
		if (w.has('amojo_id')) o.amojo_id = `${crypto.createHash('md5').update(String(accountId)).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}`;
		if (w.has('uuid')) o.uuid = crypto.createHash('sha1').update(`uuid${accountId}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');
		if (w.has('version')) o.version = 2;
		if (w.has('drive_url')) o.drive_url = `https://drive-b.${domain}`;
		if (w.has('is_api_filter_enabled')) o.is_api_filter_enabled = true;
		o._links = { self: href('/api/v4/account') };
		/** @type {Record<string, any>} */
		const emb = {};
		if (w.has('task_types')) emb.task_types = taskTypes();
		if (w.has('users_groups')) emb.users_groups = [{ id: 0, name: lang === 'ru' ? 'Отдел продаж' : 'Sales', uuid: null }];
		if (w.has('amojo_rights')) emb.amojo_rights = { can_direct: true, can_create_groups: true };
		if (w.has('datetime_settings')) emb.datetime_settings = { date_pattern: 'd.m.Y H:i', short_date_pattern: 'd.m.Y', short_time_pattern: 'H:i', date_format: 'd.m.Y', time_format: 'H:i:s', timezone: 'UTC', timezone_offset: '+00:00' };
		if (w.has('entity_names')) emb.entity_names = {};
		if (Object.keys(emb).length) o._embedded = emb;
		return ok(o);
	}
	/** @param {any} u */
	function userOut(u) {
		const full = { view: 'A', edit: 'A', add: 'A', delete: 'A', export: 'A' };
		return {
			id: u.id, name: u.name, email: u.email, lang: u.lang,
			rights: {
				leads: { ...full }, contacts: { ...full }, companies: { ...full }, tasks: { edit: 'A', delete: 'A' },
				mail_access: true, catalog_access: true, files_access: true, status_rights: [], catalog_rights: null,
				custom_fields_rights: null, oper_day_reports_view_access: false, oper_day_user_tracking: false,
				is_admin: u.is_admin, is_free: false, is_active: true, group_id: null, role_id: null,
			},
			_links: { self: href(`/api/v4/users/${u.id}`) },
		};
	}
	/** @param {any} s */
	const statusOut = (s) => ({ ...s, _links: { self: href(`/api/v4/leads/pipelines/${s.pipeline_id}/statuses/${s.id}`) } });
	/** @param {any} p */
	function pipelineOut(p) {
		const { statuses, ...rest } = p;
		return {
			...rest,
			_links: { self: href(`/api/v4/leads/pipelines/${p.id}`) },
			_embedded: { statuses: [...statuses].sort((a, b) => a.sort - b.sort).map(statusOut) },
		};
	}
	/** @param {any} f */
	const fieldOut = (f) => ({ ...f, enums: f.enums ? f.enums.map((/** @type {any} */ e) => ({ ...e })) : null, _links: { self: href(`/api/v4/${f.entity_type}/custom_fields/${f.id}`) } });
	/** @param {any} w */
	const webhookOut = (w) => ({ id: w.id, destination: w.destination, created_at: w.created_at, updated_at: w.updated_at, account_id: accountId, created_by: w.created_by, sort: w.sort, disabled: w.disabled, settings: [...w.settings] });

	/** @param {Ctx} ctx */
	function listEvents(ctx) {
		const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
		/** @type {Set<string> | null} */
		const ids = filter.id !== undefined ? new Set(asList(filter.id).flatMap((s) => s.split(','))) : null;
		const types = filter.type !== undefined ? new Set(asList(filter.type).flatMap((s) => s.split(','))) : null;
		const ents = filter.entity !== undefined ? new Set(asList(filter.entity).flatMap((s) => s.split(','))) : null;
		const eids = idSet(filter.entity_id);
		const by = idSet(filter.created_by);
		const cr = rangeFilter(filter.created_at);
		const rows = [];
		for (let i = events.length - 1; i >= 0; i--) {
			const e = events[i];
			if (ids && !ids.has(e.id)) continue;
			if (types && !types.has(e.type)) continue;
			if (ents && !ents.has(e.entity_type)) continue;
			if (eids && !eids.has(e.entity_id)) continue;
			if (by && !by.has(e.created_by)) continue;
			if (cr && !cr(e.created_at)) continue;
			rows.push(e);
		}
		return pageOf(ctx, 'events', rows, (e) => ({
			...e,
			_links: { self: href(`/api/v4/events/${e.id}`) },
			_embedded: { entity: { id: e.entity_id, _links: { self: href(`/api/v4/${Object.keys(SINGULAR).find((k) => SINGULAR[/** @type {'leads'} */ (k)] === e.entity_type) || e.entity_type}/${e.entity_id}`) } } },
		}), { maxLimit: EVENTS_MAX_LIMIT });
	}

	// ---- router ---------------------------------------------------------------------------------------------
	const ENT = '(leads|contacts|companies|tasks)';
	const NENT = '(leads|contacts|companies)';
	/** @type {[string, RegExp, (ctx: Ctx, m: RegExpExecArray) => Res][]} */
	const routes = [
		['GET', /^\/api\/v4\/account$/, (ctx) => account(ctx)],
		['GET', /^\/api\/v4\/users$/, (ctx) => pageOf(ctx, 'users', users, userOut, { totalItems: true })],
		['GET', /^\/api\/v4\/users\/(\d+)$/, (ctx, m) => {
			const u = users.find((x) => x.id === Number(m[1]));
			if (!u) return noContent();
			return ok(userOut(u));
		}],
		['GET', /^\/api\/v4\/leads\/pipelines$/, () => ok({ _total_items: pipelines.length, _links: { self: href('/api/v4/leads/pipelines') }, _embedded: { pipelines: [...pipelines].sort((a, b) => a.sort - b.sort).map(pipelineOut) } })],
		['POST', /^\/api\/v4\/leads\/pipelines$/, (ctx) => {
			requireArray(ctx.body, 50);
			/** @type {any[]} */
			const groups = [];
			ctx.body.forEach((/** @type {any} */ p, /** @type {number} */ i) => {
				if (!isObj(p) || typeof p.name !== 'string' || !p.name) groups.push({ request_id: String(i), errors: [V.blank('name')] });
			});
			if (groups.length) throw validationError(groups);
			const out = ctx.body.map((/** @type {any} */ p, /** @type {number} */ i) => {
				const sts = p._embedded && Array.isArray(p._embedded.statuses) ? p._embedded.statuses.filter((/** @type {any} */ s) => s && typeof s.name === 'string' && ![142, 143].includes(s.id)).map((/** @type {any} */ s) => ({ name: s.name, color: s.color })) : undefined;
				const np = addPipeline({ name: p.name, sort: p.sort, is_main: false, statuses: sts });
				if (p.is_main === true) for (const x of pipelines) x.is_main = x === np;
				return { ...pipelineOut(np), request_id: p.request_id !== undefined ? String(p.request_id) : String(i) };
			});
			return ok({ _total_items: out.length, _embedded: { pipelines: out } });
		}],
		['GET', /^\/api\/v4\/leads\/pipelines\/(\d+)$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			return ok(pipelineOut(p));
		}],
		['DELETE', /^\/api\/v4\/leads\/pipelines\/(\d+)$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			if (p.is_main) throw problem(400, 'Main pipeline can not be deleted');
			if (live('leads').some((l) => l.pipeline_id === p.id)) throw problem(400, 'Pipeline has leads');
			pipelines = pipelines.filter((x) => x !== p);
			return noContent();
		}],
		['GET', /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			return ok({ _total_items: p.statuses.length, _links: { self: href(`/api/v4/leads/pipelines/${p.id}/statuses`) }, _embedded: { statuses: [...p.statuses].sort((a, b) => a.sort - b.sort).map(statusOut) } });
		}],
		['POST', /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			requireArray(ctx.body, 100);
			/** @type {any[]} */
			const groups = [];
			ctx.body.forEach((/** @type {any} */ s, /** @type {number} */ i) => {
				if (!isObj(s) || typeof s.name !== 'string' || !s.name) groups.push({ request_id: String(i), errors: [V.blank('name')] });
			});
			if (groups.length) throw validationError(groups);
			const out = ctx.body.map((/** @type {any} */ s, /** @type {number} */ i) => {
				const st = mkStatus(nextId('statuses'), s.name, isInt(s.sort) ? s.sort : 100 + p.statuses.length * 10, true, p.id, s.color ?? '#99ccff', 0);
				p.statuses.push(st);
				return { ...statusOut(st), request_id: s.request_id !== undefined ? String(s.request_id) : String(i) };
			});
			return ok({ _total_items: out.length, _embedded: { statuses: out } });
		}],
		['GET', /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses\/(\d+)$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			const s = p.statuses.find((/** @type {any} */ x) => x.id === Number(m[2]));
			if (!s) throw problem(404, 'Status not found');
			return ok(statusOut(s));
		}],
		['DELETE', /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses\/(\d+)$/, (ctx, m) => {
			const p = pipelineById(Number(m[1]));
			if (!p) throw problem(404, 'Pipeline not found');
			const s = p.statuses.find((/** @type {any} */ x) => x.id === Number(m[2]));
			if (!s) throw problem(404, 'Status not found');
			if (!s.is_editable || s.type === 1) throw problem(400, 'Status can not be deleted');
			// leads of a deleted status move to the first status of the pipeline
			p.statuses = p.statuses.filter((/** @type {any} */ x) => x !== s);
			for (const l of live('leads')) if (l.pipeline_id === p.id && l.status_id === s.id) l.status_id = firstStatus(p).id;
			return noContent();
		}],
		['GET', new RegExp(`^/api/v4/${NENT}/custom_fields$`), (ctx, m) => {
			const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
			const ids = idSet(filter.id);
			const types = filter.type !== undefined ? new Set(asList(filter.type)) : null;
			const rows = customFields[m[1]].filter((f) => (!ids || ids.has(f.id)) && (!types || types.has(f.type)));
			return pageOf(ctx, 'custom_fields', rows, fieldOut, { totalItems: true });
		}],
		['GET', new RegExp(`^/api/v4/${NENT}/custom_fields/(\\d+)$`), (ctx, m) => {
			const f = customFields[m[1]].find((x) => x.id === Number(m[2]));
			if (!f) throw problem(404, 'Custom field not found');
			return ok(fieldOut(f));
		}],
		['GET', new RegExp(`^/api/v4/${NENT}/tags$`), (ctx, m) => {
			const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
			const ids = idSet(filter.id);
			const name = filter.name !== undefined ? String(filter.name).toLowerCase() : null;
			const q = ctx.q.query !== undefined ? String(ctx.q.query).toLowerCase() : null;
			const rows = [...tags[m[1]].values()].filter((t) => (!ids || ids.has(t.id)) && (name === null || t.name.toLowerCase() === name) && (q === null || t.name.toLowerCase().includes(q)));
			return pageOf(ctx, 'tags', rows, (t) => (m[1] === 'leads' ? { id: t.id, name: t.name, color: t.color } : { id: t.id, name: t.name, color: null }));
		}],
		['POST', new RegExp(`^/api/v4/${NENT}/tags$`), (ctx, m) => {
			requireArray(ctx.body, MAX_BATCH);
			/** @type {any[]} */
			const groups = [];
			ctx.body.forEach((/** @type {any} */ t, /** @type {number} */ i) => {
				if (!isObj(t) || typeof t.name !== 'string' || !t.name.trim()) groups.push({ request_id: t && t.request_id !== undefined ? String(t.request_id) : String(i), errors: [V.blank('name')] });
			});
			if (groups.length) throw validationError(groups);
			const out = ctx.body.map((/** @type {any} */ t, /** @type {number} */ i) => {
				const tag = tagByName(m[1], t.name.trim(), t.color);
				return { id: tag.id, name: tag.name, color: tag.color, request_id: t.request_id !== undefined ? String(t.request_id) : String(i) };
			});
			return ok({ _total_items: out.length, _embedded: { tags: out } });
		}],
		// notes
		['GET', new RegExp(`^/api/v4/${NENT}/notes$`), (ctx, m) => listNotes(m[1], null, ctx)],
		['POST', new RegExp(`^/api/v4/${NENT}/notes$`), (ctx, m) => createNotes(m[1], null, ctx)],
		['PATCH', new RegExp(`^/api/v4/${NENT}/notes$`), (ctx, m) => updateNotes(m[1], null, ctx)],
		['GET', new RegExp(`^/api/v4/${NENT}/notes/(\\d+)$`), (ctx, m) => {
			const n = notes.get(Number(m[2]));
			return n && n.entity_type === m[1] ? ok(noteOut(n)) : noContent();
		}],
		['PATCH', new RegExp(`^/api/v4/${NENT}/notes/(\\d+)$`), (ctx, m) => updateNotes(m[1], Number(m[2]), ctx)],
		['GET', new RegExp(`^/api/v4/${NENT}/(\\d+)/notes$`), (ctx, m) => {
			if (!getLive(m[1], Number(m[2]))) return noContent();
			return listNotes(m[1], Number(m[2]), ctx);
		}],
		['POST', new RegExp(`^/api/v4/${NENT}/(\\d+)/notes$`), (ctx, m) => createNotes(m[1], Number(m[2]), ctx)],
		['GET', new RegExp(`^/api/v4/${NENT}/(\\d+)/notes/(\\d+)$`), (ctx, m) => {
			const n = notes.get(Number(m[3]));
			return n && n.entity_type === m[1] && n.entity_id === Number(m[2]) ? ok(noteOut(n)) : noContent();
		}],
		['PATCH', new RegExp(`^/api/v4/${NENT}/(\\d+)/notes/(\\d+)$`), (ctx, m) => updateNotes(m[1], Number(m[3]), ctx)],
		// links
		['POST', new RegExp(`^/api/v4/${NENT}/link$`), (ctx, m) => linkOp(m[1], ctx, null, false)],
		['POST', new RegExp(`^/api/v4/${NENT}/unlink$`), (ctx, m) => linkOp(m[1], ctx, null, true)],
		['POST', new RegExp(`^/api/v4/${NENT}/(\\d+)/link$`), (ctx, m) => linkOp(m[1], ctx, Number(m[2]), false)],
		['POST', new RegExp(`^/api/v4/${NENT}/(\\d+)/unlink$`), (ctx, m) => linkOp(m[1], ctx, Number(m[2]), true)],
		['GET', new RegExp(`^/api/v4/${NENT}/(\\d+)/links$`), (ctx, m) => linksList(m[1], [Number(m[2])], ctx)],
		['GET', new RegExp(`^/api/v4/${NENT}/links$`), (ctx, m) => {
			const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
			const ids = idSet(filter.entity_id);
			if (!ids) throw validationError([{ request_id: '0', errors: [V.blank('filter.entity_id')] }]);
			return linksList(m[1], [...ids], ctx);
		}],
		['POST', /^\/api\/v4\/leads\/complex$/, (ctx) => complex(ctx)],
		// events
		['GET', /^\/api\/v4\/events$/, (ctx) => listEvents(ctx)],
		['GET', /^\/api\/v4\/events\/([0-9a-z]+)$/, (ctx, m) => {
			const e = events.find((x) => x.id === m[1]);
			return e ? ok({ ...e, _links: { self: href(`/api/v4/events/${e.id}`) } }) : noContent();
		}],
		// webhooks
		['GET', /^\/api\/v4\/webhooks$/, (ctx) => {
			const filter = isObj(ctx.q.filter) ? ctx.q.filter : {};
			const rows = webhooks.filter((w) => filter.destination === undefined || w.destination === String(filter.destination));
			if (!rows.length) return noContent();
			return ok({ _total_items: rows.length, _links: { self: href('/api/v4/webhooks') }, _embedded: { webhooks: rows.map(webhookOut) } });
		}],
		['POST', /^\/api\/v4\/webhooks$/, (ctx) => {
			const b = ctx.body;
			/** @type {any[]} */
			const errors = [];
			if (!isObj(b)) throw validationError([{ request_id: '0', errors: [V.type('', 'array')] }]);
			let destOk = false;
			try {
				const u = new URL(String(b.destination));
				destOk = u.protocol === 'http:' || u.protocol === 'https:';
			} catch {
				destOk = false;
			}
			if (typeof b.destination !== 'string' || !destOk) errors.push(b.destination ? V.type('destination', 'url') : V.blank('destination'));
			if (!Array.isArray(b.settings) || !b.settings.length) errors.push(V.blank('settings'));
			else b.settings.forEach((/** @type {any} */ s, /** @type {number} */ i) => {
				if (!WEBHOOK_ACTIONS.has(s)) errors.push(V.choice(`settings.${i}`));
			});
			if ('sort' in b && !isInt(b.sort)) errors.push(V.type('sort', 'int'));
			if (errors.length) throw validationError([{ request_id: '0', errors }]);
			let w = webhooks.find((x) => x.destination === b.destination);
			const t = now();
			if (w) {
				w.settings = [...new Set(b.settings)];
				w.updated_at = t;
				w.disabled = false;
				w._failures = [];
				if (isInt(b.sort)) w.sort = b.sort;
			} else {
				w = { id: nextId('webhooks'), destination: b.destination, created_at: t, updated_at: t, created_by: ctx.userId, sort: isInt(b.sort) ? b.sort : 1, disabled: false, settings: [...new Set(b.settings)], _failures: [] };
				webhooks.push(w);
			}
			return ok(webhookOut(w));
		}],
		['DELETE', /^\/api\/v4\/webhooks$/, (ctx) => {
			const b = ctx.body;
			if (!isObj(b) || typeof b.destination !== 'string' || !b.destination) throw validationError([{ request_id: '0', errors: [V.blank('destination')] }]);
			const before = webhooks.length;
			webhooks = webhooks.filter((w) => w.destination !== b.destination);
			if (webhooks.length === before) throw problem(404, 'Webhook not found');
			return noContent();
		}],
		// core entities
		['GET', new RegExp(`^/api/v4/${ENT}$`), (ctx, m) => listRecords(m[1], ctx)],
		['POST', new RegExp(`^/api/v4/${ENT}$`), (ctx, m) => createRecords(m[1], ctx)],
		['PATCH', new RegExp(`^/api/v4/${ENT}$`), (ctx, m) => updateRecords(m[1], ctx, null)],
		['GET', new RegExp(`^/api/v4/${ENT}/(\\d+)$`), (ctx, m) => {
			const w = withOf(ctx);
			const r = store[m[1]].get(Number(m[2]));
			if (!r || r.is_deleted !== w.has('only_deleted')) return noContent();
			return ok(toApi(m[1], r, w));
		}],
		['PATCH', new RegExp(`^/api/v4/${ENT}/(\\d+)$`), (ctx, m) => updateRecords(m[1], ctx, Number(m[2]))],
	];
	/** paths that exist but not for the method used → 405 */
	const KNOWN_405 = [
		new RegExp(`^/api/v4/${ENT}(/\\d+)?$`),
		new RegExp(`^/api/v4/${NENT}(/\\d+)?/notes(/\\d+)?$`),
		new RegExp(`^/api/v4/${NENT}/tags$`),
		/^\/api\/v4\/(account|users(\/\d+)?|events(\/[0-9a-z]+)?|webhooks|leads\/complex)$/,
		/^\/api\/v4\/leads\/pipelines(\/\d+(\/statuses(\/\d+)?)?)?$/,
		new RegExp(`^/api/v4/${NENT}/custom_fields(/\\d+)?$`),
		new RegExp(`^/api/v4/${NENT}(/\\d+)?/(link|unlink|links)$`),
	];

	// ---- OAuth ----------------------------------------------------------------------------------------------
	/** @param {string} clientId @param {number} userId @param {string} chain */
	function issueTokens(clientId, userId, chain) {
		const t = now();
		const jti = crypto.randomBytes(20).toString('hex');
		const access = jwtToken({
			aud: clientId, jti, iat: t, nbf: t, exp: t + accessTokenTtl, sub: String(userId), grant_type: '',
			account_id: accountId, base_domain: domain, version: 2, scopes: ['push_notifications', 'files', 'crm', 'files_delete', 'notifications'],
			hash_uuid: crypto.randomUUID(), api_domain: `api-b.${domain}`,
		}, Buffer.concat([tokenSig, crypto.randomBytes(56)]));
		const refresh = crypto.randomBytes(180).toString('base64url').replace(/[-_]/g, 'a');
		accessTokens.set(access, { kind: 'oauth', chain, expiresAt: t + accessTokenTtl, revoked: false, userId });
		refreshTokens.set(refresh, { chain, expiresAt: t + refreshTokenTtl, used: false, clientId });
		return { token_type: 'Bearer', expires_in: accessTokenTtl, access_token: access, refresh_token: refresh };
	}
	/** @param {string} chain */
	function revokeChain(chain) {
		const c = chains.get(chain);
		if (c) c.revoked = true;
		for (const a of accessTokens.values()) if (a.chain === chain) a.revoked = true;
		for (const r of refreshTokens.values()) if (r.chain === chain) r.used = true;
	}
	/** POST /oauth2/access_token. @param {Ctx} ctx */
	function accessToken(ctx) {
		const b = isObj(ctx.body) ? ctx.body : Object.fromEntries(new URLSearchParams(ctx.rawBody));
		const grant = b.grant_type;
		if (!['authorization_code', 'refresh_token'].includes(grant)) {
			if (!grant) throw oauthError(400, 'Check the `grant_type` parameter');
			throw oauthError(400, 'The authorization grant type is not supported by the authorization server.');
		}
		if (!b.client_id) throw oauthError(400, 'Check the `client_id` parameter');
		const client = clients.find((c) => c.client_id === b.client_id);
		if (!client || client.client_secret !== b.client_secret) throw oauthError(401, 'Client authentication failed');
		if (b.redirect_uri !== undefined && b.redirect_uri !== client.redirect_uri) throw oauthError(401, 'Client authentication failed');
		if (grant === 'authorization_code') {
			if (!b.code) throw oauthError(400, 'Check the `code` parameter');
			const c = authCodes.get(String(b.code));
			if (!c) throw oauthError(400, 'Cannot decrypt the authorization code');
			if (c.clientId !== client.client_id) throw oauthError(400, 'Authorization code was not issued to this client');
			if (c.used) throw oauthError(400, 'Authorization code has been revoked');
			if (c.expiresAt < now()) throw oauthError(400, 'Authorization code has expired');
			if (b.redirect_uri === undefined) throw oauthError(400, 'Check the `redirect_uri` parameter');
			c.used = true;
			const chain = crypto.randomBytes(8).toString('hex');
			chains.set(chain, { revoked: false, clientId: client.client_id });
			return ok(issueTokens(client.client_id, adminId, chain));
		}
		if (!b.refresh_token) throw oauthError(400, 'Check the `refresh_token` parameter');
		const rt = refreshTokens.get(String(b.refresh_token));
		if (!rt) throw oauthError(401, 'Cannot decrypt the refresh token');
		if (rt.clientId !== client.client_id) throw oauthError(401, 'Token is not linked to client');
		if (rt.expiresAt < now()) throw oauthError(401, 'Token has expired');
		if (rt.used) {
			if (breakChainOnReuse) revokeChain(rt.chain);
			throw oauthError(401, 'Token has been revoked');
		}
		rt.used = true;
		// the access token of the previous pair is revoked when it is refreshed (league/oauth2-server behaviour)
		for (const a of accessTokens.values()) if (a.chain === rt.chain) a.revoked = true;
		return ok(issueTokens(client.client_id, adminId, rt.chain));
	}
	/** @param {string} clientId @param {{ state?: string }} [o] */
	function issueAuthCode(clientId = clients[0].client_id, o = {}) {
		const code = `def50200${crypto.randomBytes(120).toString('hex')}`;
		authCodes.set(code, { clientId, expiresAt: now() + authCodeTtl, used: false, state: o.state });
		return code;
	}

	// ---- request handling -------------------------------------------------------------------------------------
	/** @param {http.IncomingMessage} req @returns {Promise<string>} */
	function readBody(req) {
		return new Promise((resolve, reject) => {
			/** @type {Buffer[]} */
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
			req.on('error', reject);
		});
	}
	/** @param {http.ServerResponse} res @param {Res} r */
	function write(res, r) {
		if (r.status === 204) {
			res.writeHead(204);
			res.end();
			return;
		}
		if (r.raw !== undefined) {
			res.writeHead(r.status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(r.raw), ...(r.headers || {}) });
			res.end(r.raw);
			return;
		}
		const text = r.text !== undefined ? r.text : JSON.stringify(r.body);
		const ct = r.status >= 400 ? 'application/problem+json' : 'application/hal+json';
		res.writeHead(r.status, { 'Content-Type': ct, 'Content-Length': Buffer.byteLength(text), ...(r.headers || {}) });
		res.end(text);
	}
	/** @param {ApiError} e @returns {Res} */
	function errRes(e) {
		if (typeof e.body === 'string') return { status: e.status, raw: e.body, headers: { 'Content-Type': e.contentType } };
		return { status: e.status, body: e.body };
	}

	/** @param {string} token */
	function checkRate(token) {
		const t = nowMs();
		const win = (rateWindows.get(token) || []).filter((x) => t - x < 1000);
		let all = 0;
		for (const [k, v] of rateWindows) {
			if (k === token) continue;
			for (const x of v) if (t - x < 1000) all++;
		}
		all += win.length;
		if (win.length >= knobs.rps || all >= knobs.accountRps) {
			rateWindows.set(token, win);
			recent429 = recent429.filter((x) => t - x < 60000);
			recent429.push(t);
			if (knobs.ipBlockAfter429s !== null && recent429.length >= knobs.ipBlockAfter429s) knobs.ipBlocked = true;
			return false;
		}
		win.push(t);
		rateWindows.set(token, win);
		return true;
	}

	/**
	 * @param {http.IncomingMessage} req
	 * @param {http.ServerResponse} res
	 */
	async function handle(req, res) {
		const rawUrl = req.url || '/';
		const qi = rawUrl.indexOf('?');
		const path = (qi >= 0 ? rawUrl.slice(0, qi) : rawUrl).replace(/\/+$/, '') || '/';
		const sp = new URLSearchParams(qi >= 0 ? rawUrl.slice(qi + 1) : '');
		const q = parsePhpQuery(sp);
		const method = (req.method || 'GET').toUpperCase();
		const base = options.linkBase || `http://${req.headers.host || '127.0.0.1'}`;
		publicBase = base;
		const rawBody = await readBody(req);
		/** @type {any} */
		let body;
		let badJson = false;
		if (rawBody.length) {
			const ct = String(req.headers['content-type'] || '');
			if (ct.includes('x-www-form-urlencoded')) body = parsePhpQuery(new URLSearchParams(rawBody));
			else {
				try {
					body = JSON.parse(rawBody);
				} catch {
					badJson = true;
				}
			}
		}
		const auth = String(req.headers.authorization || '');
		const token = /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
		const entry = { method, path, query: q, body: badJson ? rawBody : body, token, at: nowMs(), status: 0 };
		requests.push(entry);
		if (knobs.latencyMs > 0) await new Promise((r) => setTimeout(r, knobs.latencyMs));
		/** @param {Res} r */
		const finish = (r) => {
			entry.status = r.status;
			write(res, r);
		};

		// OAuth endpoints (not rate-limited here)
		if (path === '/oauth2/access_token') {
			if (method !== 'POST') return finish(errRes(problem(405, 'Method Not Allowed')));
			try {
				return finish(accessToken({ method, path, sp, q, body, rawBody, token, userId: adminId, base, req }));
			} catch (e) {
				if (e instanceof ApiError) return finish(errRes(e));
				throw e;
			}
		}
		if (path === '/oauth' || path === '/oauth2/authorize') {
			const client = clients.find((c) => c.client_id === q.client_id);
			if (!client) return finish({ status: 400, raw: '<html><body>Integration not found</body></html>' });
			const code = issueAuthCode(client.client_id, { state: q.state });
			const u = new URL(client.redirect_uri);
			u.searchParams.set('code', code);
			if (q.state !== undefined) u.searchParams.set('state', String(q.state));
			u.searchParams.set('referer', `${subdomain}.${domain}`);
			u.searchParams.set('platform', domain.endsWith('kommo.com') ? '2' : '1');
			u.searchParams.set('client_id', client.client_id);
			entry.status = 302;
			res.writeHead(302, { Location: u.toString(), 'Content-Length': 0 });
			res.end();
			return;
		}
		if (!path.startsWith('/api/v4/') && path !== '/api/v4') return finish(errRes(problem(404, 'Not Found')));

		// faults
		const fi = knobs.failNext.findIndex((f) => (!f.path || (typeof f.path === 'string' ? path.startsWith(f.path) : f.path.test(path))) && (!f.method || f.method.toUpperCase() === method));
		if (fi >= 0) {
			const f = knobs.failNext.splice(fi, 1)[0];
			switch (f.type) {
				case 'drop':
					entry.status = -1;
					req.socket.destroy();
					return;
				case 'http500':
					return finish(errRes(problem(500, 'Internal Server Error')));
				case 'timeout504':
					return finish({ status: 504, raw: '<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>' });
				case 'rateLimit':
					return finish(errRes(problem(429, 'Too Many Requests')));
				case 'ipBlock':
					return finish({ status: 403, raw: NGINX_403 });
				case 'paymentRequired':
					return finish(errRes(problem(402, 'Payment Required')));
				case 'forbidden':
					return finish(errRes(problem(403, 'Access denied')));
				case 'expireToken': {
					// OAuth access token: expired for good; long-lived token: this one request answers 401
					const a = token ? accessTokens.get(token) : undefined;
					if (a && a.kind === 'oauth') a.expiresAt = 0;
					else return finish(errRes(problem(401, 'Неверный логин или пароль')));
					break;
				}
				default:
					break;
			}
		}
		if (knobs.ipBlocked) return finish({ status: 403, raw: NGINX_403 });

		// auth
		const a = token ? accessTokens.get(token) : undefined;
		if (!a || a.revoked || a.expiresAt <= now()) return finish(errRes(problem(401, 'Неверный логин или пароль')));
		if (knobs.accountUnpaid) return finish(errRes(problem(402, 'Payment Required')));
		if (!checkRate(/** @type {string} */ (token))) return finish(errRes(problem(429, 'Too Many Requests')));
		if (badJson) return finish(errRes(problem(400, 'Syntax error: malformed JSON')));

		/** @type {Ctx} */
		const ctx = { method, path, sp, q, body, rawBody, token, userId: a.userId, base, req };
		for (const [m, re, fn] of routes) {
			if (m !== method) continue;
			const mm = re.exec(path);
			if (!mm) continue;
			beginBatch();
			try {
				const r = fn(ctx, mm);
				endBatch();
				return finish(r);
			} catch (e) {
				batch = null;
				if (e instanceof ApiError) return finish(errRes(e));
				throw e;
			}
		}
		if (KNOWN_405.some((re) => re.test(path))) return finish(errRes(problem(405, `Method ${method} is not allowed`)));
		return finish(errRes(problem(404, 'Not Found')));
	}

	/** @type {http.Server | null} */
	let server = null;
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();

	// ---- test helpers ------------------------------------------------------------------------------------------
	/** @param {string} entity */
	const assertEntity = (entity) => {
		if (!ENTITIES.includes(/** @type {any} */ (entity))) throw new Error(`amocrm emulator: unsupported entity ${entity}`);
	};
	/** @param {string} entity @param {Record<string, any>} fields */
	function helperPatch(entity, fields, existing = /** @type {Rec | null} */ (null)) {
		/** @type {any[]} */
		const errors = [];
		const patch = validateItem(entity, fields, existing, errors);
		if (errors.length) throw new Error(`amocrm emulator: invalid ${entity} fields: ${JSON.stringify(errors)}`);
		return patch;
	}
	/** @param {string} entity @param {number} id */
	function rowOf(entity, id) {
		assertEntity(entity);
		const r = getLive(entity, Number(id));
		if (!r) throw new Error(`amocrm emulator: no ${entity} ${id}`);
		return r;
	}
	const getBase = () => publicBase;

	return {
		/** @param {number} [port] @returns {Promise<string>} base URL */
		start(port = 0) {
			return new Promise((resolve, reject) => {
				server = http.createServer((req, res) => {
					handle(req, res).catch((e) => {
						// eslint-disable-next-line no-console
						console.error('[amocrm-emulator]', e);
						if (!res.headersSent) write(res, errRes(problem(500, 'Internal Server Error')));
					});
				});
				server.keepAliveTimeout = 5000;
				server.on('connection', (s) => {
					sockets.add(s);
					s.on('close', () => sockets.delete(s));
				});
				server.once('error', reject);
				server.listen(port, '127.0.0.1', () => {
					const addr = /** @type {import('node:net').AddressInfo} */ (/** @type {http.Server} */ (server).address());
					const url = `http://127.0.0.1:${addr.port}`;
					if (!options.linkBase) publicBase = url;
					resolve(url);
				});
			});
		},
		/** @returns {Promise<void>} */
		stop() {
			return new Promise((resolve) => {
				if (!server) return resolve();
				for (const s of sockets) s.destroy();
				server.close(() => resolve());
				server = null;
			});
		},
		get baseUrl() {
			return getBase();
		},
		account: { subdomain, id: accountId, domain },
		users: users.map((u) => ({ ...u })),
		/** long-lived tokens accepted as Bearer (the first is the default) */
		longLivedTokens: [...longLived],
		get longLivedToken() {
			return longLived[0];
		},
		oauthClients: clients.map((c) => ({ ...c })),
		get oauthClient() {
			return { ...clients[0] };
		},
		requests,
		clearRequests() {
			requests.length = 0;
		},
		deliveries,
		clearDeliveries() {
			deliveries.length = 0;
		},
		/** Resolves when every queued / in-flight webhook delivery (and retry) has finished. */
		async flushDeliveries() {
			await new Promise((r) => setImmediate(r));
			while (pendingDeliveries.size) await Promise.all([...pendingDeliveries]);
		},
		knobs,
		reset() {
			initState();
			requests.length = 0;
			deliveries.length = 0;
			knobs.failNext.length = 0;
			knobs.ipBlocked = false;
			knobs.accountUnpaid = false;
			rateWindows.clear();
			recent429 = [];
		},
		/** Expire every OAuth access token now (long-lived tokens are not affected unless `includeLongLived`). */
		expireAccessTokens(includeLongLived = false) {
			for (const a of accessTokens.values()) if (a.kind === 'oauth' || includeLongLived) a.expiresAt = 0;
		},
		/** @param {string} [clientId] @param {{ state?: string }} [o] */
		issueAuthCode,
		/** Issue a token pair directly (as if the code exchange had happened). @param {string} [clientId] */
		issueTokens(clientId = clients[0].client_id) {
			const chain = crypto.randomBytes(8).toString('hex');
			chains.set(chain, { revoked: false, clientId });
			return issueTokens(clientId, adminId, chain);
		},
		/** Authorize URL of the auto-approving page. @param {{ clientId?: string, state?: string, mode?: 'popup' | 'post_message' }} [o] */
		authorizeUrl(o = {}) {
			const sp = new URLSearchParams({ client_id: o.clientId ?? clients[0].client_id, state: o.state ?? '', mode: o.mode ?? 'post_message' });
			return `${getBase()}/oauth?${sp}`;
		},
		/** @param {string} token */
		tokenInfo(token) {
			const a = accessTokens.get(token);
			return a ? { kind: a.kind, expiresAt: a.expiresAt, revoked: a.revoked } : undefined;
		},
		/**
		 * Create a record as a user would in the UI (emits add_* webhooks and events). Fields use the v4 input shape.
		 * @param {'leads' | 'contacts' | 'companies' | 'tasks'} entity @param {Record<string, any>} [fields]
		 */
		createRecord(entity, fields = {}) {
			assertEntity(entity);
			beginBatch();
			const r = insert(entity, helperPatch(entity, fields), fields.created_by ?? adminId);
			endBatch();
			return toApi(entity, r, new Set(['contacts', 'leads']));
		},
		/** @param {'leads' | 'contacts' | 'companies' | 'tasks'} entity @param {number} id @param {Record<string, any>} [fields] */
		updateRecord(entity, id, fields = {}) {
			const r = rowOf(entity, id);
			beginBatch();
			modify(entity, r, helperPatch(entity, fields, r), fields.updated_by ?? adminId);
			endBatch();
			return toApi(entity, r, new Set(['contacts', 'leads']));
		},
		/** UI delete (the API has none): soft delete + delete_* webhook. @param {'leads' | 'contacts' | 'companies' | 'tasks'} entity @param {number} id */
		deleteRecord(entity, id) {
			const r = rowOf(entity, id);
			beginBatch();
			remove(entity, r, adminId);
			endBatch();
		},
		/** @param {'leads' | 'contacts' | 'companies' | 'tasks'} entity @param {number} id */
		getRecord(entity, id) {
			assertEntity(entity);
			const r = store[entity].get(Number(id));
			return r ? toApi(entity, r, new Set(['contacts', 'leads'])) : undefined;
		},
		/** Add a note (emits note_* webhook). @param {'leads' | 'contacts' | 'companies'} entity @param {number} entityId @param {{ note_type?: string, params?: Record<string, any>, text?: string }} [note] */
		addNote(entity, entityId, note = {}) {
			rowOf(entity, entityId);
			beginBatch();
			const n = insertNote(entity, Number(entityId), { note_type: note.note_type ?? 'common', params: note.params ?? { text: note.text ?? 'Note' } }, adminId);
			endBatch();
			return noteOut(n);
		},
		/** @param {string} ae @param {number} aid @param {string} be @param {number} bid @param {{ main?: boolean }} [o] */
		link(ae, aid, be, bid, o = {}) {
			if (ae === 'leads' && be === 'contacts') linkContactToLead(aid, bid, !!o.main);
			else if (ae === 'contacts' && be === 'leads') linkContactToLead(bid, aid, !!o.main);
			else if (be === 'companies') setCompany(ae, aid, bid);
			else if (ae === 'companies') setCompany(be, bid, aid);
			else addLink(ae, aid, be, bid, {});
		},
		/** @param {string} entity @param {Parameters<typeof addCustomField>[1]} def */
		addCustomField(entity, def) {
			return fieldOut(addCustomField(entity, def));
		},
		/** @param {'leads' | 'contacts' | 'companies'} entity */
		customFields(entity) {
			return customFields[entity].map(fieldOut);
		},
		/** @param {Parameters<typeof addPipeline>[0]} def */
		addPipeline(def) {
			return pipelineOut(addPipeline(def));
		},
		pipelines() {
			return pipelines.map(pipelineOut);
		},
		/** Register a webhook without the API. @param {string} destination @param {string[]} settings */
		addWebhook(destination, settings) {
			const t = now();
			const w = { id: nextId('webhooks'), destination, created_at: t, updated_at: t, created_by: adminId, sort: 1, disabled: false, settings: [...settings], _failures: [] };
			webhooks.push(w);
			return webhookOut(w);
		},
		webhooks() {
			return webhooks.map(webhookOut);
		},
		events() {
			return events.map((e) => ({ ...e }));
		},
		/**
		 * Fast bulk creation (no events, no webhooks). Returns the new ids.
		 * @param {'leads' | 'contacts' | 'companies' | 'tasks' | 'notes'} entity
		 * @param {number} n
		 * @param {{ seed?: number, createdAt?: number, stepSeconds?: number, fields?: Record<string, any>,
		 *   pipelineId?: number, spreadStatuses?: boolean, contactIds?: number[], companyIds?: number[],
		 *   leadIds?: number[], noteEntity?: 'leads' | 'contacts' | 'companies' }} [opts]
		 */
		seed(entity, n, opts = {}) {
			const offset = entity === 'notes' ? seq.notes : seq[/** @type {'leads'} */ (entity)];
			const rows = generate(entity, n, { seed: opts.seed, offset });
			const r = rng((opts.seed ?? 42) + 17 + offset);
			const base = opts.createdAt ?? now() - n * (opts.stepSeconds ?? 60);
			const step = opts.stepSeconds ?? 60;
			const cfs = (/** @type {string} */ e) => ({ phone: findField(e, 'PHONE'), email: findField(e, 'EMAIL'), web: findField(e, 'WEB') });
			/** @type {number[]} */
			const ids = [];
			const p = opts.pipelineId ? pipelineById(opts.pipelineId) : null;
			for (let k = 0; k < rows.length; k++) {
				const g = rows[k];
				const t = base + k * step;
				const by = pick(r, users).id;
				if (entity === 'notes') {
					const target = opts.noteEntity ?? 'leads';
					const pool = opts.leadIds ?? live(target).map((x) => x.id);
					if (!pool.length) throw new Error('amocrm emulator: seed notes needs records');
					const nn = insertNote(target, pick(r, pool), { note_type: g.note_type, params: g.params, created_at: t, created_by: by }, by, { quiet: true });
					ids.push(nn.id);
					continue;
				}
				/** @type {Record<string, any>} */
				const patch = { created_at: t, updated_at: t, created_by: by, responsible_user_id: by };
				if (entity === 'leads') {
					const pl = p || (opts.spreadStatuses === false ? mainPipeline() : pick(r, pipelines));
					const st = opts.spreadStatuses === false ? firstStatus(pl) : pick(r, pl.statuses.filter((/** @type {any} */ s) => s.type === 0));
					Object.assign(patch, { name: g.name, price: g.price, pipeline_id: pl.id, status_id: st.id });
				} else if (entity === 'contacts') {
					const f = cfs('contacts');
					Object.assign(patch, { name: g.name, first_name: g.first_name, last_name: g.last_name, cf: [
						{ field_id: f.phone.id, values: [{ value: g._phone, enum_id: f.phone.enums[2].id, enum_code: 'MOB' }] },
						{ field_id: f.email.id, values: [{ value: g._email, enum_id: f.email.enums[0].id, enum_code: 'WORK' }] },
					] });
				} else if (entity === 'companies') {
					const f = cfs('companies');
					Object.assign(patch, { name: g.name, cf: [
						{ field_id: f.phone.id, values: [{ value: g._phone, enum_id: f.phone.enums[0].id, enum_code: 'WORK' }] },
						{ field_id: f.email.id, values: [{ value: g._email, enum_id: f.email.enums[0].id, enum_code: 'WORK' }] },
						{ field_id: f.web.id, values: [{ value: g._web }] },
					] });
				} else if (entity === 'tasks') {
					const pool = opts.leadIds ?? [];
					const lid = pool.length ? pick(r, pool) : null;
					Object.assign(patch, { text: g.text, complete_till: t + g._dueInDays * 86400, task_type_id: 1 + Math.floor(r() * 2), ...(lid ? { entity_type: 'leads', entity_id: lid } : {}) });
				}
				if (opts.fields) Object.assign(patch, helperPatch(entity, entity === 'tasks' ? { text: patch.text, complete_till: patch.complete_till, ...opts.fields } : opts.fields));
				const rec = insert(entity, patch, by, { quiet: true });
				if (entity === 'leads' && opts.contactIds && opts.contactIds.length) linkContactToLead(rec.id, pick(r, opts.contactIds), true);
				if ((entity === 'leads' || entity === 'contacts') && opts.companyIds && opts.companyIds.length) setCompany(entity, rec.id, pick(r, opts.companyIds));
				ids.push(rec.id);
			}
			return ids;
		},
		/** @param {(() => number | Date) | Date | number | string} fnOrDate */
		setClock(fnOrDate) {
			clockOffset = 0;
			if (typeof fnOrDate === 'function') {
				const f = fnOrDate;
				clockBase = () => +f();
			} else {
				const fixed = typeof fnOrDate === 'string' ? Date.parse(fnOrDate) : +fnOrDate;
				clockBase = () => fixed;
			}
		},
		/** @param {number} ms */
		advanceClock(ms) {
			clockOffset += ms;
		},
		/** current emulator time, unix seconds */
		now,
	};
}

module.exports = { createAmoCrmEmulator, parsePhpQuery };
