// @ts-check
'use strict';

/**
 * Deterministic seed data for the Vtiger emulator: realistic company / person names, no dependencies.
 * `generate(module, n, opts)` returns plain field objects (webservice field names, string values);
 * the server turns them into records. 10,000 Accounts take a few milliseconds.
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
	'Pavel', 'Sara', 'Tomás', 'Julia', 'Ahmed', 'Clara', 'Felix', 'Ines', 'Marek', 'Yuki', 'Aisha', 'Bruno', 'Eva'];
const LAST = ['Smith', 'Johnson', 'Müller', 'Garcia', 'Ivanova', 'Rossi', 'Kowalski', 'Nguyen', 'Dubois', 'Silva',
	'Petrov', "O'Brien", 'Tanaka', 'Schmidt', 'Jensen', 'Novak', 'Costa', 'Brown', 'Fischer', 'Lopez', 'Kim', 'Wilson',
	'Andersson', 'Horvat', 'Moreau', 'Popescu', 'Yilmaz', 'Sato', 'Murphy', 'Van Dijk', 'Kozlov', 'Santos'];
const PREFIX = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell',
	'Cyberdyne', 'Wonka', 'Aperture', 'Gringotts', 'Oscorp', 'Nakatomi', 'Pied Piper', 'Monarch', 'Blue Sun', 'Octan',
	'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Adatum', 'Proseware', 'Lucerne', 'Alpine', 'Baltic',
	'Nordic', 'Sierra', 'Vertex', 'Summit', 'Harbor', 'Granite', 'Cedar', 'Polar', 'Zenith', 'Atlas'];
const CORE = ['Logistics', 'Software', 'Foods', 'Energy', 'Consulting', 'Robotics', 'Textiles', 'Pharma', 'Media',
	'Motors', 'Analytics', 'Holdings', 'Networks', 'Design', 'Minerals', 'Travel', 'Security', 'Labs', 'Systems', 'Retail'];
const SUFFIX = ['Inc', 'Ltd', 'GmbH', 'LLC', 'S.A.', 'AG', 'Group', 'Co', 'Corp', 'OOO'];
const CITIES = ['Berlin', 'Paris', 'London', 'Madrid', 'Warsaw', 'Moscow', 'New York', 'Austin', 'Toronto', 'Tokyo',
	'São Paulo', 'Sydney', 'Prague', 'Vienna', 'Lisbon', 'Dublin', 'Oslo', 'Riga', 'Kyiv', 'Milan'];
const COUNTRIES = ['Germany', 'France', 'UK', 'Spain', 'Poland', 'Russia', 'USA', 'USA', 'Canada', 'Japan',
	'Brazil', 'Australia', 'Czechia', 'Austria', 'Portugal', 'Ireland', 'Norway', 'Latvia', 'Ukraine', 'Italy'];
const INDUSTRY = ['Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction', 'Consulting',
	'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental', 'Finance', 'Food & Beverage',
	'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery', 'Manufacturing', 'Media', 'Not For Profit',
	'Recreation', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities', 'Other'];
const ACCOUNT_TYPE = ['Analyst', 'Competitor', 'Customer', 'Integrator', 'Investor', 'Partner', 'Press', 'Prospect',
	'Reseller', 'Other'];
const LEAD_STATUS = ['Attempted to Contact', 'Cold', 'Contact in Future', 'Contacted', 'Hot', 'Junk Lead', 'Lost Lead',
	'Not Contacted', 'Pre Qualified', 'Qualified', 'Warm'];
const LEAD_SOURCE = ['Cold Call', 'Existing Customer', 'Self Generated', 'Employee', 'Partner', 'Public Relations',
	'Direct Mail', 'Conference', 'Trade Show', 'Web Site', 'Word of mouth', 'Other'];
const SALES_STAGE = ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers',
	'Perception Analysis', 'Proposal or Price Quote', 'Negotiation or Review', 'Closed Won', 'Closed Lost'];
const TICKET_STATUS = ['Open', 'In Progress', 'Wait For Response', 'Closed'];
const TICKET_PRIORITY = ['Low', 'Normal', 'High', 'Urgent'];
const TICKET_TITLES = ['Cannot log in', 'Invoice total is wrong', 'Printer offline', 'Password reset request',
	'Slow dashboard', 'Export to CSV fails', 'Email not delivered', 'Wrong currency on quote', 'VPN disconnects',
	'Mobile app crashes on start'];
const TITLES = ['CEO', 'CFO', 'CTO', 'Sales Manager', 'Buyer', 'Office Manager', 'Engineer', 'Consultant', 'Director'];

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
		if (slugCache.size < 50000) slugCache.set(s, v);
	}
	return v;
};

/**
 * Company name unique for index i (deterministic, realistic).
 * @param {() => number} r
 * @param {number} i
 */
function companyName(r, i) {
	const base = `${pick(r, PREFIX)} ${pick(r, CORE)} ${pick(r, SUFFIX)}`;
	return i < 400 ? base : `${base} ${Math.floor(i / 400) + 1}`;
}

/**
 * Generate n field objects for a module.
 * @param {string} module
 * @param {number} n
 * @param {{ seed?: number, offset?: number, assigned_user_id?: string, accountIds?: string[],
 *   contactIds?: string[] }} [opts]
 * @returns {Record<string, string>[]}
 */
function generate(module, n, opts = {}) {
	const r = rng((opts.seed ?? 42) + hash(module) + (opts.offset ?? 0) * 7919);
	const owner = opts.assigned_user_id ?? '19x1';
	/** @type {Record<string, string>[]} */
	const out = new Array(n);
	for (let k = 0; k < n; k++) {
		const i = (opts.offset ?? 0) + k;
		const first = pick(r, FIRST);
		const last = pick(r, LAST);
		const city = Math.floor(r() * CITIES.length);
		switch (module) {
			case 'Accounts': {
				const name = companyName(r, i);
				out[k] = {
					accountname: name,
					website: `www.${slug(name)}.example`,
					phone: `+1 555 ${String(1000 + Math.floor(r() * 9000))}`,
					email1: `info@${slug(name)}.example`,
					industry: pick(r, INDUSTRY),
					accounttype: pick(r, ACCOUNT_TYPE),
					annual_revenue: String(Math.floor(r() * 500) * 10000),
					employees: String(5 + Math.floor(r() * 5000)),
					bill_city: CITIES[city],
					bill_country: COUNTRIES[city],
					assigned_user_id: owner,
				};
				break;
			}
			case 'Contacts':
				out[k] = {
					firstname: first,
					lastname: last,
					email: `${slug(first)}.${slug(last)}${i}@mail.example`,
					phone: `+44 20 7${String(100000 + Math.floor(r() * 899999))}`,
					title: pick(r, TITLES),
					leadsource: pick(r, LEAD_SOURCE),
					mailingcity: CITIES[city],
					mailingcountry: COUNTRIES[city],
					account_id: opts.accountIds && opts.accountIds.length ? pick(r, opts.accountIds) : '',
					assigned_user_id: owner,
				};
				break;
			case 'Leads': {
				const company = companyName(r, i);
				out[k] = {
					firstname: first,
					lastname: last,
					company,
					email: `${slug(first)}@${slug(company)}.example`,
					phone: `+49 30 ${String(1000000 + Math.floor(r() * 8999999))}`,
					leadstatus: pick(r, LEAD_STATUS),
					leadsource: pick(r, LEAD_SOURCE),
					industry: pick(r, INDUSTRY),
					city: CITIES[city],
					country: COUNTRIES[city],
					assigned_user_id: owner,
				};
				break;
			}
			case 'Potentials': {
				const day = 1 + Math.floor(r() * 28);
				const month = 1 + Math.floor(r() * 12);
				out[k] = {
					potentialname: `${pick(r, PREFIX)} ${pick(r, ['renewal', 'expansion', 'pilot', 'license', 'rollout'])} ${i + 1}`,
					amount: String(Math.floor(r() * 1000) * 100),
					closingdate: `2025-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
					sales_stage: pick(r, SALES_STAGE),
					probability: String(Math.floor(r() * 10) * 10),
					leadsource: pick(r, LEAD_SOURCE),
					related_to: opts.accountIds && opts.accountIds.length ? pick(r, opts.accountIds) : '',
					assigned_user_id: owner,
				};
				break;
			}
			case 'HelpDesk':
				out[k] = {
					ticket_title: `${pick(r, TICKET_TITLES)} #${i + 1}`,
					ticketstatus: pick(r, TICKET_STATUS),
					ticketpriorities: pick(r, TICKET_PRIORITY),
					parent_id: opts.accountIds && opts.accountIds.length ? pick(r, opts.accountIds) : '',
					contact_id: opts.contactIds && opts.contactIds.length ? pick(r, opts.contactIds) : '',
					description: `Customer reports: ${pick(r, TICKET_TITLES).toLowerCase()}.`,
					assigned_user_id: owner,
				};
				break;
			default:
				throw new Error(`seed: unsupported module ${module}`);
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
