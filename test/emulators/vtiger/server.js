// @ts-check
'use strict';

/**
 * Vtiger CRM (open source, 8.x) webservices emulator: one endpoint {base}/webservice.php.
 * Follows Vtiger's include/Webservices code and what a real Vtiger 8.0.0 on PHP 8.2 answered (README.md).
 * No dependencies beyond Node's standard library.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { URLSearchParams } = require('node:url');
const path = require('node:path');
const fs = require('node:fs');
const { parseVtql, executeVtql, moduleOfQuery, VtqlError } = require('./vtql.js');
const { generate } = require('./seed.js');

const META = JSON.parse(fs.readFileSync(path.join(__dirname, 'vtiger8-meta.json'), 'utf8'));

const API_VERSION = '0.22';
const VTIGER_VERSION = '8.0.0';

/** Entity modules the emulator stores records for. */
const ENTITY_MODULES = ['Leads', 'Accounts', 'Contacts', 'Potentials', 'HelpDesk'];
/** Record number fields and prefixes (default install numbering). */
const NUMBERING = {
	Leads: ['lead_no', 'LEA'],
	Accounts: ['account_no', 'ACC'],
	Contacts: ['contact_no', 'CON'],
	Potentials: ['potential_no', 'POT'],
	HelpDesk: ['ticket_no', 'TT'],
};
/**
 * Fields the real server reads and queries but does not describe (observed): HelpDesk's update_log (the ticket
 * history, always '' through the webservice, which never writes it) comes after ticketcategories.
 */
const HIDDEN_FIELDS = {
	HelpDesk: [{ after: 'ticketcategories', field: { name: 'update_log', label: 'Update History', mandatory: false, type: { name: 'text' }, editable: false } }],
};
/** Decimal scale of 'double' columns as the real server formats them. */
const DOUBLE_SCALE = { probability: 3 };

/** Operation table: name -> [type, prelogin] (vtiger_ws_operation of a default install). */
const OPERATIONS = {
	login: ['POST', true],
	getchallenge: ['GET', true],
	retrieve: ['GET', false],
	create: ['POST', false],
	update: ['POST', false],
	revise: ['POST', false],
	delete: ['POST', false],
	query: ['GET', false],
	describe: ['GET', false],
	listtypes: ['GET', false],
	sync: ['GET', false],
	logout: ['POST', false],
	extendsession: ['POST', false],
	convertlead: ['POST', false],
	relatedtypes: ['GET', false],
	retrieve_related: ['GET', false],
	query_related: ['GET', false],
	add_related: ['POST', false],
};

/** Lead -> entity field mapping (approximation of vtiger_convertleadmapping defaults). */
const CONVERT_MAP = {
	Accounts: {
		company: 'accountname', industry: 'industry', annualrevenue: 'annual_revenue', phone: 'phone', fax: 'fax',
		rating: 'rating', email: 'email1', website: 'website', city: 'bill_city', code: 'bill_code',
		country: 'bill_country', state: 'bill_state', lane: 'bill_street', pobox: 'bill_pobox',
		noofemployees: 'employees', secondaryemail: 'email2', description: 'description',
	},
	Contacts: {
		salutationtype: 'salutationtype', firstname: 'firstname', lastname: 'lastname', email: 'email', phone: 'phone',
		mobile: 'mobile', fax: 'fax', leadsource: 'leadsource', designation: 'title', secondaryemail: 'secondaryemail',
		emailoptout: 'emailoptout', city: 'mailingcity', code: 'mailingzip', country: 'mailingcountry',
		state: 'mailingstate', lane: 'mailingstreet', pobox: 'mailingpobox', description: 'description',
	},
	Potentials: { leadsource: 'leadsource', description: 'description' },
};

class WsError extends Error {
	/** @param {string} code @param {string} message */
	constructor(code, message) {
		super(message);
		this.code = code;
	}
}
/** Marks a request the real PHP 8 build answers with HTTP 500 and an empty body. */
class Http500 extends Error {}

const DENIED = 'Permission to perform the operation is denied';
const NUMERIC_DEFAULTS = new Set(['currency', 'double', 'integer', 'boolean']);

/** PHP json_encode: escapes '/' and non-ASCII. @param {unknown} v */
function phpJson(v) {
	return JSON.stringify(v)
		.replace(/\//g, '\\/')
		.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** htmlspecialchars(ENT_QUOTES) as used for the record 'label'. @param {string} s */
function htmlEsc(s) {
	return s
		.replace(/&/g, '&amp;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#039;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;');
}

const md5 = (/** @type {string} */ s) => crypto.createHash('md5').update(s).digest('hex');

/**
 * @typedef {{ user_name: string, accessKey: string, id?: string, first_name?: string, last_name?: string,
 *   email1?: string }} UserOption
 * @typedef {{ id: number, module: string, fields: Record<string, string>, deleted: boolean,
 *   converted?: boolean }} RecordRow
 * @typedef {{ type: 'sessionExpired' | 'http500' | 'drop' | 'error', code?: string, message?: string,
 *   operation?: string }} Fault
 */

/**
 * @param {{ users?: UserOption[], latencyMs?: number, sessionIdleMs?: number, sessionMaxMs?: number,
 *   challengeTtlMs?: number, now?: () => (number | Date), sessionExpiryCodes?: 'observed' | 'source',
 *   currencyDecimals?: number, failingOperations?: string[] }} [options]
 */
function createVtigerEmulator(options = {}) {
	const instanceId = crypto.randomBytes(4).toString('hex');
	const users = (options.users && options.users.length
		? options.users
		: [{ user_name: 'admin', accessKey: 'emulatorAccessKey0001', id: '19x1' }]
	).map((u, i) => ({
		user_name: u.user_name,
		accessKey: u.accessKey,
		id: u.id || `19x${i + 1}`,
		first_name: u.first_name ?? (i === 0 ? 'API' : u.user_name),
		last_name: u.last_name ?? (i === 0 ? 'Admin' : 'User'),
		email1: u.email1 ?? `${u.user_name}@example.com`,
	}));
	const groups = [
		{ id: '20x2', groupname: 'Team Selling', description: 'Group Related to Sales' },
		{ id: '20x3', groupname: 'Marketing Group', description: 'Group Related to Marketing Activities' },
		{ id: '20x4', groupname: 'Support Group', description: 'Group Related to providing Support to Customers' },
	];
	const sessionIdleMs = options.sessionIdleMs ?? 30 * 60 * 1000;
	const sessionMaxMs = options.sessionMaxMs ?? 24 * 60 * 60 * 1000;
	const challengeTtlMs = options.challengeTtlMs ?? 5 * 60 * 1000;
	const expiryCodes = options.sessionExpiryCodes ?? 'observed';
	const currencyDecimals = options.currencyDecimals ?? 0;

	// ---- clock -------------------------------------------------------------------------------------
	/** @type {() => number} */
	let clockBase = () => Date.now();
	if (options.now) {
		const f = options.now;
		clockBase = () => +f();
	}
	let clockOffset = 0;
	const now = () => clockBase() + clockOffset;
	const stamp = () => new Date(Math.floor(now() / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

	// ---- state -------------------------------------------------------------------------------------
	/** @type {Map<number, RecordRow>} */
	let records = new Map();
	/** @type {Record<string, RecordRow[]>} live rows per module, ascending id (rebuilt lazily) */
	let liveCache = {};
	/** @type {Record<string, number>} */
	let versions = {};
	let nextCrmId = 1;
	/** @type {Record<string, number>} */
	let numbering = {};
	/** @type {Set<string>} relation links "srcId|label|dstId" (numeric ids) */
	let links = new Set();
	/** @type {Map<string, { token: string, expireTime: number }>} user name -> active challenge */
	let tokens = new Map();
	/** @type {Map<string, { userId: string, user_name: string, created: number, last: number }>} */
	let sessions = new Map();

	const knobs = {
		/** @type {Fault[]} */
		failNext: [],
		latencyMs: options.latencyMs ?? 0,
		/** operations that answer HTTP 500 with an empty body, as on the real PHP 8.2 build */
		failingOperations: options.failingOperations ?? ['sync', 'logout', 'convertlead'],
	};
	/** @type {{ method: string, operation: string, params: Record<string, string>, sessionName: string | null,
	 *   at: number }[]} */
	const requests = [];

	const prefixOf = (/** @type {string} */ module) =>
		/** @type {string} */ (META.describe[module].idPrefix);
	/** @type {Record<string, string>} */
	const moduleByPrefix = {};
	for (const m of Object.keys(META.describe)) moduleByPrefix[META.describe[m].idPrefix] = m;

	/** @type {Record<string, any[]>} the fields a record has: describe's, plus the hidden ones in their place */
	const recordFields = {};
	/** @type {Record<string, Map<string, any>>} */
	const fieldMaps = {};
	for (const m of Object.keys(META.describe)) {
		const list = [...META.describe[m].fields];
		for (const { after, field } of HIDDEN_FIELDS[/** @type {'HelpDesk'} */ (m)] || []) {
			list.splice(list.findIndex((/** @type {any} */ f) => f.name === after) + 1, 0, field);
		}
		recordFields[m] = list;
		fieldMaps[m] = new Map(list.map((/** @type {any} */ f) => [f.name, f]));
	}
	const fieldOrderOf = (/** @type {string} */ m) => recordFields[m].map((/** @type {any} */ f) => f.name);

	const touch = (/** @type {string} */ module) => {
		versions[module] = (versions[module] || 0) + 1;
		delete liveCache[module];
	};
	const live = (/** @type {string} */ module) => {
		let rows = liveCache[module];
		if (!rows) {
			rows = [];
			for (const r of records.values()) {
				if (r.module === module && !r.deleted && !r.converted) rows.push(r);
			}
			rows.sort((a, b) => a.id - b.id);
			liveCache[module] = rows;
		}
		return rows;
	};

	// ---- record formatting ---------------------------------------------------------------------------
	/**
	 * Normalise an input value the way the real server stores / returns it.
	 * @param {any} f describe field
	 * @param {unknown} v
	 */
	function normalise(f, v) {
		const s = v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
		switch (f.type.name) {
			case 'currency': {
				const n = Number.parseFloat(s.replace(/,/g, ''));
				const x = Number.isFinite(n) ? n : 0;
				const p = 10 ** currencyDecimals;
				return (Math.round(x * p) / p).toFixed(8);
			}
			case 'double': {
				const n = Number.parseFloat(s);
				return (Number.isFinite(n) ? n : 0).toFixed(DOUBLE_SCALE[/** @type {'probability'} */ (f.name)] ?? 8);
			}
			case 'integer': {
				const n = Number.parseInt(s, 10);
				return String(Number.isFinite(n) ? n : 0);
			}
			case 'boolean':
				return ['1', 'on', 'yes', 'true'].includes(s.toLowerCase()) ? '1' : '0';
			default:
				return s;
		}
	}

	/** @type {Record<string, Record<string, string>>} */
	const templates = {};
	/** Empty record of a module, as the real server returns unset fields. @param {string} module */
	function blankTemplate(module) {
		let t = templates[module];
		if (!t) {
			t = {};
			for (const f of recordFields[module]) {
				if (f.name === 'id') continue;
				t[f.name] = NUMERIC_DEFAULTS.has(f.type.name) ? normalise(f, '') : '';
			}
			templates[module] = t;
		}
		return t;
	}

	/** @param {string} ws */
	function refNumber(ws) {
		if (!ws) return null;
		const n = Number(ws.slice(ws.indexOf('x') + 1));
		return Number.isFinite(n) ? n : null;
	}

	/** Reference value as output: '' when the target never existed. @param {string} v */
	function outRef(v) {
		if (!v) return '';
		const [p, n] = v.split('x');
		const m = moduleByPrefix[p];
		if (m === 'Users') return users.some((u) => u.id === v) ? v : '';
		if (m === 'Groups') return groups.some((g) => g.id === v) ? v : '';
		return records.has(Number(n)) ? v : '';
	}

	/** @param {RecordRow} r @param {string[]} columns */
	function formatRow(r, columns) {
		const fm = fieldMaps[r.module];
		/** @type {Record<string, string>} */
		const out = {};
		for (const c of columns) {
			if (c === 'id') {
				out.id = `${prefixOf(r.module)}x${r.id}`;
				continue;
			}
			const f = fm.get(c);
			const v = r.fields[c] ?? '';
			out[c] = f && f.type.name === 'reference' ? outRef(v) : v;
		}
		return out;
	}
	/** @param {RecordRow} r */
	function labelOf(r) {
		const lf = String(META.describe[r.module].labelFields).split(',');
		// HelpDesk declares labelFields 'title'; the value shown is ticket_title
		return htmlEsc(lf.map((f) => r.fields[f] ?? r.fields[`ticket_${f}`] ?? '').filter(Boolean).join(' '));
	}
	/** Full record as retrieve/create/update answer it (with 'label'). @param {RecordRow} r */
	function fullRecord(r) {
		const out = formatRow(r, fieldOrderOf(r.module));
		out.label = labelOf(r);
		return out;
	}

	// ---- record operations (shared by API and test helpers) ------------------------------------------
	/**
	 * @param {string} module
	 * @param {Record<string, unknown>} element
	 * @param {{ userId: string, raw?: boolean }} ctx raw: test helper (no validation, time fields allowed)
	 */
	function insert(module, element, ctx) {
		const fm = fieldMaps[module];
		const id = nextCrmId++;
		/** @type {Record<string, string>} */
		const fields = Object.assign({}, blankTemplate(module));
		for (const [k, v] of Object.entries(element)) {
			const f = fm.get(k);
			if (!f || k === 'id') continue;
			if (!f.editable && !ctx.raw) continue;
			fields[k] = f.type.name === 'owner' ? ownerValue(v, ctx.userId) : normalise(f, v);
		}
		if (module === 'Potentials' && !(ctx.raw && 'forecast_amount' in element)) forecast(fields);
		const [numField, numPrefix] = NUMBERING[/** @type {'Leads'} */ (module)];
		numbering[module] = (numbering[module] || 0) + 1;
		fields[numField] = `${numPrefix}${numbering[module]}`;
		const t = stamp();
		if (!ctx.raw || !fields.createdtime) fields.createdtime = t;
		if (!ctx.raw || !fields.modifiedtime) fields.modifiedtime = fields.createdtime;
		fields.modifiedby = ctx.userId;
		if (!fields.assigned_user_id) fields.assigned_user_id = ctx.userId;
		fields.source = 'WEBSERVICE';
		/** @type {RecordRow} */
		const row = { id, module, fields, deleted: false };
		records.set(id, row);
		touch(module);
		return row;
	}

	/**
	 * @param {RecordRow} row
	 * @param {Record<string, unknown>} element
	 * @param {{ userId: string, raw?: boolean, dropEmptyRefs?: boolean }} ctx
	 */
	function modify(row, element, ctx) {
		const fm = fieldMaps[row.module];
		let timeSet = false;
		for (const [k, v] of Object.entries(element)) {
			const f = fm.get(k);
			if (!f || k === 'id') continue;
			if (!f.editable && !(ctx.raw && (k === 'modifiedtime' || k === 'createdtime'))) continue;
			if (ctx.dropEmptyRefs && f.type.name === 'reference' && (v === '' || v === null)) continue;
			if (k === 'modifiedtime') timeSet = true;
			row.fields[k] = f.type.name === 'owner' ? ownerValue(v, ctx.userId) : normalise(f, v);
		}
		if (row.module === 'Potentials' && !(ctx.raw && 'forecast_amount' in element)) forecast(row.fields);
		if (!timeSet) row.fields.modifiedtime = stamp();
		row.fields.modifiedby = ctx.userId;
		touch(row.module);
		return row;
	}

	/**
	 * An owner as the real server stores and returns it. The session users are admins, and for an admin
	 * hasAssignPrivilege() is always true, so any value is taken (observed): DataTransform keeps the part after the
	 * first 'x' (none or empty: the current user; not a number: 0, as MySQL casts it), and sanitizeOwnerFields reads
	 * it back as a group id, else a user id, else the bare number ('19x999' -> '999', '11x1' -> '19x1').
	 * @param {unknown} v @param {string} currentUserId
	 */
	function ownerValue(v, currentUserId) {
		const part = (v === null || v === undefined ? '' : String(v)).split('x')[1];
		if (part === undefined || part === '') return currentUserId;
		const m = /^\s*[+-]?\d+/.exec(part);
		const n = m ? Number.parseInt(m[0], 10) : 0;
		if (n === 0) return '0';
		const group = groups.find((g) => g.id === `20x${n}`);
		if (group) return group.id;
		const user = users.find((u) => u.id === `19x${n}`);
		return user ? user.id : String(n);
	}

	/**
	 * The default workflow "Calculate or Update forecast amount" runs on every save of a Potential:
	 * forecast_amount = amount * probability / 100, whatever was sent (observed).
	 * @param {Record<string, string>} fields
	 */
	function forecast(fields) {
		const f = fieldMaps.Potentials.get('forecast_amount');
		fields.forecast_amount = normalise(f, (Number.parseFloat(fields.amount) || 0) * (Number.parseFloat(fields.probability) || 0) / 100);
	}

	// ---- id resolution (Retrieve.php / Update.php / Delete.php order of checks) -----------------------
	/** @param {unknown} wsId */
	function resolve(wsId) {
		const s = typeof wsId === 'string' ? wsId : '';
		const parts = s.split('x');
		const module = moduleByPrefix[parts[0]];
		if (!module) {
			if (parts.length < 2 && /^\d+$/.test(parts[0])) throw new WsError('ACCESS_DENIED', DENIED);
			throw new WsError('ACCESS_DENIED', `${DENIED} for id`);
		}
		const num = parts[1];
		if (module === 'Users' || module === 'Groups') {
			const list = module === 'Users' ? users : groups;
			if (!list.some((u) => u.id === `${prefixOf(module)}x${num}`)) throw new WsError('ACCESS_DENIED', DENIED);
			return { module, row: null, wsId: `${prefixOf(module)}x${num}` };
		}
		const row = /^\d+$/.test(num || '') ? records.get(Number(num)) : undefined;
		if (!row || row.deleted) throw new WsError('ACCESS_DENIED', DENIED);
		if (row.module !== module) throw new WsError('INVALID_ID_ATTRIBUTE', 'Id specified is incorrect');
		return { module, row, wsId: s };
	}

	/**
	 * Reference validation of Create.php / Update.php. Owner fields are not reference fields there, and the
	 * owner checks (hasAssignPrivilege) always pass for the admin users the emulator has: see ownerValue.
	 * @param {string} module
	 * @param {Record<string, any>} element
	 * @param {boolean} dropEmpty create/update drop empty references; revise keeps them (clears the field)
	 */
	function checkReferences(module, element, dropEmpty) {
		for (const f of META.describe[module].fields) {
			if (f.type.name !== 'reference') continue;
			const v = element[f.name];
			if (v !== undefined && v !== null && String(v).length > 0) {
				const p = String(v).split('x')[0];
				const target = moduleByPrefix[p];
				if (!target) throw new WsError('ACCESS_DENIED', `${DENIED} for id`);
				const allowed = f.type.refersTo || [];
				if (!allowed.includes(target)) {
					throw new WsError('REFERENCE_INVALID', `Invalid reference specified for ${f.name}`);
				}
			} else if (dropEmpty && f.type.name === 'reference' && v !== undefined && v !== null) {
				delete element[f.name];
			}
		}
	}
	/** @param {string} module @param {Record<string, any>} element */
	function checkMandatory(module, element) {
		for (const f of META.describe[module].fields) {
			if (!f.mandatory) continue;
			const v = element[f.name];
			if (v === undefined || v === null || v === '') {
				throw new WsError('MANDATORY_FIELDS_MISSING', `${f.name} does not have a value`);
			}
		}
	}
	/** @param {unknown} raw */
	function decodeElement(raw) {
		if (typeof raw !== 'string' || raw === '') return null;
		try {
			const v = JSON.parse(raw);
			return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
		} catch {
			return null;
		}
	}

	// ---- operations --------------------------------------------------------------------------------
	const listTypes = () => {
		const types = [...ENTITY_MODULES, 'Users', 'Groups'];
		/** @type {Record<string, unknown>} */
		const information = {};
		for (const t of types) information[t] = META.listtypes.information[t];
		return { types, information };
	};
	const knownModule = (/** @type {unknown} */ m) =>
		typeof m === 'string' && Object.prototype.hasOwnProperty.call(META.describe, m);

	/**
	 * @param {string} q
	 * @param {boolean} [related]
	 */
	function runQuery(q, related) {
		const module = moduleOfQuery(q);
		if (module === null) throw new WsError('ACCESS_DENIED', `${DENIED} for query`);
		if (!knownModule(module)) throw new WsError('ACCESS_DENIED', `${DENIED} for name : ${module}`);
		try {
			// the parser looks the module up when it reduces the table name (VTQL_Parser yy_r7)
			const ast = parseVtql(q, (name) => {
				if (!knownModule(name)) throw new VtqlError('ACCESS_DENIED', `${DENIED} for name : ${name}`);
			});
			if (!ENTITY_MODULES.includes(ast.module)) return queryActors(ast);
			const fm = fieldMaps[ast.module];
			return executeVtql(ast, {
				fields: fm,
				fieldOrder: fieldOrderOf(ast.module),
				rows: () => live(ast.module),
				refNumber,
				format: formatRow,
				cacheKey: related ? undefined : `${instanceId}:${ast.module}|${versions[ast.module] || 0}`,
			});
		} catch (e) {
			if (e instanceof VtqlError) throw new WsError(e.code, e.message);
			throw e;
		}
	}
	/** Users / Groups queries (read-only, small). @param {any} ast */
	function queryActors(ast) {
		const module = ast.module;
		const rows = (module === 'Users' ? users : groups).map((u) => ({
			id: Number(u.id.split('x')[1]),
			module,
			fields: actorFields(module, u),
		}));
		return executeVtql(ast, {
			fields: fieldMaps[module],
			fieldOrder: META.describe[module].fields.map((/** @type {any} */ f) => f.name),
			rows: () => rows,
			refNumber,
			format: (row, cols) => {
				/** @type {Record<string, string>} */
				const o = {};
				for (const c of cols) o[c] = c === 'id' ? `${prefixOf(module)}x${row.id}` : row.fields[c] ?? '';
				return o;
			},
		});
	}
	/** @param {string} module @param {any} u */
	function actorFields(module, u) {
		if (module === 'Groups') return { groupname: u.groupname, description: u.description };
		/** @type {Record<string, string>} */
		const f = {};
		for (const fd of META.describe.Users.fields) f[fd.name] = fd.default === undefined ? '' : String(fd.default);
		Object.assign(f, {
			user_name: u.user_name, first_name: u.first_name, last_name: u.last_name, email1: u.email1,
			status: 'Active', is_admin: 'on', roleid: 'H2', time_zone: 'UTC', date_format: 'yyyy-mm-dd',
			currency_id: '21x1', no_of_currency_decimals: String(currencyDecimals), user_password: '', confirm_password: '',
			accesskey: u.accessKey,
		});
		return f;
	}

	/** @param {string} module */
	const relationInfo = (module) => META.relatedtypes[module] || { types: [], information: {} };

	/**
	 * Related record ids (numeric) for a source record and relation label.
	 * @param {RecordRow} src
	 * @param {string} relatedType
	 * @param {string} label
	 */
	function relatedIds(src, relatedType, label) {
		/** @type {Set<number>} */
		const ids = new Set();
		const byField = (/** @type {string} */ field) => {
			for (const r of live(relatedType)) if (refNumber(r.fields[field] || '') === src.id) ids.add(r.id);
		};
		const key = `${src.module}>${relatedType}`;
		if (key === 'Accounts>Contacts') byField('account_id');
		if (key === 'Accounts>Potentials') byField('related_to');
		if (key === 'Accounts>HelpDesk') byField('parent_id');
		if (key === 'Contacts>Potentials') byField('contact_id');
		if (key === 'Contacts>HelpDesk') byField('contact_id');
		if (key === 'Potentials>Contacts') {
			const c = refNumber(src.fields.contact_id || '');
			if (c !== null) ids.add(c);
		}
		for (const l of links) {
			const [a, lab, b] = l.split('|');
			if (Number(a) === src.id && lab === label) ids.add(Number(b));
			// many-to-many relations are symmetric (vtiger_contpotentialrel)
			if (Number(b) === src.id && ((key === 'Contacts>Potentials') || (key === 'Potentials>Contacts'))) {
				const other = records.get(Number(a));
				if (other && other.module === relatedType) ids.add(Number(a));
			}
		}
		return [...ids]
			.map((n) => records.get(n))
			.filter((r) => r && !r.deleted && r.module === relatedType)
			.map((r) => `${prefixOf(relatedType)}x${/** @type {RecordRow} */ (r).id}`);
	}

	/**
	 * QueryRelated.php
	 * @param {string} query @param {string} id @param {string} relatedLabel
	 */
	function queryRelated(query, id, relatedLabel) {
		const parts = String(id || '').split('x');
		const module = moduleByPrefix[parts[0]];
		if (!module) throw new WsError('ACCESS_DENIED', `${DENIED} for id`);
		const row = records.get(Number(parts[1]));
		const entityName = row && !row.deleted ? row.module : null;
		if (!entityName) throw new WsError('ACCESS_DENIED', `${DENIED} for name : `);
		const m = /FROM\s+([^\s]+)/i.exec(query);
		const relatedType = m ? m[1].trim() : null;
		const info = relationInfo(entityName).information;
		const found = Object.entries(info).some(
			([label, inf]) => label === relatedLabel && /** @type {any} */ (inf).name === relatedType,
		);
		if (!found) throw new WsError('UNKOWN_ENTITY', 'Relation specified is incorrect');
		if (!knownModule(relatedType)) throw new WsError('ACCESS_DENIED', `${DENIED} for name : ${relatedType}`);
		const ids = ENTITY_MODULES.includes(/** @type {string} */ (relatedType))
			? relatedIds(/** @type {RecordRow} */ (row), /** @type {string} */ (relatedType), relatedLabel)
			: [];
		if (!ids.length) return [];
		const clause = `id IN ('${ids.join("','")}')`;
		let q = query;
		if (!/where/i.test(q) || /^where/i.test(q)) q += ` WHERE ${clause}`;
		else {
			const qp = q.split('WHERE');
			q = `${qp[0]} WHERE ${clause} AND ${qp[1] ?? ''}`;
		}
		q += ';';
		return runQuery(q, true);
	}

	/** @param {Record<string, string>} p @param {{ userId: string }} s */
	function convertLead(p, s) {
		const ev = decodeElement(p.element) || {};
		const assignedTo = ev.assignedTo || s.userId;
		const { row: lead } = resolve(ev.leadId);
		if (!lead || lead.module !== 'Leads') throw new WsError('INVALID_ID_ATTRIBUTE', 'Id specified is incorrect');
		if (lead.converted) throw new WsError('LEAD_ALREADY_CONVERTED', 'Lead is already converted');
		const ents = ev.entities || {};
		if (!(ents.Accounts?.create || ents.Contacts?.create)) return null;
		/** @type {Record<string, string>} */
		const entityIds = {};
		for (const name of ['Accounts', 'Contacts', 'Potentials']) {
			const spec = ents[name];
			if (!spec || !spec.create) continue;
			const target = spec.name || name;
			if (!ENTITY_MODULES.includes(target)) throw new WsError('ACCESS_DENIED', `${DENIED} for name : ${target}`);
			/** @type {Record<string, any>} */
			let values = { assigned_user_id: assignedTo };
			const map = CONVERT_MAP[/** @type {'Accounts'} */ (target)] || {};
			for (const [lf, ef] of Object.entries(map)) values[ef] = lead.fields[lf] ?? '';
			for (const [k, v] of Object.entries(spec)) if (v !== '' && v !== null && v !== undefined && v !== false) values[k] = v;
			delete values.create;
			delete values.name;
			for (const f of META.describe[target].fields) {
				if (f.mandatory && !values[f.name]) {
					values[f.name] = ['picklist', 'multipicklist', 'date', 'datetime'].includes(f.type.name) && f.editable
						? f.default
						: '????';
				}
			}
			if (target === 'Potentials') {
				if (entityIds.Accounts) values.related_to = entityIds.Accounts;
				if (entityIds.Contacts) values.contact_id = entityIds.Contacts;
			}
			if (target === 'Contacts' && entityIds.Accounts) values.account_id = entityIds.Accounts;
			if (target === 'Accounts') {
				const existing = live('Accounts').find((r) => r.fields.accountname === spec.accountname);
				if (spec.accountname && existing) {
					entityIds[name] = `${prefixOf('Accounts')}x${existing.id}`;
					continue;
				}
			}
			values.isconvertedfromlead = 1;
			try {
				checkReferences(target, values, true);
				checkMandatory(target, values);
			} catch (e) {
				if (e instanceof WsError) throw new WsError('UNKNOWN_OPERATION', `${e.message} : ${target}`);
				throw e;
			}
			const created = insert(target, values, { userId: s.userId });
			entityIds[name] = `${prefixOf(target)}x${created.id}`;
		}
		if (entityIds.Contacts && entityIds.Potentials) {
			links.add(`${refNumber(entityIds.Contacts)}|Potentials|${refNumber(entityIds.Potentials)}`);
		}
		lead.converted = true;
		touch('Leads');
		return entityIds;
	}

	/**
	 * @param {string} op
	 * @param {Record<string, string>} p operation input (GET or POST params per operation type)
	 * @param {{ userId: string, user_name: string } | null} s
	 * @param {string | null} sessionName
	 */
	function dispatch(op, p, s, sessionName) {
		switch (op) {
			case 'getchallenge': {
				const u = users.find((x) => x.user_name === p.username);
				if (!p.username) throw new WsError('ACCESS_DENIED', 'No username given');
				if (!u) throw new WsError('ACCESS_DENIED', 'username does not exists');
				const t = Math.floor(now() / 1000);
				const token = uniqid();
				const expireTime = Math.floor((now() + challengeTtlMs) / 1000);
				tokens.set(u.user_name, { token, expireTime });
				return { token, serverTime: t, expireTime };
			}
			case 'login': {
				const u = users.find((x) => x.user_name === p.username);
				const tk = u ? tokens.get(u.user_name) : undefined;
				if (!u || !tk || tk.expireTime < Math.floor(now() / 1000)) {
					throw new WsError('INVALID_AUTH_TOKEN', 'Specified token is invalid or expired');
				}
				if (md5(tk.token + u.accessKey) !== p.accessKey) {
					throw new WsError('INVALID_USER_CREDENTIALS', 'Invalid username or password');
				}
				const name = crypto.randomBytes(4).toString('hex').replace(/^0+/, '') + uniqid();
				sessions.set(name, { userId: u.id, user_name: u.user_name, created: now(), last: now() });
				return {
					username: u.user_name, first_name: u.first_name, last_name: u.last_name, email: u.email1,
					time_zone: 'UTC', hour_format: '12', date_format: 'yyyy-mm-dd', is_admin: 'on', call_duration: '5',
					other_event_duration: '5', sessionName: name, userId: u.id, version: API_VERSION,
					vtigerVersion: VTIGER_VERSION,
				};
			}
		}
		const sess = /** @type {{ userId: string, user_name: string }} */ (s);
		switch (op) {
			case 'extendsession':
				return { sessionName, userId: sess.userId, version: API_VERSION, vtigerVersion: VTIGER_VERSION };
			case 'logout':
				if (sessionName) sessions.delete(sessionName);
				return { message: 'successfull' };
			case 'listtypes':
				return listTypes();
			case 'describe': {
				if (!knownModule(p.elementType)) {
					throw new WsError('ACCESS_DENIED', `${DENIED} for name : ${p.elementType ?? ''}`);
				}
				return META.describe[p.elementType];
			}
			case 'retrieve': {
				const { module, row, wsId } = resolve(p.id);
				if (!row) {
					const list = module === 'Users' ? users : groups;
					const a = /** @type {any} */ (list.find((u) => u.id === wsId));
					if (module === 'Groups') return { groupid: wsId.split('x')[1], ...actorFields(module, a), id: wsId };
					return { ...actorFields(module, a), id: wsId };
				}
				return fullRecord(row);
			}
			case 'create': {
				const module = p.elementType;
				if (!ENTITY_MODULES.includes(module)) throw new WsError('ACCESS_DENIED', DENIED);
				const el = decodeElement(p.element) || {};
				checkReferences(module, el, true);
				checkMandatory(module, el);
				return fullRecord(insert(module, el, { userId: sess.userId }));
			}
			case 'update':
			case 'revise': {
				const el = decodeElement(p.element);
				const { module, row } = resolve(el ? el.id : undefined);
				if (!row) throw new WsError('ACCESS_DENIED', DENIED);
				if (op === 'update') {
					checkReferences(module, el, true);
					checkMandatory(module, el);
				} else {
					checkReferences(module, el, false);
					for (const f of META.describe[module].fields) {
						if (f.mandatory && f.name in el && (el[f.name] === '' || el[f.name] === null)) {
							throw new WsError('MANDATORY_FIELDS_MISSING', `${f.name} does not have a value`);
						}
					}
				}
				return fullRecord(modify(row, el, { userId: sess.userId }));
			}
			case 'delete': {
				const { row } = resolve(p.id);
				if (!row) throw new WsError('ACCESS_DENIED', 'Permission to delete is denied');
				row.deleted = true;
				touch(row.module);
				return { status: 'successful' };
			}
			case 'query':
				return runQuery(p.query || '');
			case 'relatedtypes': {
				if (!knownModule(p.elementType)) {
					throw new WsError('ACCESS_DENIED', `${DENIED} for name : ${p.elementType ?? ''}`);
				}
				return relationInfo(p.elementType);
			}
			case 'retrieve_related':
				return queryRelated(`SELECT * FROM ${p.relatedType ?? ''}`, p.id, p.relatedLabel);
			case 'query_related':
				return queryRelated(p.query || '', p.id, p.relatedLabel);
			case 'add_related': {
				const src = String(p.sourceRecordId || '').split('x');
				const srcRow = records.get(Number(src[1]));
				if (!srcRow || srcRow.deleted) {
					throw new WsError('INTERNAL_SERVER_ERROR', 'Unknown Error while processing request');
				}
				let rel = /** @type {unknown} */ (p.relatedRecordId);
				try {
					if (typeof rel === 'string' && rel.startsWith('[')) rel = JSON.parse(rel);
				} catch {
					/* keep string */
				}
				const relIds = Array.isArray(rel) ? rel.map(String) : [String(rel ?? '')];
				const firstPrefix = relIds[0].split('x')[0];
				const relModule = moduleByPrefix[firstPrefix];
				if (!relModule) throw new WsError('ACCESS_DENIED', `${DENIED} for id`);
				const info = relationInfo(srcRow.module).information;
				const label = p.relationIdLabel
					? Object.keys(info).find((l) => l === p.relationIdLabel && /** @type {any} */ (info[l]).name === relModule)
					: Object.keys(info).find((l) => /** @type {any} */ (info[l]).name === relModule);
				if (label) {
					for (const rid of relIds) {
						const [pp, nn] = rid.split('x');
						if (pp === firstPrefix && records.has(Number(nn))) links.add(`${srcRow.id}|${label}|${Number(nn)}`);
					}
				}
				return { message: 'successfull' };
			}
			case 'convertlead':
				return convertLead(p, sess);
			case 'sync':
				return sync(p, sess);
		}
		throw new Http500('unknown operation');
	}

	/** Minimal sync (only when 'sync' is removed from knobs.failingOperations). @param {any} p @param {any} s */
	function sync(p, s) {
		const since = Number(p.modifiedTime || 0);
		const module = p.elementType;
		if (!ENTITY_MODULES.includes(module)) throw new WsError('ACCESS_DENIED', DENIED);
		const toTs = (/** @type {string} */ t) => Date.parse(t.replace(' ', 'T') + 'Z') / 1000;
		const changed = [...records.values()]
			.filter((r) => r.module === module && r.fields.assigned_user_id === s.userId && toTs(r.fields.modifiedtime) > since)
			.sort((a, b) => toTs(a.fields.modifiedtime) - toTs(b.fields.modifiedtime) || a.id - b.id);
		const page = changed.slice(0, 100);
		const last = page.length ? toTs(page[page.length - 1].fields.modifiedtime) : Math.floor(now() / 1000);
		return {
			updated: page.filter((r) => !r.deleted).map(fullRecord),
			deleted: page.filter((r) => r.deleted).map((r) => `${prefixOf(module)}x${r.id}`),
			lastModifiedTime: last,
			more: changed.length > 100,
		};
	}

	let uniqCounter = 0;
	/** PHP uniqid(): 8 hex seconds + 5 hex microseconds (kept unique). */
	function uniqid() {
		const ms = now();
		uniqCounter = (uniqCounter + 1) % 0xfffff;
		const usec = (Math.floor((ms % 1000) * 1000) + uniqCounter) % 0x100000;
		return Math.floor(ms / 1000).toString(16).padStart(8, '0') + usec.toString(16).padStart(5, '0');
	}

	// ---- HTTP ----------------------------------------------------------------------------------------
	/**
	 * @param {http.IncomingMessage} req
	 * @param {http.ServerResponse} res
	 */
	async function handle(req, res) {
		const rawUrl = req.url || '/';
		const qi = rawUrl.indexOf('?');
		const pathname = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
		const searchParams = new URLSearchParams(qi >= 0 ? rawUrl.slice(qi + 1) : '');
		if (!/^\/+webservice\.php$/.test(pathname)) {
			res.writeHead(404, { 'Content-Type': 'text/plain' });
			res.end('Not Found');
			return;
		}
		const body = await readBody(req);
		const ctype = String(req.headers['content-type'] || '');
		/** @type {Record<string, string>} */
		const get = Object.fromEntries(searchParams);
		/** @type {Record<string, string>} */
		const post =
			req.method === 'POST' && (ctype === '' || ctype.includes('application/x-www-form-urlencoded'))
				? Object.fromEntries(new URLSearchParams(body))
				: {};
		const all = { ...get, ...post };
		const operation = String(all.operation || '').toLowerCase();
		let sessionName = all.sessionName && all.sessionName.toLowerCase() !== 'null' ? all.sessionName : null;
		requests.push({ method: req.method || 'GET', operation, params: all, sessionName, at: now() });

		const delay = knobs.latencyMs;
		if (delay > 0) await new Promise((r) => setTimeout(r, delay));

		// faults
		const idx = knobs.failNext.findIndex(
			(f) => (!f.operation || f.operation === operation) && (f.type !== 'sessionExpired' || sessionName),
		);
		if (idx >= 0) {
			const f = knobs.failNext.splice(idx, 1)[0];
			if (f.type === 'drop') {
				req.socket.destroy();
				return;
			}
			if (f.type === 'http500') return send500(res);
			if (f.type === 'error') {
				return sendJson(res, { success: false, error: { message: f.message ?? 'Emulated error', code: f.code ?? 'INTERNAL_SERVER_ERROR' } });
			}
			if (f.type === 'sessionExpired' && sessionName) sessions.delete(sessionName);
		}

		try {
			const meta = OPERATIONS[/** @type {'login'} */ (operation)];
			if (!meta || knobs.failingOperations.includes(operation)) throw new Http500(operation);
			const [type, prelogin] = meta;
			const input = type === 'GET' ? get : post;
			/** @type {{ userId: string, user_name: string } | null} */
			let s = null;
			if (operation === 'extendsession') {
				if (!input.operation) throw new WsError('AUTHENTICATION_REQUIRED', 'Authencation required');
				const found = sessionName ? checkSession(sessionName, true) : null;
				if (!found) throw new WsError('AUTHENTICATION_FAILURE', 'Authencation Failed');
				s = found;
			} else if (sessionName) {
				s = checkSession(sessionName, false);
			} else if (!prelogin) {
				throw new WsError('AUTHENTICATION_REQUIRED', 'Authencation required');
			}
			const result = dispatch(operation, input, s, sessionName);
			sendJson(res, { success: true, result });
		} catch (e) {
			if (e instanceof Http500) return send500(res);
			if (e instanceof WsError) return sendJson(res, { success: false, error: { message: e.message, code: e.code } });
			// eslint-disable-next-line no-console
			console.error('[vtiger-emulator] internal error', e);
			sendJson(res, {
				success: false,
				error: { message: 'Unknown Error while processing request', code: 'INTERNAL_SERVER_ERROR' },
			});
		}
	}

	/**
	 * Session validation (SessionManager.php). Idle and lifetime expiry answer INVALID_SESSIONID by default
	 * ('observed'); 'source' uses the codes SessionManager::isValid would throw.
	 * @param {string} name
	 * @param {boolean} soft return null instead of throwing (extendsession)
	 */
	function checkSession(name, soft) {
		const s = sessions.get(name);
		const t = now();
		/** @type {[string, string] | null} */
		let err = null;
		if (!s) err = ['INVALID_SESSIONID', 'Session Identifier provided is Invalid'];
		else if (t - s.created >= sessionMaxMs) {
			sessions.delete(name);
			err = expiryCodes === 'source'
				? ['SESSION_EXPIRED', 'Session has life span over please login again']
				: ['INVALID_SESSIONID', 'Session Identifier provided is Invalid'];
		} else if (t - s.last >= sessionIdleMs) {
			sessions.delete(name);
			err = expiryCodes === 'source'
				? ['SESSION_LEFT_IDLE', 'Session has been invalidated to due lack activity']
				: ['INVALID_SESSIONID', 'Session Identifier provided is Invalid'];
		}
		if (err) {
			if (soft) return null;
			throw new WsError(err[0], err[1]);
		}
		const ok = /** @type {NonNullable<typeof s>} */ (s);
		ok.last = t;
		return ok;
	}

	/** @param {http.ServerResponse} res @param {unknown} obj */
	function sendJson(res, obj) {
		const text = phpJson(obj);
		res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
		res.end(text);
	}
	/** @param {http.ServerResponse} res */
	function send500(res) {
		res.writeHead(500, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 });
		res.end();
	}

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

	/** @type {http.Server | null} */
	let server = null;
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();

	// ---- test helpers --------------------------------------------------------------------------------
	const adminId = users[0].id;
	/** @param {string} module */
	const assertModule = (module) => {
		if (!ENTITY_MODULES.includes(module)) throw new Error(`vtiger emulator: unsupported module ${module}`);
	};
	/** @param {string} id */
	const rowOf = (id) => {
		const r = records.get(Number(String(id).split('x')[1]));
		if (!r) throw new Error(`vtiger emulator: no record ${id}`);
		return r;
	};

	return {
		/** @param {number} [port] */
		start(port = 0) {
			return new Promise((resolve, reject) => {
				server = http.createServer((req, res) => {
					handle(req, res).catch((e) => {
						// eslint-disable-next-line no-console
						console.error('[vtiger-emulator]', e);
						if (!res.headersSent) send500(res);
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
					resolve(`http://127.0.0.1:${addr.port}`);
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
		requests,
		clearRequests() {
			requests.length = 0;
		},
		knobs,
		/** @param {string} username */
		accessKeyFor(username) {
			const u = users.find((x) => x.user_name === username);
			return u ? u.accessKey : undefined;
		},
		users: users.map((u) => ({ user_name: u.user_name, id: u.id, accessKey: u.accessKey })),
		/** @param {string} module @param {Record<string, unknown>} fields */
		createRecord(module, fields = {}) {
			assertModule(module);
			return fullRecord(insert(module, fields, { userId: adminId, raw: true }));
		},
		/** @param {string} id @param {Record<string, unknown>} fields */
		updateRecord(id, fields = {}) {
			return fullRecord(modify(rowOf(id), fields, { userId: adminId, raw: true }));
		},
		/** @param {string} id */
		deleteRecord(id) {
			const r = rowOf(id);
			r.deleted = true;
			touch(r.module);
		},
		/** @param {string} id */
		getRecord(id) {
			const r = records.get(Number(String(id).split('x')[1]));
			if (!r || r.deleted || prefixOf(r.module) !== String(id).split('x')[0]) return undefined;
			return fullRecord(r);
		},
		/**
		 * Create n generated records quickly; returns their ids.
		 * @param {string} module
		 * @param {number} n
		 * @param {{ seed?: number, assigned_user_id?: string, accountIds?: string[], contactIds?: string[],
		 *   createdtime?: string, stepSeconds?: number, fields?: Record<string, unknown> }} [opts]
		 *   createdtime + stepSeconds spread created/modified times; fields are merged into every record
		 */
		seed(module, n, opts = {}) {
			assertModule(module);
			const already = numbering[module] || 0;
			const rows = generate(module, n, { ...opts, offset: already });
			const base = opts.createdtime ? Date.parse(opts.createdtime.replace(' ', 'T') + 'Z') : null;
			const step = opts.stepSeconds ?? 0;
			/** @type {string[]} */
			const ids = [];
			for (let k = 0; k < rows.length; k++) {
				/** @type {Record<string, unknown>} */
				const f = { ...rows[k], ...(opts.fields || {}) };
				if (base !== null) {
					const t = new Date(base + k * step * 1000).toISOString().slice(0, 19).replace('T', ' ');
					f.createdtime = t;
					f.modifiedtime = t;
				}
				const r = insert(module, f, { userId: adminId, raw: true });
				ids.push(`${prefixOf(module)}x${r.id}`);
			}
			return ids;
		},
		reset() {
			records = new Map();
			liveCache = {};
			nextCrmId = 1;
			numbering = {};
			links = new Set();
			tokens = new Map();
			sessions = new Map();
			requests.length = 0;
			knobs.failNext.length = 0;
			for (const m of ENTITY_MODULES) touch(m);
		},
		expireAllSessions() {
			sessions.clear();
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
		/** Current emulator time as Vtiger formats it ('YYYY-MM-DD HH:MM:SS', UTC). */
		serverTime: stamp,
	};
}

module.exports = { createVtigerEmulator };
