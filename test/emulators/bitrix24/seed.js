// @ts-check
'use strict';

/**
 * Deterministic seed data for the Bitrix24 emulator: realistic names, no dependencies.
 * `generate(entity, n, opts)` returns plain field objects in the classic UPPER_CASE shape (multi-fields PHONE /
 * EMAIL / WEB as arrays of {VALUE, VALUE_TYPE}); the server turns them into records. 10,000 leads take a few ms.
 */

/** Mulberry32 PRNG. @param {number} seed */
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const FIRST = ['Anna', 'James', 'Maria', 'Oliver', 'Sofia', 'Liam', 'Elena', 'Noah', 'Olga', 'Lucas', 'Emma', 'Ivan',
	'Chloe', 'Mateo', 'Hannah', 'Dmitry', 'Grace', 'Leo', 'Mia', 'Arjun', 'Zoe', 'Kenji', 'Laura', 'Omar', 'Nina',
	'Pavel', 'Sara', 'Tomás', 'Julia', 'Ahmed', 'Clara', 'Felix', 'Inès', 'Marek', 'Yuki', 'Aisha', 'Bruno', 'Eva',
	'Алексей', 'Мария'];
const LAST = ['Smith', 'Johnson', 'Müller', 'Garcia', 'Ivanova', 'Rossi', 'Kowalski', 'Nguyen', 'Dubois', 'Silva',
	'Petrov', "O'Brien", 'Tanaka', 'Schmidt', 'Jensen', 'Novak', 'Costa', 'Brown', 'Fischer', 'Lopez', 'Kim', 'Wilson',
	'Andersson', 'Horvat', 'Moreau', 'Popescu', 'Yilmaz', 'Sato', 'Murphy', 'Van Dijk', 'Kozlov', 'Santos', 'Смирнов'];
const PREFIX = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell',
	'Cyberdyne', 'Wonka', 'Aperture', 'Oscorp', 'Nakatomi', 'Pied Piper', 'Monarch', 'Octan', 'Northwind', 'Contoso',
	'Fabrikam', 'Tailspin', 'Litware', 'Adatum', 'Proseware', 'Lucerne', 'Alpine', 'Baltic', 'Nordic', 'Sierra',
	'Vertex', 'Summit', 'Harbor', 'Granite', 'Cedar', 'Polar', 'Zenith', 'Atlas', 'Ромашка', 'Вектор'];
const CORE = ['Logistics', 'Software', 'Foods', 'Energy', 'Consulting', 'Robotics', 'Textiles', 'Pharma', 'Media',
	'Motors', 'Analytics', 'Holdings', 'Networks', 'Design', 'Minerals', 'Travel', 'Security', 'Labs', 'Systems', 'Retail'];
const SUFFIX = ['Inc', 'Ltd', 'GmbH', 'LLC', 'S.A.', 'AG', 'Group', 'Co', 'Corp', 'OOO'];
const CITIES = ['Berlin', 'Paris', 'London', 'Madrid', 'Warsaw', 'Moscow', 'New York', 'Austin', 'Toronto', 'Tokyo',
	'São Paulo', 'Sydney', 'Prague', 'Vienna', 'Lisbon', 'Dublin', 'Oslo', 'Riga', 'Almaty', 'Milan'];
const COUNTRIES = ['Germany', 'France', 'United Kingdom', 'Spain', 'Poland', 'Russia', 'USA', 'USA', 'Canada', 'Japan',
	'Brazil', 'Australia', 'Czechia', 'Austria', 'Portugal', 'Ireland', 'Norway', 'Latvia', 'Kazakhstan', 'Italy'];
const POSTS = ['CEO', 'CFO', 'CTO', 'Sales Manager', 'Buyer', 'Office Manager', 'Engineer', 'Consultant', 'Director'];
const LEAD_STATUS = ['NEW', 'NEW', 'IN_PROCESS', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'];
const SOURCES = ['CALL', 'EMAIL', 'WEB', 'ADVERTISING', 'PARTNER', 'RECOMMENDATION', 'TRADE_SHOW', 'WEBFORM', 'OTHER'];
const DEAL_STAGES = ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE'];
const DEAL_TYPES = ['SALE', 'COMPLEX', 'GOODS', 'SERVICES', 'SERVICE'];
const CONTACT_TYPES = ['CLIENT', 'SUPPLIER', 'PARTNER', 'OTHER'];
const COMPANY_TYPES = ['CUSTOMER', 'SUPPLIER', 'COMPETITOR', 'PARTNER', 'OTHER'];
const INDUSTRIES = ['IT', 'TELECOM', 'MANUFACTURING', 'BANKING', 'CONSULTING', 'FINANCE', 'GOVERNMENT', 'DELIVERY',
	'ENTERTAINMENT', 'NOTPROFIT', 'OTHER'];
const TASK_TITLES = ['Call back the client', 'Prepare a quote', 'Send the contract', 'Check the payment',
	'Schedule a demo', 'Update the price list', 'Follow up after the meeting', 'Collect requirements'];
const PROJECT_WORDS = ['renewal', 'expansion', 'pilot', 'license', 'rollout', 'migration', 'audit'];

/**
 * @template T
 * @param {() => number} r
 * @param {readonly T[]} a
 * @returns {T}
 */
const pick = (r, a) => a[Math.floor(r() * a.length)];

/** @type {Map<string, string>} */
const slugCache = new Map();
/** @param {string} s */
const slug = (s) => {
	let v = slugCache.get(s);
	if (v === undefined) {
		v = s
			.normalize('NFD')
			.replace(/[\u0300-\u036f]/g, '')
			.toLowerCase()
			.replace(/[^a-z0-9]+/g, '');
		if (!v) v = 'x' + hash(s).toString(36);
		if (slugCache.size < 50000) slugCache.set(s, v);
	}
	return v;
};

/** @param {() => number} r @param {number} i */
function companyName(r, i) {
	const base = `${pick(r, PREFIX)} ${pick(r, CORE)} ${pick(r, SUFFIX)}`;
	return i < 400 ? base : `${base} ${Math.floor(i / 400) + 1}`;
}

/** @param {() => number} r */
const phone = (r) => `+1 555 ${String(100 + Math.floor(r() * 900))} ${String(1000 + Math.floor(r() * 9000))}`;

/**
 * Generate n field objects for an entity.
 * @param {string} entity 'lead' | 'deal' | 'contact' | 'company' | 'task' | 'item' (smart process item)
 * @param {number} n
 * @param {{ seed?: number, offset?: number, assignedById?: number, companyIds?: number[], contactIds?: number[],
 *   categoryId?: number, stages?: string[] }} [opts]
 * @returns {Record<string, any>[]}
 */
function generate(entity, n, opts = {}) {
	const offset = opts.offset ?? 0;
	const r = rng((opts.seed ?? 42) + hash(entity) + offset * 7919);
	const owner = opts.assignedById ?? 1;
	/** @type {Record<string, any>[]} */
	const out = new Array(n);
	for (let k = 0; k < n; k++) {
		const i = offset + k;
		const first = pick(r, FIRST);
		const last = pick(r, LAST);
		const city = Math.floor(r() * CITIES.length);
		switch (entity) {
			case 'lead': {
				const company = companyName(r, i);
				out[k] = {
					TITLE: `${company}: ${pick(r, ['website request', 'call', 'exhibition contact', 'newsletter reply'])}`,
					NAME: first,
					LAST_NAME: last,
					COMPANY_TITLE: company,
					POST: pick(r, POSTS),
					STATUS_ID: pick(r, LEAD_STATUS),
					SOURCE_ID: pick(r, SOURCES),
					OPPORTUNITY: Math.floor(r() * 200) * 100,
					CURRENCY_ID: 'USD',
					ADDRESS_CITY: CITIES[city],
					ADDRESS_COUNTRY: COUNTRIES[city],
					ASSIGNED_BY_ID: owner,
					PHONE: [{ VALUE: phone(r), VALUE_TYPE: 'WORK' }],
					EMAIL: [{ VALUE: `${slug(first)}.${slug(last)}${i}@${slug(company)}.example`, VALUE_TYPE: 'WORK' }],
				};
				break;
			}
			case 'deal': {
				const stage = opts.stages ? pick(r, opts.stages) : pick(r, DEAL_STAGES);
				out[k] = {
					TITLE: `${pick(r, PREFIX)} ${pick(r, PROJECT_WORDS)} ${i + 1}`,
					TYPE_ID: pick(r, DEAL_TYPES),
					STAGE_ID: stage,
					CATEGORY_ID: opts.categoryId ?? 0,
					OPPORTUNITY: Math.floor(r() * 1000) * 100,
					CURRENCY_ID: 'USD',
					PROBABILITY: Math.floor(r() * 10) * 10,
					SOURCE_ID: pick(r, SOURCES),
					COMPANY_ID: opts.companyIds && opts.companyIds.length ? pick(r, opts.companyIds) : 0,
					CONTACT_ID: opts.contactIds && opts.contactIds.length ? pick(r, opts.contactIds) : 0,
					ASSIGNED_BY_ID: owner,
				};
				break;
			}
			case 'contact':
				out[k] = {
					NAME: first,
					LAST_NAME: last,
					POST: pick(r, POSTS),
					TYPE_ID: pick(r, CONTACT_TYPES),
					SOURCE_ID: pick(r, SOURCES),
					ADDRESS_CITY: CITIES[city],
					ADDRESS_COUNTRY: COUNTRIES[city],
					COMPANY_ID: opts.companyIds && opts.companyIds.length ? pick(r, opts.companyIds) : 0,
					ASSIGNED_BY_ID: owner,
					PHONE: [{ VALUE: phone(r), VALUE_TYPE: pick(r, ['WORK', 'MOBILE', 'HOME']) }],
					EMAIL: [{ VALUE: `${slug(first)}.${slug(last)}${i}@mail.example`, VALUE_TYPE: 'WORK' }],
				};
				break;
			case 'company': {
				const name = companyName(r, i);
				out[k] = {
					TITLE: name,
					COMPANY_TYPE: pick(r, COMPANY_TYPES),
					INDUSTRY: pick(r, INDUSTRIES),
					REVENUE: Math.floor(r() * 500) * 10000,
					CURRENCY_ID: 'USD',
					ADDRESS_CITY: CITIES[city],
					ADDRESS_COUNTRY: COUNTRIES[city],
					ASSIGNED_BY_ID: owner,
					PHONE: [{ VALUE: phone(r), VALUE_TYPE: 'WORK' }],
					EMAIL: [{ VALUE: `info@${slug(name)}.example`, VALUE_TYPE: 'WORK' }],
					WEB: [{ VALUE: `https://www.${slug(name)}.example`, VALUE_TYPE: 'WORK' }],
				};
				break;
			}
			case 'task':
				out[k] = {
					TITLE: `${pick(r, TASK_TITLES)} #${i + 1}`,
					DESCRIPTION: `Generated task ${i + 1} for ${first} ${last}.`,
					RESPONSIBLE_ID: owner,
					PRIORITY: pick(r, ['0', '1', '1', '2']),
					STATUS: pick(r, ['2', '2', '3', '5']),
				};
				break;
			case 'item':
				out[k] = {
					TITLE: `${pick(r, PREFIX)} ${pick(r, PROJECT_WORDS)} project ${i + 1}`,
					OPPORTUNITY: Math.floor(r() * 1000) * 100,
					CURRENCY_ID: 'USD',
					ASSIGNED_BY_ID: owner,
					...(opts.stages ? { STAGE_ID: pick(r, opts.stages) } : {}),
				};
				break;
			default:
				throw new Error(`bitrix24 seed: unsupported entity ${entity}`);
		}
	}
	return out;
}

/** @param {string} s */
function hash(s) {
	let h = 0;
	for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
	return h >>> 0;
}

module.exports = { generate, rng };
