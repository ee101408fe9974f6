// @ts-check
'use strict';

/**
 * Deterministic seed data for the SalesMan emulator: realistic Russian and international names, no dependencies.
 * `generate(kind, n, opts)` returns plain field objects in SalesMan API field names (string values); the server
 * turns them into records. 10,000 clients take a few milliseconds.
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

const FIRST = ['Анна', 'Иван', 'Мария', 'Олег', 'Софья', 'Павел', 'Елена', 'Дмитрий', 'Ольга', 'Сергей', 'Наталья',
	'Алексей', 'Юлия', 'Михаил', 'Татьяна', 'Андрей', 'James', 'Laura', 'Felix', 'Nina'];
const LAST = ['Иванов', 'Петров', 'Сидоров', 'Смирнов', 'Кузнецов', 'Попов', 'Васильев', 'Соколов', 'Михайлов',
	'Новиков', 'Фёдоров', 'Морозов', 'Волков', 'Алексеев', 'Лебедев', 'Smith', 'Müller', "O'Brien", 'Rossi', 'Novak'];
const PREFIX = ['Ромашка', 'Вектор', 'Альфа', 'Сигма', 'Гранит', 'Север', 'Восток', 'Прогресс', 'Элемент', 'Орион',
	'Меридиан', 'Атлант', 'Стрела', 'Горизонт', 'Кедр', 'Байкал', 'Nordic', 'Vertex', 'Atlas', 'Summit'];
const CORE = ['Логистик', 'Софт', 'Трейд', 'Энерго', 'Строй', 'Медиа', 'Агро', 'Фарм', 'Техно', 'Сервис'];
const FORM = ['ООО', 'АО', 'ИП', 'ЗАО', '', 'Group', 'LLC'];
const CITIES = ['Москва', 'Пермь', 'Тюмень', 'Челябинск', 'Казань', 'Екатеринбург', 'Новосибирск', 'Самара', 'Berlin', 'Riga'];
const POSTS = ['Директор', 'Главный бухгалтер', 'Менеджер по закупкам', 'Инженер', 'Коммерческий директор', 'Юрист'];
const INDUSTRY = ['IT', 'Производство', 'Торговля', 'Строительство', 'Логистика', 'Медицина', 'Образование'];
const DEALS = ['Поставка оборудования', 'Внедрение CRM', 'Сервисный контракт', 'Лицензии', 'Консалтинг', 'Пилот'];
const TASKS = ['Позвонить клиенту', 'Отправить КП', 'Встреча в офисе', 'Подготовить договор', 'Уточнить реквизиты'];
const TASK_TIPS = ['исх.2.Звонок', 'Встреча', 'Задача', 'Отправка КП', 'исх.Почта'];
const HIST = ['Обсудили условия поставки', 'Клиент запросил скидку', 'Отправлено коммерческое предложение',
	'Согласован график платежей', 'Перезвонить после праздников'];
const HIST_TIPS = ['вх.Звонок', 'исх.Почта', 'Встреча', 'Предложение', 'исх.2.Звонок'];

/**
 * @template T
 * @param {() => number} r
 * @param {readonly T[]} a
 * @returns {T}
 */
const pick = (r, a) => a[Math.floor(r() * a.length)];

/** @param {string} s */
function hash(s) {
	let h = 0;
	for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
	return h >>> 0;
}

const TRANSLIT = /** @type {Record<string, string>} */ ({
	а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'y', к: 'k', л: 'l', м: 'm',
	н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'h', ц: 'c', ч: 'ch', ш: 'sh', щ: 'sch',
	ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya',
});
/** @param {string} s */
const slug = (s) =>
	s
		.toLowerCase()
		.split('')
		.map((c) => TRANSLIT[c] ?? c)
		.join('')
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[^a-z0-9]+/g, '');

/** @type {Map<string, string>} */
const slugCache = new Map();
/** @param {string} s */
const cachedSlug = (s) => {
	let v = slugCache.get(s);
	if (v === undefined) {
		v = slug(s);
		if (slugCache.size < 50000) slugCache.set(s, v);
	}
	return v;
};

/**
 * Generate n field objects of a kind.
 * @param {'client' | 'person' | 'deal' | 'lead' | 'task' | 'history'} kind
 * @param {number} n
 * @param {{ seed?: number, offset?: number, clids?: number[] }} [opts]
 * @returns {Record<string, string>[]}
 */
function generate(kind, n, opts = {}) {
	const off = opts.offset ?? 0;
	const r = rng((opts.seed ?? 42) + hash(kind) + off * 7919);
	const clid = () => (opts.clids && opts.clids.length ? String(pick(r, opts.clids)) : '');
	/** @type {Record<string, string>[]} */
	const out = new Array(n);
	for (let k = 0; k < n; k++) {
		const i = off + k;
		const first = pick(r, FIRST);
		const last = pick(r, LAST);
		const city = pick(r, CITIES);
		switch (kind) {
			case 'client': {
				const form = pick(r, FORM);
				const stem = `${pick(r, PREFIX)}${pick(r, CORE)}`;
				const core = `${stem} ${i + 1}`;
				const title = form === '' ? core : form === 'Group' || form === 'LLC' ? `${core} ${form}` : `${form} ${core}`;
				const s = cachedSlug(stem) + String(i + 1);
				out[k] = {
					title,
					phone: `+7 9${String(10 + Math.floor(r() * 89))} ${String(100 + Math.floor(r() * 899))}-${String(10 + Math.floor(r() * 89))}-${String(10 + Math.floor(r() * 89))}`,
					mail_url: `info@${s}.example`,
					site_url: `www.${s}.example`,
					address: `${city}, ул. Ленина, ${1 + Math.floor(r() * 120)}`,
					input1: pick(r, INDUSTRY),
				};
				break;
			}
			case 'person':
				out[k] = {
					person: `${last} ${first}`,
					ptitle: pick(r, POSTS),
					tel: `+7 495 ${String(1000000 + Math.floor(r() * 8999999))}`,
					mob: `+7 9${String(100000000 + Math.floor(r() * 899999999))}`,
					mail: `${cachedSlug(first)}.${cachedSlug(last)}${i}@mail.example`,
					clid: clid(),
				};
				break;
			case 'deal':
				out[k] = {
					title: `${pick(r, DEALS)} ${i + 1}`,
					clid: clid(),
					kol: String(Math.floor(r() * 1000) * 1000),
					input1: pick(r, ['сайт', 'звонок', 'выставка', 'рекомендация']),
				};
				break;
			case 'lead':
				out[k] = {
					title: `Заявка с сайта ${i + 1}`,
					email: `${cachedSlug(first)}${i}@lead.example`,
					phone: `+7 9${String(100000000 + Math.floor(r() * 899999999))}`,
					company: `${pick(r, PREFIX)} ${pick(r, CORE)}`,
					city,
					description: `Прошу перезвонить: ${pick(r, DEALS).toLowerCase()}`,
				};
				break;
			case 'task':
				out[k] = { title: pick(r, TASKS), des: `${pick(r, TASKS)}.`, tip: pick(r, TASK_TIPS), clid: clid() };
				break;
			case 'history':
				out[k] = { content: pick(r, HIST), tip: pick(r, HIST_TIPS), clid: clid() };
				break;
			default:
				throw new Error(`seed: unsupported kind ${kind}`);
		}
	}
	return out;
}

module.exports = { generate, rng };
