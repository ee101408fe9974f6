// @ts-check
'use strict';

/**
 * Deterministic seed data for the amoCRM emulator: realistic names, no dependencies.
 * `generate(entity, n, opts)` returns plain v4-shaped input objects (`name`, `price`, `first_name`, …) plus a
 * few hints (`_phone`, `_email`, `_web`) that the server turns into custom field values. 10,000 leads take a
 * few milliseconds.
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
	'Pavel', 'Sara', 'Tomás', 'Julia', 'Ahmed', 'Clara', 'Felix', 'Ines', 'Marek', 'Yuki', 'Aisha', 'Bruno', 'Eva',
	'Алексей', 'Мария', 'Сергей', 'Наталья'];
const LAST = ['Smith', 'Johnson', 'Müller', 'Garcia', 'Ivanova', 'Rossi', 'Kowalski', 'Nguyen', 'Dubois', 'Silva',
	'Petrov', "O'Brien", 'Tanaka', 'Schmidt', 'Jensen', 'Novak', 'Costa', 'Brown', 'Fischer', 'Lopez', 'Kim', 'Wilson',
	'Andersson', 'Horvat', 'Moreau', 'Popescu', 'Yilmaz', 'Sato', 'Murphy', 'Van Dijk', 'Kozlov', 'Santos', 'Смирнов',
	'Кузнецова'];
const PREFIX = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell',
	'Cyberdyne', 'Wonka', 'Aperture', 'Gringotts', 'Oscorp', 'Nakatomi', 'Pied Piper', 'Monarch', 'Blue Sun', 'Octan',
	'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Adatum', 'Proseware', 'Lucerne', 'Alpine', 'Baltic',
	'Nordic', 'Sierra', 'Vertex', 'Summit', 'Harbor', 'Granite', 'Cedar', 'Polar', 'Zenith', 'Atlas', 'Ромашка'];
const CORE = ['Logistics', 'Software', 'Foods', 'Energy', 'Consulting', 'Robotics', 'Textiles', 'Pharma', 'Media',
	'Motors', 'Analytics', 'Holdings', 'Networks', 'Design', 'Minerals', 'Travel', 'Security', 'Labs', 'Systems', 'Retail'];
const SUFFIX = ['Inc', 'Ltd', 'GmbH', 'LLC', 'S.A.', 'AG', 'Group', 'Co', 'Corp', 'OOO'];
const DEAL = ['renewal', 'expansion', 'pilot', 'license', 'rollout', 'support plan', 'upgrade', 'consulting', 'audit'];
const TASKS = ['Call back', 'Send the proposal', 'Prepare the contract', 'Follow up after the demo', 'Confirm the meeting',
	'Send the invoice', 'Check the payment', 'Позвонить клиенту'];
const NOTES = ['Client asked for a discount', 'Demo went well', 'Waiting for the budget approval', 'Sent the price list',
	'Клиент просит перезвонить завтра', 'Needs a second meeting with the CTO'];

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
		if (!v) v = 'x';
		if (slugCache.size < 50000) slugCache.set(s, v);
	}
	return v;
};

/** @param {() => number} r @param {number} i */
function companyName(r, i) {
	const base = `${pick(r, PREFIX)} ${pick(r, CORE)} ${pick(r, SUFFIX)}`;
	return i < 400 ? base : `${base} ${Math.floor(i / 400) + 1}`;
}

/** @param {string} s */
function hash(s) {
	let h = 0;
	for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
	return h >>> 0;
}

/**
 * Generate n input objects for an entity.
 * @param {'leads' | 'contacts' | 'companies' | 'tasks' | 'notes'} entity
 * @param {number} n
 * @param {{ seed?: number, offset?: number }} [opts]
 * @returns {Record<string, any>[]}
 */
function generate(entity, n, opts = {}) {
	const offset = opts.offset ?? 0;
	const r = rng((opts.seed ?? 42) + hash(entity) + offset * 7919);
	/** @type {Record<string, any>[]} */
	const out = new Array(n);
	for (let k = 0; k < n; k++) {
		const i = offset + k;
		switch (entity) {
			case 'leads':
				out[k] = {
					name: `${pick(r, PREFIX)} ${pick(r, DEAL)} #${i + 1}`,
					price: Math.floor(r() * 1000) * 100,
				};
				break;
			case 'contacts': {
				const first = pick(r, FIRST);
				const last = pick(r, LAST);
				out[k] = {
					first_name: first,
					last_name: last,
					name: `${first} ${last}`,
					_phone: `+7 9${String(10 + Math.floor(r() * 89))} ${String(100 + Math.floor(r() * 899))}-${String(10 + Math.floor(r() * 89))}-${String(10 + Math.floor(r() * 89))}`,
					_email: `${slug(first)}.${slug(last)}${i}@mail.example`,
				};
				break;
			}
			case 'companies': {
				const name = companyName(r, i);
				out[k] = {
					name,
					_phone: `+1 555 ${String(1000 + Math.floor(r() * 9000))}`,
					_email: `info@${slug(name)}.example`,
					_web: `https://www.${slug(name)}.example`,
				};
				break;
			}
			case 'tasks':
				out[k] = { text: `${pick(r, TASKS)} (${i + 1})`, _dueInDays: Math.floor(r() * 30) - 5 };
				break;
			case 'notes':
				out[k] = { note_type: 'common', params: { text: pick(r, NOTES) } };
				break;
			default:
				throw new Error(`seed: unsupported entity ${entity}`);
		}
	}
	return out;
}

module.exports = { generate, rng, pick };
