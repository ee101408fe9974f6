// @ts-check
'use strict';

/**
 * SalesMan CRM API v2 emulator: {base}/developer/v2/{method}.
 * Follows SalesMan's developer/v2/*.php and developer/webhooks.php (2025.4) and what a real SalesMan 2025.4 on
 * PHP 8.2 answered to curl (README.md, "Observed"). No dependencies beyond Node's standard library.
 */

const http = require('node:http');
const { URL } = require('node:url');
const { generate } = require('./seed.js');

const PAGE = 200;
const METHODS = ['client', 'person', 'deal', 'lead', 'task', 'history', 'user', 'guides'];

/** Accepted actions per method ($aceptedActions of each developer/v2/*.php). */
const ACTIONS = {
	client: ['fields', 'list', 'info', 'add', 'add.list', 'update', 'delete'],
	person: ['fields', 'list', 'info', 'add', 'update', 'add.list', 'delete'],
	deal: ['fields', 'steplist', 'direction', 'statusclose', 'type', 'funnel', 'list', 'info', 'add', 'update',
		'change.step', 'change.close', 'change.user', 'delete'],
	lead: ['info', 'add', 'stat', 'list'],
	task: ['tips', 'fields', 'list', 'info', 'add', 'update', 'doit', 'delete', 'history'],
	history: ['tips', 'fields', 'list', 'info', 'add', 'add.list', 'delete'],
	user: ['user', 'user.list', 'user.add'],
	guides: ['category', 'territory', 'relations', 'clientpath', 'company.list', 'company.listfull', 'company.bank',
		'company.signers'],
};

/** Table columns (for ORDER BY validation and filter[...]). */
const COLUMNS = {
	client: ['clid', 'uid', 'title', 'idcategory', 'iduser', 'clientpath', 'des', 'phone', 'fax', 'site_url',
		'mail_url', 'address', 'pid', 'head_clid', 'scheme', 'tip_cmr', 'territory', 'type', 'date_create', 'date_edit',
		'creator', 'editor', 'recv', 'last_dog', 'trash', 'input1', 'input2', 'input3', 'input4', 'input5', 'input6',
		'input7', 'input8', 'input9', 'input10', 'identity'],
	person: ['pid', 'uid', 'clid', 'ptitle', 'person', 'tel', 'fax', 'mob', 'mail', 'rol', 'social', 'iduser',
		'clientpath', 'loyalty', 'date_create', 'date_edit', 'creator', 'editor', 'input1', 'input2', 'input3', 'input4',
		'input5', 'input6', 'input7', 'input8', 'input9', 'input10', 'identity'],
	deal: ['did', 'uid', 'datum', 'datum_izm', 'datum_plan', 'datum_start', 'datum_end', 'datum_close', 'title',
		'content', 'tip', 'clid', 'payer', 'pid', 'pid_list', 'idcategory', 'iduser', 'autor', 'kol', 'kol_fact', 'marg',
		'marga', 'oborot', 'close', 'sid', 'des_fact', 'direction', 'mcid', 'dog_num', 'adres', 'calculate',
		'idcurrency', 'idcourse', 'input1', 'input2', 'input3', 'input4', 'input5', 'input6', 'input7', 'input8',
		'input9', 'input10', 'identity'],
	lead: ['id', 'datum', 'datum_do', 'status', 'rezult', 'title', 'email', 'phone', 'site', 'company',
		'description', 'ip', 'city', 'country', 'iduser', 'clientpath', 'pid', 'clid', 'did', 'partner', 'utm_source',
		'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_referrer', 'identity'],
	task: ['tid', 'datum', 'totime', 'title', 'des', 'tip', 'active', 'priority', 'speed', 'iduser', 'autor', 'clid',
		'pid', 'did', 'readonly', 'day', 'status', 'cid', 'created', 'identity'],
	history: ['cid', 'datum', 'des', 'tip', 'iduser', 'clid', 'pid', 'did', 'identity'],
};

const DEFAULT_FIELDS = {
	/** enabled client fields (app_field order on the probed install; recv is listed but never output) */
	client: [['title', 'Название'], ['iduser', 'Ответственный'], ['address', 'Адрес'], ['phone', 'Телефон'],
		['fax', 'Факс'], ['site_url', 'Сайт'], ['mail_url', 'Почта'], ['recv', 'Реквизиты']],
	person: [['ptitle', 'Должность'], ['person', 'Ф.И.О.'], ['tel', 'Тел.'], ['fax', 'Факс'], ['mob', 'Моб.'],
		['mail', 'Почта'], ['iduser', 'Куратор']],
	deal: [['mcid', 'ID своей компании'], ['iduser', 'Куратор'], ['datum_plan', 'Дата план.'], ['step', 'Этап'],
		['dog_num', 'Договор'], ['tip', 'Тип сделки'], ['direction', 'Направление'], ['payer', 'Плательщик'],
		['kol', 'Сумма план.'], ['marga', 'Прибыль']],
};
const DEFAULT_CUSTOM = { client: { input1: 'Отрасль' }, person: { input7: 'Добавочный' }, deal: { input1: 'Канал' } };

const STEPS = [
	{ idcategory: 10, title: '0', content: 'Проявлен/Выявлен интерес' },
	{ idcategory: 2, title: '20', content: 'Подтвержден интерес' },
	{ idcategory: 11, title: '40', content: 'Отправлено КП' },
	{ idcategory: 5, title: '60', content: 'Обсуждение деталей - продукты, услуги, оплата' },
	{ idcategory: 6, title: '80', content: 'Согласован договор, Выставлен счет' },
	{ idcategory: 7, title: '90', content: 'Получена предоплата, Выполнение договора' },
	{ idcategory: 8, title: '100', content: 'Закрытие сделки, Подписание документов' },
];
const DIRECTIONS = [{ id: '1', title: 'Основное', isDefault: 'yes' }];
const DEAL_TYPES = [
	{ tid: '6', title: 'Продажа быстрая', isDefault: 'yes' }, { tid: '1', title: 'Продажа простая', isDefault: '' },
	{ tid: '2', title: 'Продажа с разработкой', isDefault: '' }, { tid: '4', title: 'Продажа услуг', isDefault: '' },
	{ tid: '5', title: 'Тендер', isDefault: '' }, { tid: '3', title: 'Услуги', isDefault: '' },
];
const CLOSE_STATUS = [
	{ sid: '7', title: 'Закрыл менеджер. Отказ', result: 'lose' }, { sid: '6', title: 'Отказ от участия', result: 'lose' },
	{ sid: '5', title: 'Отменена Заказчиком', result: 'lose' }, { sid: '1', title: 'Победа полная', result: 'win' },
	{ sid: '2', title: 'Победа, договорились с конкурентами', result: 'win' },
	{ sid: '3', title: 'Проигрыш по цене', result: 'lose' },
	{ sid: '4', title: 'Проигрыш, договорились с конкурентами', result: 'lose' },
];
const TIPS = [
	['Первичный звонок', '#009900', 'all'], ['Факс', '#cc00cc', 'activ'], ['Встреча', '#ffcc00', 'all'],
	['Задача', '#ff6600', 'all'], ['Предложение', '#66ccff', 'activ'], ['Событие', '#666699', 'activ'],
	['исх.Почта', '#cccc00', 'all'], ['вх.Звонок', '#99cc00', 'all'], ['вх.Почта', '#cc3300', 'all'],
	['Поздравление', '#009999', 'task'], ['исх.2.Звонок', '#339966', 'all'], ['Отправка КП', '#ff0000', 'all'],
];
const GUIDES = {
	category: [{ id: 1, title: 'Физические лица', tip: 'client' }, { id: 2, title: 'Розница', tip: 'client' }],
	territory: [{ id: 1, title: 'Пермь' }, { id: 3, title: 'Тюмень' }, { id: 4, title: 'Челябинск' }, { id: 5, title: 'Москва' }],
	relations: [
		{ id: 1, title: '0 - Не работаем', color: '#333333' }, { id: 2, title: '1 - Холодный клиент', color: '#99ccff' },
		{ id: 3, title: '3 - Текущий клиент', color: '#3366ff' }, { id: 5, title: '4 - Постоянный клиент', color: '#ff9900' },
		{ id: 4, title: '2 - Потенциальный клиент', color: '#99ff66' },
		{ id: 6, title: '5 - Перспективный клиент', color: '#ff0033' },
	],
	clientpath: [
		{ id: 1, title: 'Личные связи', utm_source: '', destination: '' },
		{ id: 2, title: 'Маркетинг', utm_source: '', destination: '' },
		{ id: 3, title: 'Справочник', utm_source: '', destination: '' },
		{ id: 4, title: 'Заказ с сайта', utm_source: '', destination: '' },
		{ id: 5, title: 'Рекомендации клиентов', utm_source: 'fromfriend', destination: '' },
	],
};
const SOCIAL = { blog: 'Блог', mysite: 'Сайт', twitter: 'Twitter', icq: 'ICQ', skype: 'Skype', google: 'Google',
	yandex: 'Я.ru', mykrug: 'Мой круг' };

/** Webhook events the API can fire (developer/webhooks.php $eventsRegistered, those reachable from API v2). */
const EVENTS = ['client.add', 'client.edit', 'client.delete', 'person.add', 'person.edit', 'person.delete',
	'deal.add', 'deal.edit', 'deal.delete', 'deal.change.user', 'deal.change.step', 'deal.close', 'task.add',
	'task.edit', 'task.doit'];

/**
 * json_encode_cyr: PHP json_encode (escapes '/' and non-ASCII), then Russian letters unescaped.
 * @param {unknown} v @param {boolean} [cyr]
 */
function phpJson(v, cyr = true) {
	const esc = (/** @type {string} */ ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
	return JSON.stringify(v)
		.replace(/\//g, '\\/')
		.replace(cyr ? /[\u007f-\u0400\u0402-\u040f\u0450\u0452-\uffff]/g : /[\u007f-\uffff]/g, esc);
}

/** PHP's loose "empty string" test ($x != ''). @param {unknown} v */
const blank = (v) => v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0);
/** PHP (int) cast. @param {unknown} v */
const toInt = (v) => {
	if (typeof v === 'number') return Math.trunc(v);
	if (typeof v === 'boolean') return v ? 1 : 0;
	if (Array.isArray(v)) return v.length ? 1 : 0;
	const m = /^\s*[+-]?\d+/.exec(String(v ?? ''));
	return m ? Number.parseInt(m[0], 10) : 0;
};
/** PHP string cast of a scalar. @param {unknown} v */
const str = (v) => (v === null || v === undefined || v === false ? '' : v === true ? '1' : String(v));

/** untag(): strip tags, trim, drop quotes/backslashes/«» and '<','>'. @param {unknown} v */
const untag = (v) =>
	str(v)
		.replace(/<[^>]*>/g, '')
		.trim()
		.replace(/\\r\\n/g, '\r\n')
		.replace(/["\\'`«»<>]|&laquo;|&raquo;/g, '');
/** fieldClean(): strip tags, trim, '"' and «» -> ”. @param {unknown} v */
const fieldClean = (v) =>
	str(v)
		.replace(/<[^>]*>/g, '')
		.trim()
		.replace(/["«»]/g, '”')
		.replace(/&laquo;|&raquo;/g, '');
/** Cleaner() of the form-mode input. @param {string} s */
const cleaner = (s) => s.trim().replace(/"/g, '”').replace(/\\n\\r/g, '').replace(/'/g, '&acute;');

/** clientFormatTitle(): "ООО Ромашка" -> "Ромашка, ООО". @param {unknown} v */
function clientFormatTitle(v) {
	let s = untag(v);
	const first = [...s].slice(0, 3).join('');
	if (['ООО', 'ЗАО', 'ОАО', 'ИП'].includes(first)) s = `${s.split(first).join('')}, ${first}`.trim();
	return s;
}

/**
 * Parse a PHP query string (a[b][]=c, '.'/' ' in the top-level name -> '_', max_input_vars).
 * @param {string} qs @param {Record<string, any>} into @param {number} maxVars
 */
function parsePhpQuery(qs, into, maxVars = 1000) {
	let count = 0;
	for (const part of qs.split('&')) {
		if (!part) continue;
		if (++count > maxVars) break;
		const eq = part.indexOf('=');
		const dec = (/** @type {string} */ s) => {
			try {
				return decodeURIComponent(s.replace(/\+/g, ' '));
			} catch {
				return s;
			}
		};
		const rawName = dec(eq >= 0 ? part.slice(0, eq) : part);
		const value = eq >= 0 ? dec(part.slice(eq + 1)) : '';
		const b = rawName.indexOf('[');
		let base = b > 0 ? rawName.slice(0, b) : rawName;
		base = base.replace(/[. ]/g, '_');
		if (!base) continue;
		/** @type {string[]} */
		const keys = [];
		if (b > 0) {
			const re = /\[([^\]]*)\]/g;
			let m;
			let last = b;
			while ((m = re.exec(rawName)) && m.index === last) {
				keys.push(m[1]);
				last = re.lastIndex;
			}
		}
		if (!keys.length) {
			into[base] = value;
			continue;
		}
		if (typeof into[base] !== 'object' || into[base] === null) into[base] = {};
		let cur = into[base];
		for (let i = 0; i < keys.length; i++) {
			let k = keys[i];
			if (k === '') k = String(Object.keys(cur).filter((x) => /^\d+$/.test(x)).length ? Math.max(...Object.keys(cur).filter((x) => /^\d+$/.test(x)).map(Number)) + 1 : 0);
			if (i === keys.length - 1) cur[k] = value;
			else {
				if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
				cur = cur[k];
			}
		}
	}
	return into;
}

/** PHP foreach over an array-ish value (object with keys or array). @param {unknown} v @returns {any[]} */
const phpValues = (v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []);

/** http_build_query + $_REQUEST round trip: nulls dropped, scalars to strings, nesting kept. @param {any} v */
function stringifyDeep(v) {
	if (v === null || v === undefined) return undefined;
	if (typeof v === 'boolean') return v ? '1' : '0';
	if (typeof v !== 'object') return String(v);
	/** @type {Record<string, any>} */
	const o = {};
	for (const [k, x] of Object.entries(v)) {
		const s = stringifyDeep(x);
		if (s !== undefined) o[k] = s;
	}
	return o;
}

/** MySQL-ish comparison key for DATETIME/DATE columns: '2024-01-31' -> '2024-01-31 00:00:00'. @param {unknown} v */
const dt = (v) => {
	const s = str(v).trim();
	return /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s} 00:00:00` : s;
};

const FATAL_TYPE = (/** @type {string} */ file, /** @type {number} */ line, /** @type {string} */ msg) =>
	`<br />\n<b>Fatal error</b>:  Uncaught TypeError: ${msg} in /var/www/salesman/developer/v2/${file}:${line}\n` +
	`Stack trace:\n#0 {main}\n  thrown in <b>/var/www/salesman/developer/v2/${file}</b> on line <b>${line}</b><br />\n`;
/** A TypeError raised for a call from a developer/v2 script into a class method. */
const FATAL_TYPE_CALLED = (/** @type {string} */ msg, /** @type {string} */ file, /** @type {number} */ line, /** @type {string} */ defined, /** @type {number} */ definedLine) =>
	`<br />\n<b>Fatal error</b>:  Uncaught TypeError: ${msg}, called in /var/www/salesman/developer/v2/${file} on line ${line} and ` +
	`defined in /var/www/salesman/${defined}:${definedLine}\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/salesman/${defined}</b> on line <b>${definedLine}</b><br />\n`;
const FATAL_SQL = (/** @type {string} */ msg, /** @type {string} */ file) =>
	`<br />\n<b>Fatal error</b>:  Uncaught mysqli_sql_exception: ${msg} in ` +
	`/var/www/salesman/vendor/colshrapnel/safemysql/safemysql.class.php:466\nStack trace:\n` +
	`#0 /var/www/salesman/vendor/colshrapnel/safemysql/safemysql.class.php(466): mysqli_query()\n` +
	`#1 /var/www/salesman/developer/v2/${file}: SafeMySQL-&gt;query()\n#2 {main}\n` +
	`  thrown in <b>/var/www/salesman/vendor/colshrapnel/safemysql/safemysql.class.php</b> on line <b>466</b><br />\n`;

class Fatal extends Error {
	/** @param {string} html */
	constructor(html) {
		super('php fatal');
		this.html = html;
	}
}

/**
 * @typedef {{ iduser: number, login: string, title: string, email: string, active?: string, uid?: string | null }} User
 * @typedef {{ type: 'http500' | 'drop' | 'error' | 'fatal', code?: number | string, text?: string, action?: string,
 *   method?: string }} Fault
 * @typedef {{ url: string, events?: string[] }} Webhook
 * @typedef {{ url: string, event: string, body: Record<string, any>, raw: string, status: number | null,
 *   response: string | null, error: string | null, at: number, ms: number }} Delivery
 * @typedef {{ method: string, path: string, methodName: string, action: string, params: Record<string, any>,
 *   authStyle: 'headers' | 'query' | 'form' | 'body', login: string | null, at: number }} LoggedRequest
 */

/**
 * @param {{ login?: string, apiKey?: string, users?: User[], latencyMs?: number, webhooks?: Webhook[],
 *   webhookTimeoutMs?: number, webhookMode?: 'sync' | 'async', now?: () => (number | Date),
 *   customFields?: { client?: Record<string, string>, person?: Record<string, string>, deal?: Record<string, string> },
 *   personFatalError?: boolean, personUpdateBlanks?: boolean, authCodes?: 'observed' | 'source',
 *   sqlErrorStatus?: number, maxInputVars?: number }} [options]
 */
function createSalesManEmulator(options = {}) {
	const apiKey = options.apiKey ?? 'emulatorSalesManKey0123456789abc';
	/** @type {User[]} */
	const users = (options.users && options.users.length
		? options.users
		: [{ iduser: 1, login: options.login ?? 'admin@example.com', title: 'API Admin', email: options.login ?? 'admin@example.com' }]
	).map((u, i) => ({ uid: null, active: 'yes', ...u, iduser: u.iduser ?? i + 1, email: u.email ?? u.login }));
	const custom = { ...DEFAULT_CUSTOM, ...(options.customFields || {}) };

	// ---- clock -------------------------------------------------------------------------------------
	/** @type {() => number} */
	let clockBase = options.now ? (() => { const f = /** @type {() => number | Date} */ (options.now); return () => +f(); })() : () => Date.now();
	let clockOffset = 0;
	const now = () => clockBase() + clockOffset;
	const stamp = () => new Date(Math.floor(now() / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
	const today = () => stamp().slice(0, 10);

	// ---- state -------------------------------------------------------------------------------------
	/** @type {Record<'client'|'person'|'deal'|'lead'|'task'|'history', Map<number, Record<string, any>>>} */
	let db;
	/** @type {Record<string, number>} */
	let seq;
	let dealNumber = 2;
	/** bumped on every write; list sort caches are keyed on it */
	let version = 0;
	/** @type {Map<string, { version: number, rows: Record<string, any>[] }>} */
	const sortCache = new Map();
	const resetState = () => {
		version++;
		db = { client: new Map(), person: new Map(), deal: new Map(), lead: new Map(), task: new Map(), history: new Map() };
		seq = { client: 0, person: 0, deal: 0, lead: 0, task: 0, history: 0 };
		dealNumber = 2;
	};
	resetState();
	/** @type {Webhook[]} */
	const webhooks = [...(options.webhooks || [])];
	/** @type {Delivery[]} */
	const deliveries = [];
	/** @type {Set<Promise<void>>} */
	const pending = new Set();

	const knobs = {
		/** @type {Fault[]} */
		failNext: [],
		latencyMs: options.latencyMs ?? 0,
		/** person add/update save, then answer HTTP 200 with a PHP fatal-error page (real 2025.4 on PHP 8.2) */
		personFatalError: options.personFatalError ?? true,
		/** person update replaces the whole record: fields not sent are blanked (real 2025.4) */
		personUpdateBlanks: options.personUpdateBlanks ?? true,
		/** 'observed': a wrong apikey answers 401 (real server); 'source': 400 as the source/seed intend */
		authCodes: options.authCodes ?? 'observed',
		/** HTTP status of PHP fatal errors (SQL errors such as an unknown `order` column): 200 observed */
		sqlErrorStatus: options.sqlErrorStatus ?? 200,
		/** 'sync': the API answer waits for webhook deliveries (as the PHP code does); 'async': it does not */
		webhookMode: options.webhookMode ?? 'sync',
		webhookTimeoutMs: options.webhookTimeoutMs ?? 5000,
		maxInputVars: options.maxInputVars ?? 1000,
	};
	/** @type {LoggedRequest[]} */
	const requests = [];

	const userById = (/** @type {unknown} */ id) => users.find((u) => u.iduser === toInt(id));
	const userByLogin = (/** @type {unknown} */ l) => users.find((u) => u.login === str(l));
	const loginOf = (/** @type {unknown} */ id) => userById(id)?.login ?? '';
	const userIdByLogin = (/** @type {unknown} */ l) => userByLogin(l)?.iduser ?? 0;
	const clientTitle = (/** @type {unknown} */ clid) => db.client.get(toInt(clid))?.title ?? '';
	const dealTitle = (/** @type {unknown} */ did) => db.deal.get(toInt(did))?.title ?? '';
	// inc/func.helpers.php, used by the info and list answers: an id > 0 that matches nothing reads '--не найден--'
	// (a person: null), a person is shortened to its first two words, 0 reads ''.
	const currentClient = (/** @type {unknown} */ clid) => (toInt(clid) > 0 ? clientTitle(clid) || '--не найден--' : '');
	const currentDogovor = (/** @type {unknown} */ did) => (toInt(did) > 0 ? dealTitle(did) || '--не найден--' : '');
	const currentPerson = (/** @type {unknown} */ pid) => {
		if (toInt(pid) <= 0) return '';
		const name = str(db.person.get(toInt(pid))?.person);
		if (name === '') return null;
		const words = name.split(' ').filter((w) => w !== '').map((w) => w.trim());
		return `${words[0]} ${words[1] ?? ''}`;
	};
	const stepOf = (/** @type {unknown} */ idcategory) => STEPS.find((s) => s.idcategory === toInt(idcategory));
	const customOf = (/** @type {'client'|'person'|'deal'} */ kind) => Object.keys(custom[kind] || {});
	/** getStep(): a step by percent title or by id. @param {unknown} v */
	const getStep = (v) => {
		const s = str(v).replace('%', '').trim();
		const byTitle = STEPS.find((x) => x.title === s);
		if (byTitle) return byTitle.idcategory;
		const byId = STEPS.find((x) => String(x.idcategory) === s);
		return byId ? byId.idcategory : 0;
	};

	function addHistory(/** @type {Record<string, any>} */ h) {
		const cid = ++seq.history;
		db.history.set(cid, { cid, datum: stamp(), des: '', tip: 'СобытиеCRM', iduser: 1, clid: 0, pid: null, did: 0, ...h });
		return cid;
	}

	// ---- webhooks ----------------------------------------------------------------------------------
	/**
	 * Fire an event: body = args + event (+ identity, iduser1), through http_build_query and json_encode.
	 * @param {string} event @param {Record<string, any>} args @param {number} iduser1 @param {Promise<void>[]} waits
	 */
	function fire(event, args, iduser1, waits) {
		const targets = webhooks.filter((w) => !w.events || w.events.length === 0 || w.events.includes(event));
		if (!targets.length) return;
		/** @type {Record<string, any>} */
		const data = { ...args, event };
		data.identity = data.identity ?? 1;
		data.iduser1 = iduser1;
		const body = /** @type {Record<string, any>} */ (stringifyDeep(data));
		const raw = phpJson(body, false);
		for (const w of targets) {
			const p = deliver(w.url, event, body, raw);
			pending.add(p);
			p.finally(() => pending.delete(p));
			waits.push(p);
		}
	}
	/** @param {string} url @param {string} event @param {Record<string, any>} body @param {string} raw */
	function deliver(url, event, body, raw) {
		const t0 = Date.now();
		/** @type {Delivery} */
		const d = { url, event, body, raw, status: null, response: null, error: null, at: now(), ms: 0 };
		deliveries.push(d);
		return new Promise(/** @param {(v?: void) => void} resolve */ (resolve) => {
			let done = false;
			const finish = (/** @type {string | null} */ err) => {
				if (done) return;
				done = true;
				d.error = err;
				d.ms = Date.now() - t0;
				resolve();
			};
			try {
				const u = new URL(url);
				const req = http.request(
					{ method: 'POST', hostname: u.hostname, port: u.port || 80, path: u.pathname + u.search,
						headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(raw), Connection: 'close' } },
					(res) => {
						/** @type {Buffer[]} */
						const chunks = [];
						res.on('data', (c) => chunks.push(c));
						res.on('end', () => {
							d.status = res.statusCode ?? null;
							d.response = Buffer.concat(chunks).toString('utf8');
							finish(null);
						});
						res.on('error', (e) => finish(e.message));
					},
				);
				req.setTimeout(knobs.webhookTimeoutMs, () => {
					req.destroy(new Error('timeout'));
				});
				req.on('error', (e) => finish(e.message));
				req.end(raw);
			} catch (e) {
				finish(/** @type {Error} */ (e).message);
			}
		});
	}

	// ---- records: shaping --------------------------------------------------------------------------
	/** @type {Record<string, string[]>} */
	const enabledCache = {};
	const enabled = (/** @type {'client'|'person'|'deal'} */ kind) => (enabledCache[kind] ??= enabledOf(kind));
	const enabledOf = (/** @type {'client'|'person'|'deal'} */ kind) => {
		const base = DEFAULT_FIELDS[kind].map(([n]) => n);
		const c = customOf(kind);
		if (kind === 'client') return [...c, ...base];
		if (kind === 'deal') return [...base, ...c];
		return [...base, ...c];
	};
	/** isfields: what list/info print for clients. */
	const clientFields = () => ['clid', 'uid', 'type', 'date_create', 'date_edit', ...enabled('client').filter((f) => f !== 'recv')];
	const personFields = () => ['pid', 'date_create', 'date_edit', 'clid', ...enabled('person')];
	const dealFields = () => ['did', 'uid', 'datum', 'datum_izm', 'clid', 'title', ...enabled('deal'), 'datum_start',
		'datum_end', 'close', 'datum_close', 'status_close', 'des_fact', 'kol_fact'];
	/** @param {string[]} all @param {unknown} wanted */
	const pickFields = (all, wanted) => {
		if (blank(wanted)) return all;
		const w = str(wanted).split(',').map((s) => s.trim()).filter(Boolean);
		return w.filter((f) => all.includes(f));
	};
	const fmtInfoDate = (/** @type {string | null} */ s) => {
		if (!s) return '';
		const [d, t] = s.split(' ');
		const [y, m, dd] = d.split('-');
		return `${dd}.${m}.${y.slice(2)},  ${(t || '00:00').slice(0, 5)}`;
	};
	const INT = new Set(['clid', 'pid', 'did', 'iduser', 'head_clid', 'idcategory', 'territory', 'clientpath', 'creator',
		'editor', 'mcid', 'payer', 'direction', 'tip', 'autor', 'sid', 'cid', 'status', 'rezult', 'partner']);
	const FLOAT = new Set(['kol', 'kol_fact', 'marga', 'marg', 'oborot']);

	/** @param {Record<string, any>} c @param {string[]} fields */
	function clientRow(c, fields) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			if (f === 'iduser') {
				o.user = loginOf(c.iduser);
				o.iduser = toInt(c.iduser);
			} else if (INT.has(f)) o[f] = toInt(c[f]);
			else o[f] = c[f] ?? null;
		}
		return o;
	}
	/** @param {Record<string, any>} c @param {string[]} fields */
	function clientInfo(c, fields) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			if (f === 'iduser') {
				o.iduser = toInt(c.iduser);
				o.user = loginOf(c.iduser);
			} else if (f === 'date_create') {
				o.created = c.date_create;
				o.date_create = fmtInfoDate(c.date_create);
			} else if (f === 'date_edit') {
				o.edited = c.date_edit ?? null;
				o.date_edit = fmtInfoDate(c.date_edit);
			} else if (f === 'clid') o.clid = c.clid;
			else o[f] = c[f] !== null && c[f] !== undefined && c[f] !== '' ? c[f] : null;
		}
		return o;
	}
	/** @param {Record<string, any>} p @param {string[]} fields @param {boolean} info */
	function personRow(p, fields, info) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			if (f === 'clid') {
				o.clid = toInt(p.clid);
				o.client = currentClient(p.clid);
			} else if (f === 'iduser') {
				if (info) o.iduser = loginOf(p.iduser);
				else {
					o.user = loginOf(p.iduser);
					o.iduser = toInt(p.iduser);
				}
			} else if (f === 'pid') o.pid = p.pid;
			else o[f] = p[f] ?? null;
		}
		return o;
	}
	const personNotFound = (/** @type {string[]} */ fields) => {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			if (f === 'clid') {
				o.clid = null;
				o.client = '';
			} else if (f === 'iduser') o.iduser = '';
			else o[f] = null;
		}
		return o;
	};
	/** @param {Record<string, any>} d @param {string[]} fields */
	function dealRow(d, fields) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			switch (f) {
				case 'iduser':
					o.iduser = toInt(d.iduser);
					o.user = loginOf(d.iduser);
					o.userTitle = userById(d.iduser)?.title ?? '';
					break;
				case 'clid':
					o.clid = toInt(d.clid);
					o.clientTitle = currentClient(d.clid);
					break;
				case 'payer':
					o.payer = toInt(d.payer);
					o.payerTitle = currentClient(d.payer);
					break;
				case 'step': {
					const s = stepOf(d.idcategory);
					o.step = s ? toInt(s.title) : 0;
					o.stepID = toInt(d.idcategory);
					o.stepTitle = s ? s.content : null;
					break;
				}
				case 'direction':
					o.directionID = toInt(d.direction);
					o.direction = DIRECTIONS.find((x) => x.id === String(d.direction))?.title ?? '';
					break;
				case 'tip':
					o.tipID = toInt(d.tip);
					o.tip = DEAL_TYPES.find((x) => x.tid === String(d.tip))?.title ?? '';
					break;
				case 'status_close':
					o.status_close = CLOSE_STATUS.find((x) => x.sid === String(d.sid))?.title ?? false;
					break;
				case 'dog_num':
					o.contractID = toInt(d.dog_num);
					o.contractTitle = null;
					o.contractNumber = null;
					o.contractDate = null;
					break;
				default:
					if (INT.has(f)) o[f] = toInt(d[f]);
					else if (FLOAT.has(f)) o[f] = Number.parseFloat(str(d[f])) || 0;
					else o[f] = d[f] !== null && d[f] !== undefined && d[f] !== '' ? d[f] : null;
			}
		}
		return o;
	}
	/** deal info: the 2025.4 code maps every plain field through `$v == "" ? $v : NULL` (non-empty -> null). */
	function dealInfo(/** @type {Record<string, any>} */ d, /** @type {string[]} */ fields) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of fields) {
			if (f === 'payer') continue;
			if (f === 'iduser') {
				o.iduser = toInt(d.iduser);
				o.user = loginOf(d.iduser);
				o.userUID = '';
			} else if (['step', 'direction', 'tip', 'status_close', 'dog_num'].includes(f)) Object.assign(o, dealRow(d, [f]));
			else o[f] = d[f] === '' ? '' : null;
		}
		return o;
	}
	/** @param {Record<string, any>} t */
	function taskRow(t, withPerson = true) {
		/** @type {Record<string, any>} */
		const o = {
			tid: String(t.tid), datum: t.datum, totime: t.totime, title: t.title ?? null, des: t.des ?? null, tip: t.tip,
			active: t.active, priority: String(t.priority ?? '0'), speed: String(t.speed ?? '0'), iduser: toInt(t.iduser),
			user: loginOf(t.iduser), autor: toInt(t.autorShown ?? 0), autorlogin: loginOf(t.autorShown ?? 0),
			clid: toInt(t.clid), client: currentClient(t.clid),
		};
		if (withPerson) o.person = str(t.pid).split(/[;,]/).map((p) => ({ pid: toInt(p), person: currentPerson(p) }));
		Object.assign(o, { did: toInt(t.did), dogovor: currentDogovor(t.did), readonly: t.readonly ?? 'no', day: t.day ?? null,
			status: String(t.status ?? '0') });
		return o;
	}
	/** @param {Record<string, any>} h */
	function historyRow(h) {
		return {
			cid: h.cid, datum: h.datum, content: str(h.des).replace(/\r?\n/g, '<br />\n'), tip: h.tip, iduser: toInt(h.iduser),
			user: loginOf(h.iduser), clid: toInt(h.clid), client: currentClient(h.clid),
			person: str(h.pid).split(';').map((p) => ({ pid: toInt(p), person: currentPerson(p) })),
			did: toInt(h.did), dogovor: currentDogovor(h.did),
		};
	}
	const LEAD_STATUS = ['Открыт', 'В работе', 'Обработан', 'Закрыт'];
	/** @param {Record<string, any>} l */
	function leadRow(l) {
		return {
			id: l.id, datum: l.datum, datum_do: l.datum_do ?? null, email: l.email ?? null, phone: l.phone ?? null,
			site: l.site ?? null, company: l.company ?? null, city: l.city ?? null, country: l.country ?? null,
			// lead list joins the client, person and deal tables: a missing one reads null
			content: l.description ?? null, clid: toInt(l.clid), client: db.client.get(toInt(l.clid))?.title ?? null,
			pid: toInt(l.pid), person: db.person.get(toInt(l.pid))?.person ?? null, did: toInt(l.did),
			deal: db.deal.get(toInt(l.did))?.title ?? null, user: toInt(l.iduser),
			userName: toInt(l.iduser) ? userById(l.iduser)?.title ?? '' : 'Не определен', status: toInt(l.status),
			statusName: LEAD_STATUS[toInt(l.status)] ?? '', rezult: l.rezult ?? null, rezultName: '',
			clientpath: String(toInt(l.clientpath)), clientpathName: null, uids: [],
		};
	}
	/** @param {Record<string, any>} l */
	function leadInfo(l) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const c of COLUMNS.lead) {
			if (c === 'identity') continue;
			o[c] = INT.has(c) || c === 'id' ? toInt(l[c]) : l[c] ?? null;
		}
		return Object.assign(o, {
			statusName: LEAD_STATUS[toInt(l.status)] ?? '', rezultName: null, clientpathName: '',
			userName: toInt(l.iduser) ? userById(l.iduser)?.title ?? null : null,
			client: toInt(l.clid) ? currentClient(l.clid) : null, person: toInt(l.pid) ? currentPerson(l.pid) : null,
			deal: toInt(l.did) ? currentDogovor(l.did) : null,
		});
	}

	// ---- records: writing --------------------------------------------------------------------------
	const cleanVal = (/** @type {unknown} */ v) => {
		if (Array.isArray(v) || (v && typeof v === 'object')) return phpValues(v).map(str).join(', ').trim();
		const s = fieldClean(v);
		return s === '' ? null : s;
	};
	/** Client add (Client::add). @returns {Record<string, any>} response */
	function clientAdd(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const iduser = toInt(p.iduser) || (blank(p.user) ? iduser1 : userIdByLogin(p.user));
		let phones = p.phone;
		if (!Array.isArray(phones) && !blank(phones)) phones = str(phones).replace(/,/g, ';').split(';').map((s) => s.trim()).filter(Boolean);
		const digits = (/** @type {string} */ s) => s.replace(/[^\d]/g, '');
		const title = clientFormatTitle(p.title);
		const mail = blank(p.mail_url) ? '' : str(p.mail_url).trim();
		let existing = 0;
		for (const c of db.client.values()) {
			if (c.title !== title) continue;
			if (Array.isArray(phones) && phones.length) {
				const cp = digits(str(c.phone));
				if (!phones.some((/** @type {string} */ ph) => cp.includes(digits(str(ph)).slice(1)))) continue;
			}
			if (mail && !str(c.mail_url).includes(mail)) continue;
			existing = c.clid;
			break;
		}
		if (existing) {
			return { result: 'Error', exists: existing, error: { code: 304,
				text: `Найден существующий клиент - ${clientTitle(existing)} (clid = ${existing}). Запрос отклонен.` } };
		}
		if (blank(p.title)) return { result: 'Error', error: { code: 402, text: 'Отсутствуют параметры - Название клиента' } };
		const allowed = new Set([...enabled('client').filter((f) => f !== 'recv'), 'type', 'uid']);
		/** @type {Record<string, any>} */
		const c = { clid: 0, uid: null, type: 'client', date_create: null, date_edit: null };
		for (const f of enabled('client')) if (f !== 'recv') c[f] = null;
		for (const [k, v] of Object.entries(p)) {
			if (!allowed.has(k)) continue;
			if (k === 'title') c.title = title;
			else if (k === 'type') c.type = blank(v) ? 'client' : str(v);
			else if (k === 'phone') c.phone = Array.isArray(phones) ? phones.join(',') : cleanVal(v);
			else if (k === 'iduser') continue;
			else c[k] = cleanVal(v);
		}
		if (allowed.has('iduser')) c.iduser = iduser;
		c.date_create = !blank(p.date_create) && !Number.isNaN(Date.parse(str(p.date_create))) ? str(p.date_create) : stamp();
		c.creator = iduser1;
		c.clid = ++seq.client;
		db.client.set(c.clid, c);
		addHistory({ iduser: iduser1, clid: c.clid, des: 'Добавлен клиент', tip: 'СобытиеCRM' });
		fire('client.add', { clid: c.clid, autor: iduser1, user: iduser }, iduser1, waits);
		return { result: 'Успешно', data: c.clid };
	}
	function clientUpdate(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const c = db.client.get(toInt(p.clid));
		if (!c) return { result: 'Error', error: { code: 403, text: 'Клиент с указанным clid не найден в пределах аккаунта' } };
		/** @type {Record<string, any>} */
		const changed = {};
		const allowed = new Set([...enabled('client').filter((f) => f !== 'recv'), 'type', 'uid']);
		for (const [k, v] of Object.entries(p)) {
			if (!allowed.has(k) || k === 'clid') continue;
			let nv;
			if (k === 'title') nv = clientFormatTitle(v);
			else if (k === 'iduser') nv = toInt(v);
			else nv = cleanVal(v);
			if (str(nv) !== str(c[k])) {
				changed[k] = nv;
				c[k] = nv;
			}
		}
		if (!blank(p.user) && allowed.has('iduser')) {
			const u = userIdByLogin(p.user);
			if (u && u !== c.iduser) changed.iduser = c.iduser = u;
		}
		c.date_edit = stamp();
		c.editor = iduser1;
		const hid = addHistory({ iduser: iduser1, clid: c.clid, des: 'Изменены данные клиента', tip: 'СобытиеCRM' });
		fire('client.edit', { clid: c.clid, autor: iduser1, user: toInt(p.iduser), newparam: changed }, iduser1, waits);
		return { data: c.clid, hid, result: 'Успешно' };
	}
	function clientDelete(/** @type {unknown} */ id, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const clid = toInt(id);
		const c = db.client.get(clid);
		if (!c) return { result: 'Error', error: { code: 403, text: 'Не найдена запись' } };
		for (const d of db.deal.values()) {
			if (toInt(d.clid) === clid) {
				return { result: 'Error', error: { code: 408, text: 'Клиент не удален. Внимание: К сожалению Удаление записи не возможно. Причина - Имеются связанные записи - Сделки.' } };
			}
		}
		let persons = 0;
		for (const p of db.person.values()) if (toInt(p.clid) === clid) { p.clid = 0; persons++; }
		for (const l of db.lead.values()) if (toInt(l.clid) === clid) l.clid = 0;
		let hist = 0;
		for (const [k, h] of db.history) if (toInt(h.clid) === clid) { db.history.delete(k); hist++; }
		let tasks = 0;
		for (const [k, t] of db.task) {
			if (toInt(t.clid) !== clid) continue;
			if (toInt(t.pid) === 0) db.task.delete(k);
			else t.clid = 0;
			tasks++;
		}
		db.client.delete(clid);
		fire('client.delete', { clid, autor: iduser1 }, iduser1, waits);
		return {
			message: `Успешно: Клиент удален.<br>Также удалено ${hist} записи истории активностей. Снята привязка к Клиенту у ${persons} Контактов. Удалено ${tasks} записей напоминаний. Удалено 0 файлов.`,
			result: 'Клиент удален', data: clid,
		};
	}
	const PERSON_WRITABLE = () => new Set([...enabled('person'), 'clid', 'rol', 'social', 'loyalty', 'clientpath', 'uid']);
	function personAdd(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		if (blank(p.person)) return { result: '', data: 0, error: '' };
		/** @type {Record<string, any>} */
		const r = { pid: 0, date_create: null, date_edit: null, clid: 0 };
		for (const f of enabled('person')) r[f] = null;
		const allowed = PERSON_WRITABLE();
		for (const [k, v] of Object.entries(p)) {
			if (!allowed.has(k)) continue;
			r[k] = k === 'clid' ? toInt(v) : k === 'iduser' ? toInt(v) : cleanVal(v);
		}
		r.iduser = toInt(p.iduser) || (blank(p.user) ? iduser1 : userIdByLogin(p.user));
		r.date_create = stamp();
		r.creator = iduser1;
		r.pid = ++seq.person;
		db.person.set(r.pid, r);
		fire('person.add', { pid: r.pid, autor: iduser1 }, iduser1, waits);
		return { result: 'Контакт добавлен', data: r.pid, error: '' };
	}
	function personUpdate(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const r = db.person.get(toInt(p.pid));
		if (!r) {
			if (!knobs.personFatalError) return { result: 'Error', error: { code: 403, text: 'Контакт не найден' } };
			// Person::fullupdate compares with an empty old record: it logs a change, updates no row and fires the
			// event (observed: the history entry of an unknown pid is there, and the answer is the usual fatal page)
			addHistory({ iduser: iduser1, pid: String(toInt(p.pid)), clid: toInt(p.clid), des: 'Изменены данные контакта', tip: 'ЛогCRM' });
			fire('person.edit', { pid: toInt(p.pid), autor: iduser1, newparam: {} }, iduser1, waits);
			return { result: 'Успешно', data: toInt(p.pid) };
		}
		const allowed = PERSON_WRITABLE();
		/** @type {Record<string, any>} */
		const changed = {};
		const set = (/** @type {string} */ k, /** @type {any} */ v) => {
			if (str(v) !== str(r[k])) changed[k] = v;
			r[k] = v;
		};
		if (knobs.personUpdateBlanks) {
			for (const f of enabled('person')) {
				if (f === 'iduser') { if (!('iduser' in p) && !('user' in p)) r.iduser = null; continue; }
				if (!(f in p)) set(f, '');
			}
		}
		for (const [k, v] of Object.entries(p)) {
			if (!allowed.has(k) || k === 'pid') continue;
			set(k, k === 'clid' || k === 'iduser' ? toInt(v) : cleanVal(v) ?? '');
		}
		if (!blank(p.user)) r.iduser = userIdByLogin(p.user);
		// a change is written to the history (doLogger, tip ЛогCRM), with the person and its client
		if (Object.keys(changed).length) addHistory({ iduser: iduser1, pid: String(r.pid), clid: toInt(r.clid), des: 'Изменены данные контакта', tip: 'ЛогCRM' });
		r.date_edit = stamp();
		r.editor = iduser1;
		changed.date_edit = r.date_edit;
		changed.editor = iduser1;
		fire('person.edit', { pid: r.pid, autor: iduser1, newparam: changed }, iduser1, waits);
		return { result: 'Успешно', data: r.pid };
	}
	/**
	 * Person::delete: refused while a deal names the person; otherwise every history entry and task that lists
	 * the pid loses it, and is deleted when nothing else (client, deal, another person) holds it. This runs for an
	 * unknown pid too (observed: the history left by updating an unknown pid is counted).
	 */
	function personDelete(/** @type {unknown} */ id, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const pid = toInt(id);
		if ([...db.deal.values()].some((d) => toInt(d.pid) === pid)) {
			return { result: 'Контакт не удален', error: 'Внимание: К сожалению Удаление записи не возможно. Причина - Имеются связанные записи - Сделки.', data: pid };
		}
		let hist = 0;
		let tasks = 0;
		for (const [table, map] of /** @type {const} */ ([['history', db.history], ['task', db.task]])) {
			for (const [k, row] of map) {
				const pids = str(row.pid).split(';').map((x) => x.trim()).filter((x) => x !== '');
				if (!pids.includes(String(pid))) continue;
				const rest = pids.filter((x) => x !== String(pid));
				if (toInt(row.clid) < 1 && toInt(row.did) < 1 && rest.length === 0) map.delete(k);
				else row.pid = rest.join(';');
				if (table === 'history') hist++;
				else tasks++;
			}
		}
		for (const c of db.client.values()) if (toInt(c.pid) === pid) c.pid = 0;
		for (const l of db.lead.values()) if (toInt(l.pid) === pid) l.pid = 0;
		db.person.delete(pid);
		fire('person.delete', { pid, autor: iduser1 }, iduser1, waits);
		return {
			message: `Успешно: Контакт удален. Также удалено ${hist} записи истории активностей. Удалено ${tasks} записей напоминаний. Удалено 0 файлов.\n\t\t\t`,
			result: 'Клиент удален', data: pid,
		};
	}
	const DEAL_WRITABLE = () => new Set(['title', 'content', 'clid', 'payer', 'pid', 'pid_list', 'kol', 'marga', 'datum_plan',
		'datum_start', 'datum_end', 'direction', 'tip', 'mcid', 'adres', 'uid', 'iduser', 'dog_num', ...customOf('deal')]);
	function dealAdd(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const payerSent = 'payer' in p;
		p = { ...p, iduser: blank(p.user) ? iduser1 : userIdByLogin(p.user) };
		const clientOk = db.client.has(toInt(p.clid));
		const payerOk = db.client.has(toInt(p.payer));
		if (!clientOk && !payerOk) return { result: 'Error', error: { code: 407, text: 'Клиент или Плательщик не найден.' } };
		if (blank(p.title)) return { result: 'Error', error: { code: 406, text: 'Отсутствуют параметры - Название сделки' } };
		if (!('clid' in p) && toInt(p.payer) > 0) p.clid = p.payer;
		else if (!('payer' in p) && toInt(p.clid) > 0) p.payer = p.clid;
		const datum = today();
		const plan = new Date(Date.parse(`${datum}T00:00:00Z`) + 14 * 86400e3).toISOString().slice(0, 10);
		/** @type {Record<string, any>} */
		const newparam = {};
		const allowed = DEAL_WRITABLE();
		for (const [k, v] of Object.entries(p)) {
			if (!allowed.has(k) || k === 'iduser' || (k === 'payer' && !payerSent)) continue;
			newparam[k] = k === 'title' ? `СД${dealNumber}: ${untag(v)}` : k === 'pid_list' ? str(v).replace(/,/g, ';') : str(v);
		}
		Object.assign(newparam, { iduser: p.iduser, payer: toInt(p.payer) });
		for (const [k, v] of /** @type {[string, any][]} */ ([['datum_plan', plan], ['kol', 0], ['marga', 0], ['direction', 1],
			['tip', 6], ['close', 'no'], ['mcid', 0], ['pid', 0], ['calculate', 'no'], ['datum', datum], ['autor', iduser1],
			['identity', 1], ['idcategory', 0], ['idcurrency', 0], ['idcourse', 0]])) {
			if (!(k in newparam)) newparam[k] = v;
		}
		const step = toInt(getStep(p.step));
		if (step) newparam.idcategory = step;
		dealNumber++;
		const did = ++seq.deal;
		newparam.did = did;
		/** @type {Record<string, any>} */
		const d = { uid: null, datum_izm: null, datum_start: null, datum_end: null, datum_close: null, sid: 0, des_fact: null,
			kol_fact: 0, dog_num: 0, ...newparam, clid: toInt(newparam.clid), kol: Number.parseFloat(str(newparam.kol)) || 0 };
		for (const f of customOf('deal')) if (!(f in d)) d[f] = null;
		db.deal.set(did, d);
		// Deal::add writes "Добавлена сделка" to the client's history, without the deal's id (observed: deleting the
		// client later counts it)
		addHistory({ iduser: iduser1, clid: toInt(d.clid), des: 'Добавлена сделка', tip: 'СобытиеCRM' });
		fire('deal.add', { did, autor: iduser1, userUID: '', newparam }, iduser1, waits);
		return { result: 'Успешно', data: did };
	}
	/** pre_format(): spaces dropped, ',' -> '.', then a float. @param {unknown} v */
	const preFormat = (v) => Number.parseFloat(untag(str(v).replace(/ /g, '')).replace(/,/g, '.')) || 0;
	/**
	 * deal.php update -> Deal::fullupdate(fromapi): only the fields of dealFields() that are sent (content, adres,
	 * step and user are not among them), and only when one of them changes. kol and marga do not count as a change
	 * unless a title is sent too, so a deal update of the amount alone answers 302 and changes nothing (observed).
	 * When something changes, marga is rewritten from the request (0 when not sent) and pid too.
	 */
	function dealUpdate(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1, /** @type {Promise<void>[]} */ waits) {
		const d = toInt(p.did) > 0 ? db.deal.get(toInt(p.did)) : blank(p.uid) ? undefined : [...db.deal.values()].find((x) => str(x.uid) === untag(p.uid));
		if (!d) return { result: 'Error', error: { code: 403, text: 'Сделка с указанным did не найдена в пределах аккаунта указанного пользователя.' } };
		const params = { ...p };
		delete params.step;
		delete params.idcategory;
		if ('pid_list' in params) params.pid_list = str(params.pid_list).replace(/,/g, ';');
		if (!('clid' in params) && toInt(params.payer) > 0) params.clid = toInt(params.payer);
		else if (!('payer' in params) && toInt(params.clid) > 0) params.payer = toInt(params.clid);
		params.marga = preFormat(params.marg ?? params.marga);
		if (!('pid_list' in params)) params.pid_list = '';
		if (!('coid1' in params)) params.coid1 = '';
		const fields = ['uid', 'clid', 'title', 'mcid', 'iduser', 'datum_plan', 'dog_num', 'tip', 'direction', 'payer', 'kol', 'marga',
			...customOf('deal'), 'datum_start', 'datum_end', 'coid1', 'pid_list', 'calculate', 'idcourse', 'idcurrency'];
		/** @type {Record<string, any>} */
		const next = {};
		for (const f of fields) {
			if (!(f in params)) continue;
			const v = params[f];
			switch (f) {
				case 'title': next[f] = untag(v); break;
				case 'payer': next[f] = toInt(v) < 1 ? toInt(params.clid) : toInt(v); break;
				case 'mcid': case 'idcourse': case 'idcurrency': next[f] = Math.max(0, toInt(v)); break;
				case 'kol': case 'marga': next[f] = preFormat(v); break;
				case 'direction': next[f] = toInt(v) || 1; break;
				case 'tip': next[f] = toInt(v) || 6; break;
				case 'clid': case 'iduser': case 'dog_num': next[f] = toInt(v); break;
				default: next[f] = fieldClean(Array.isArray(v) ? v.join(f === 'pid_list' || f === 'coid1' ? ';' : ', ') : v);
			}
		}
		/** @type {Record<string, any>} */
		const newparam = {};
		for (const [k, v] of Object.entries(next)) {
			if (k === 'kol' || k === 'marga') continue;
			if (str(v) !== str(d[k])) newparam[k] = v;
		}
		if ('title' in params && params.calculate !== 'yes' && !blank(params.kol) && preFormat(params.kol) !== Number(d.kol)) newparam.kol = preFormat(params.kol);
		if (!Object.keys(newparam).length) return { result: 'Данные корректны, но идентичны имеющимся.', data: d.did, error: { code: 302 } };
		Object.assign(d, next);
		d.datum_izm = today();
		d.pid = toInt(params.pid) < 1 ? 0 : toInt(params.pid);
		addHistory({ iduser: iduser1, did: d.did, clid: toInt(params.clid), pid: toInt(params.pid) ? String(toInt(params.pid)) : null, des: 'Изменены данные сделки', tip: 'ЛогCRM' });
		fire('deal.edit', { did: d.did, autor: iduser1, newparam }, iduser1, waits);
		return { result: 'Готово', data: d.did };
	}

	// ---- lists ---------------------------------------------------------------------------------------
	/**
	 * SQL-like filter/sort/page. Throws Fatal on an unknown ORDER BY column.
	 * @param {'client'|'person'|'deal'|'lead'|'task'|'history'} kind
	 * @param {((r: Record<string, any>) => boolean) | null} where null = no filter
	 * @param {Record<string, any>} p
	 * @param {string} defOrder
	 * @param {string} file
	 */
	function query(kind, where, p, defOrder, file) {
		let order = blank(p.order) ? defOrder : str(p.order);
		const synonyms = /** @type {Record<string, string>} */ ({ date_change: kind === 'deal' ? 'datum_izm' : 'date_edit', date_create: kind === 'deal' ? 'datum' : 'date_create' });
		if (synonyms[order] && (kind === 'deal' || kind === 'client')) order = synonyms[order];
		const col = order.replace(/`/g, '').trim();
		if (!COLUMNS[kind].includes(col)) throw new Fatal(FATAL_SQL(`Unknown column '${col}' in 'ORDER BY'`, file));
		const asc = str(p.first) === 'old';
		const idKey = { client: 'clid', person: 'pid', deal: 'did', lead: 'id', task: 'tid', history: 'cid' }[kind];
		const num = FLOAT.has(col) || INT.has(col) || col === idKey;
		const ck = `${kind}|${col}|${asc}`;
		let sorted = sortCache.get(ck);
		if (!sorted || sorted.version !== version) {
			sorted = { version, rows: sortRows([...db[kind].values()], col, asc, num, idKey) };
			sortCache.set(ck, sorted);
		}
		const page = Math.max(0, toInt(p.offset));
		const from = page * PAGE;
		const rows = [];
		let total = 0;
		if (!where) return { total: sorted.rows.length, rows: sorted.rows.slice(from, from + PAGE) };
		for (const r of sorted.rows) {
			if (!where(r)) continue;
			if (total >= from && total < from + PAGE) rows.push(r);
			total++;
		}
		return { total, rows };
	}
	/** @param {Record<string, any>[]} rows @param {string} col @param {boolean} asc @param {boolean} num @param {string} idKey */
	function sortRows(rows, col, asc, num, idKey) {
		return rows.sort((a, b) => {
			const x = a[col];
			const y = b[col];
			let c;
			if (x === null || x === undefined || y === null || y === undefined) c = (x == null ? 0 : 1) - (y == null ? 0 : 1);
			else c = num ? Number(x) - Number(y) : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
			if (c === 0) c = a[idKey] - b[idKey];
			return asc ? c : -c;
		});
	}
	/** Date-range filter as each list builds it. */
	const rangeFilter = (/** @type {unknown} */ v, /** @type {unknown} */ start, /** @type {unknown} */ end, strict = true) => {
		if (blank(start) && blank(end)) return true;
		const x = dt(v);
		const s = dt(start);
		const e = dt(end);
		if (!blank(start) && blank(end)) return x !== '' && (strict ? x > s : x >= s);
		if (!blank(start) && !blank(end)) return x !== '' && x >= s && x <= e;
		if (blank(start) && !blank(end)) return x !== '' && (strict ? x < e : x <= e);
		return true;
	};
	const like = (/** @type {unknown} */ v, /** @type {string} */ needle) => str(v).toLowerCase().includes(needle.toLowerCase());
	const phoneDigits = (/** @type {unknown} */ v) => str(v).replace(/[+() -]/g, '');

	// ---- dispatch ------------------------------------------------------------------------------------
	/**
	 * @param {string} method @param {Record<string, any>} p @param {{ iduser: number }} u @param {boolean} jsonMode
	 * @param {Promise<void>[]} waits
	 * @returns {any}
	 */
	function dispatch(method, p, u, jsonMode, waits) {
		const iduser1 = u.iduser;
		const action = str(p.action);
		switch (method) {
			case 'client':
				switch (action) {
					case 'fields': {
						/** @type {Record<string, string>} */
						const data = { clid: 'Уникальный идентификатор записи клиента в CRM', uid: 'Уникальный идентификатор записи клиента в вашей ИС',
							type: 'Тип записи (допустимые - client,person,concurent,contractor,parnter)', date_create: 'Дата создания. Timestamp',
							date_edit: 'Дата последнего изменения. Timestamp' };
						for (const [n, l] of Object.entries(custom.client || {})) data[n] = l;
						for (const [n, l] of DEFAULT_FIELDS.client) data[n] = l;
						return { data };
					}
					case 'list': {
						const fields = pickFields(clientFields(), p.fields);
						const word = blank(p.word) ? '' : cleaner(str(p.word));
						const uid = blank(p.user) ? 0 : userIdByLogin(p.user);
						const filters = Object.entries(p.filter && typeof p.filter === 'object' ? p.filter : {}).filter(([, v]) => !blank(v));
						const allow = ['relations', 'idcategory', 'territory', 'type', 'clientpath', 'trash', ...customOf('client')];
						const anyFilter = word || filters.length || ['dateStart', 'dateEnd', 'dateChangeStart', 'dateChangeEnd', 'user'].some((k) => !blank(p[k]));
						const q = query('client', !anyFilter ? null : (c) => {
							if (word && !(phoneDigits(c.phone).includes(word) || like(c.title, word) || like(c.des, word) ||
								like(c.mail_url, word) || like(c.site_url, word) || like(c.address, word))) return false;
							if (!rangeFilter(c.date_create, p.dateStart, p.dateEnd)) return false;
							// the source filters dateChangeStart alone against dateStart (a bug kept as is)
							if (!blank(p.dateChangeStart) && blank(p.dateChangeEnd)) { if (!(dt(c.date_edit ?? '') > dt(p.dateStart))) return false; }
							else if (!rangeFilter(c.date_edit ?? '', p.dateChangeStart, p.dateChangeEnd)) return false;
							if (!blank(p.user) && toInt(c.iduser) !== uid) return false;
							for (const [k, v] of filters) {
								if (k === 'relations') { if (str(c.tip_cmr) !== untag(v)) return false; }
								else if (['idcategory', 'territory', 'clientpath'].includes(k)) { if (toInt(c[k]) !== toInt(v)) return false; }
								else if (k === 'type') { if (str(c.type) !== untag(v)) return false; }
								else if (allow.includes(k) && !like(c[k], untag(v))) return false;
							}
							return true;
						}, p, 'date_create', 'client.php(373)');
						/** @type {Record<string, any>} */
						const out = {};
						if (q.rows.length) out.data = q.rows.map((c) => clientRow(c, fields));
						out.count = q.total;
						return out;
					}
					case 'info': {
						const fields = pickFields(clientFields(), p.fields);
						let c = !blank(p.uid) ? [...db.client.values()].find((x) => str(x.uid) === str(p.uid)) : db.client.get(toInt(p.clid));
						if (!c && toInt(p.clid) > 0) return { result: 'Error', error: { code: 403, text: 'Клиент не найден в пределах аккаунта указанного пользователя.' } };
						if (c) return { data: clientInfo(c, fields) };
						if (blank(p.uid) && blank(p.inn)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры клиента' } };
						return { result: 'Error', error: { code: 404, text: 'Не найдено' } };
					}
					case 'add':
						return clientAdd(p, iduser1, waits);
					case 'add.list':
						return phpValues(p.client).map((item) => {
							const it = item && typeof item === 'object' ? { ...item } : {};
							it.iduser = blank(it.user) ? iduser1 : userIdByLogin(it.user);
							return clientAdd(it, iduser1, waits);
						});
					case 'update':
						return clientUpdate(p, iduser1, waits);
					case 'delete': {
						// Client::delete(int $clid): PHP refuses what is not an integer (observed for a missing clid)
						const v = p.clid;
						const type = v === undefined || v === null ? 'null' : Array.isArray(v) || typeof v === 'object' ? 'array'
							: typeof v === 'string' && !/^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(v) ? 'string' : '';
						if (type) {
							throw new Fatal(FATAL_TYPE_CALLED(`Salesman\\Client::delete(): Argument #1 ($clid) must be of type int, ${type} given`, 'client.php', 667, 'inc/class/Client.php', 1317));
						}
						return clientDelete(v, iduser1, waits);
					}
				}
				break;
			case 'person':
				switch (action) {
					case 'fields': {
						/** @type {Record<string, any>} */
						const data = { pid: 'Уникальный идентификатор записи контакта', date_create: 'Дата создания. Timestamp',
							date_edit: 'Дата последнего изменения. Timestamp', clid: 'Клиент' };
						for (const [n, l] of DEFAULT_FIELDS.person) data[n] = l;
						for (const [n, l] of Object.entries(custom.person || {})) data[n] = l;
						data.social = SOCIAL;
						return { data };
					}
					case 'list': {
						const fields = pickFields(personFields(), p.fields);
						const word = blank(p.word) ? '' : cleaner(str(p.word));
						const uid = blank(p.user) ? 0 : userIdByLogin(p.user);
						const filters = Object.entries(p.filter && typeof p.filter === 'object' ? p.filter : {}).filter(([, v]) => !blank(v));
						const q = query('person', (r) => {
							if (word && !(phoneDigits(r.tel).includes(word) || like(r.person, word) || like(r.ptitle, word) || like(r.mail, word))) return false;
							if (!rangeFilter(r.date_create, p.dateStart, p.dateEnd)) return false;
							if (!rangeFilter(r.date_edit ?? '', p.dateChangeStart, p.dateChangeEnd)) return false;
							if (blank(p.user) ? !users.some((x) => x.iduser === toInt(r.iduser)) || r.iduser === null : toInt(r.iduser) !== uid) return false;
							for (const [k, v] of filters) {
								if (k === 'clid') { if (toInt(r.clid) !== toInt(v)) return false; }
								else if (k === 'uid') { if (str(r.uid) !== untag(v)) return false; }
								else if (COLUMNS.person.includes(k) && !like(r[k], untag(v))) return false;
							}
							return true;
						}, p, 'date_create', 'person.php(380)');
						/** @type {Record<string, any>} */
						const out = {};
						if (q.rows.length) out.data = q.rows.map((r) => personRow(r, fields, false));
						out.count = q.total;
						return out;
					}
					case 'info': {
						const fields = pickFields(personFields(), p.fields);
						const r = !blank(p.uid) ? [...db.person.values()].find((x) => str(x.uid) === str(p.uid)) : db.person.get(toInt(p.pid));
						if (!r || r.iduser === null || !userById(r.iduser)) return { data: personNotFound(fields) };
						return { data: personRow(r, fields, true) };
					}
					case 'add': {
						const res = personAdd(p, iduser1, waits);
						if (knobs.personFatalError) throw new Fatal(FATAL_TYPE('person.php', 530, 'Cannot access offset of type string on string'));
						return res.data ? { result: 'Успешно', data: res.data } : { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - Ф.И.О.' } };
					}
					case 'add.list':
						// the list is read from $_REQUEST['persons']: empty in JSON mode
						if (jsonMode) return [];
						return phpValues(p.persons).map((item) => {
							const it = item && typeof item === 'object' ? { ...item } : {};
							it.iduser = blank(it.user) ? iduser1 : userIdByLogin(it.user);
							return personAdd(it, iduser1, waits);
						});
					case 'update': {
						const q = { ...p };
						if (!('clid' in q)) q.clid = toInt(db.person.get(toInt(p.pid))?.clid);
						const res = personUpdate(q, iduser1, waits);
						if (knobs.personFatalError && res.result !== 'Error') throw new Fatal(FATAL_TYPE('person.php', 530, 'Cannot access offset of type string on string'));
						return res;
					}
					case 'delete':
						return personDelete(p.pid, iduser1, waits);
				}
				break;
			case 'deal':
				switch (action) {
					case 'fields': {
						/** @type {Record<string, string>} */
						const data = { did: 'Уникальный идентификатор записи', uid: 'Уникальный идентификатор записи во внешней системе',
							datum: 'Дата создания. YYYY-MM-DD', datum_izm: 'Дата последнего изменения. YYYY-MM-DD', clid: 'Клиент' };
						for (const [n, l] of DEFAULT_FIELDS.deal) data[n] = l;
						for (const [n, l] of Object.entries(custom.deal || {})) data[n] = l;
						Object.assign(data, { datum_start: 'Период действия. Начало', datum_end: 'Период действия. Конец',
							close: 'Признак закрытой сделки', datum_close: 'Дата закрытия. YYYY-MM-DD',
							status_close: 'Результат закрытия сделки', des_fact: 'Комментарий закрытия сделки',
							kol_fact: 'Фактическая сумма продажи' });
						return { data };
					}
					case 'steplist':
						return { data: [...STEPS].sort((a, b) => (a.title < b.title ? -1 : 1)).sort((a, b) => Number(a.title) - Number(b.title))
							.map((s) => ({ idcategory: String(s.idcategory), title: s.title, content: s.content })) };
					case 'direction':
						return { data: DIRECTIONS };
					case 'type':
						return { data: DEAL_TYPES };
					case 'statusclose':
						return { data: CLOSE_STATUS.map((s) => ({ sid: s.sid, title: s.title })) };
					case 'funnel':
						return { data: { steps: Object.fromEntries(STEPS.map((s) => [s.idcategory, 0])), stepsName: Object.fromEntries(STEPS.map((s) => [s.idcategory, s.title])), default: STEPS[0].idcategory, defaultName: STEPS[0].title } };
					case 'list': {
						const fields = pickFields(dealFields(), p.fields);
						const word = blank(p.word) ? '' : cleaner(str(p.word));
						const steps = blank(p.steps) ? [] : str(p.steps).split(',').map(getStep).filter((s) => s > 0);
						const uid = blank(p.user) ? 0 : userIdByLogin(p.user);
						const filters = Object.entries(p.filter && typeof p.filter === 'object' ? p.filter : {})
							.filter(([k, v]) => k === 'phone' || (fields.includes(k) || dealFields().includes(k)) && !blank(v));
						const q = query('deal', (d) => {
							if (str(p.active) === 'no' && d.close !== 'yes') return false;
							if (str(p.active) === 'yes' && d.close === 'yes') return false;
							if (word && !(like(d.title, word) || like(d.content, word) || like(d.adres, word))) return false;
							if (steps.length && !steps.includes(toInt(d.idcategory))) return false;
							if (!rangeFilter(d.datum, p.dateStart, p.dateEnd, false)) return false;
							if (!blank(p.dateChangeStart) && blank(p.dateChangeEnd)) { if (!(dt(d.datum_izm ?? '') >= dt(p.dateStart))) return false; }
							else if (!rangeFilter(d.datum_izm ?? '', p.dateChangeStart, p.dateChangeEnd, false)) return false;
							if (!blank(p.user) && toInt(d.iduser) !== uid) return false;
							for (const [k, v] of filters) {
								if (k === 'clid' || k === 'payer') { if (toInt(v) > 0 && toInt(d[k]) !== toInt(v)) return false; }
								else if (k === 'direction' || k === 'tip') { if (toInt(d[k]) !== toInt(v)) return false; }
								else if (k === 'step' || k === 'idcategory') { if (toInt(d.idcategory) !== getStep(v)) return false; }
								else if (k === 'phone') {
									const want = str(v).replace(/\D/g, '').slice(1);
									const c = db.client.get(toInt(d.clid));
									if (!c || !(phoneDigits(c.phone).includes(want) || phoneDigits(c.fax).includes(want))) return false;
								} else if (!like(d[k], untag(v))) return false;
							}
							return true;
						}, p, 'datum', 'deal.php(520)');
						/** @type {Record<string, any>} */
						const out = {};
						if (q.rows.length) out.data = q.rows.map((d) => dealRow(d, fields));
						out.count = q.total;
						return out;
					}
					case 'info': {
						const d = !blank(p.uid) ? [...db.deal.values()].find((x) => str(x.uid) === str(p.uid)) : blank(p.did) ? undefined : db.deal.get(toInt(p.did));
						if (blank(p.uid) && blank(p.did)) throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'and iduser IN (1) and identity = '1'' at line 1", 'deal.php(560)'));
						if (!d) return { result: 'Error', error: { code: 403, text: 'Сделка не найдена в пределах аккаунта указанного пользователя.' } };
						return { data: dealInfo(d, pickFields(dealFields(), p.fields)) };
					}
					case 'add':
						return dealAdd(p, iduser1, waits);
					case 'update':
						return dealUpdate(p, iduser1, waits);
					case 'change.step': {
						if (blank(p.did) && blank(p.uid)) throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'and iduser IN (1) and identity = '1'' at line 1", 'deal.php(1114)'));
						const d = toInt(p.did) > 0 ? db.deal.get(toInt(p.did)) : [...db.deal.values()].find((x) => str(x.uid) === untag(p.uid));
						if (!d) return { result: 'Error', error: { code: 403, text: 'Сделка с указанным did не найдена в пределах аккаунта указанного пользователя.' } };
						if (blank(p.step)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - Новый этап' } };
						const step = getStep(p.step);
						if (step === toInt(d.idcategory)) return { result: 'Error', error: { code: 302, text: 'Данные корректны, но идентичны имеющимся' } };
						const old = stepOf(d.idcategory)?.title ?? '';
						const nw = stepOf(step)?.title ?? '';
						d.idcategory = step;
						d.datum_izm = today();
						const text = `Этап сделки изменен на ${nw}%. Предыдущий этап ${old}%.`;
						addHistory({ iduser: iduser1, did: d.did, des: text });
						fire('deal.change.step', { did: d.did, autor: iduser1, stepNew: nw, reason: untag(p.reason), comment: untag(p.comment) }, iduser1, waits);
						return { result: text, data: d.did };
					}
					case 'change.close': {
						const d = db.deal.get(toInt(p.did));
						if (!d) return { result: 'Error', data: 'Сделка не найдена', error: { code: 403, text: 'Сделка не найдена' } };
						if (toInt(d.sid) > 0) return { result: 'Error', data: 'Сделка уже закрыта', error: { code: 407, text: 'Сделка уже закрыта' } };
						let sid = toInt(p.sid);
						if (sid === 0 && !blank(p.status_close)) {
							const s = str(p.status_close);
							sid = toInt(CLOSE_STATUS.find((x) => x.title === s || x.sid === s)?.sid);
						}
						d.close = 'yes';
						d.datum_close = blank(p.datum) ? today() : untag(p.datum);
						d.sid = sid;
						d.des_fact = blank(p.description) ? untag(p.des_fact) : untag(p.description);
						if (d.des_fact === '') d.des_fact = null;
						d.kol_fact = 'kol_fact' in p ? Number.parseFloat(str(p.kol_fact)) || 0 : Number.parseFloat(str(d.kol)) || 0;
						if ('marga' in p) d.marga = Number.parseFloat(str(p.marga)) || 0;
						const last = STEPS.reduce((a, b) => (Number(b.title) > Number(a.title) ? b : a));
						if (toInt(d.idcategory) !== last.idcategory && d.kol_fact > 0) d.idcategory = last.idcategory;
						const status = CLOSE_STATUS.find((x) => x.sid === String(sid))?.title ?? '';
						addHistory({ iduser: iduser1, did: d.did, des: `Сделка закрыта со статусом ${status}` });
						fire('deal.close', { did: d.did, autor: iduser1, summa: d.kol_fact, status: sid, identity: 1 }, iduser1, waits);
						return { result: 'Ok', data: `Сделка закрыта со статусом ${status}` };
					}
					case 'change.user': {
						// no did and no uid: the lookup's WHERE starts with "and" (observed SQL error page)
						if (toInt(p.did) <= 0 && blank(p.uid)) throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'and iduser IN (1) and identity = '1'' at line 1", 'deal.php(1196)'));
						const d = toInt(p.did) > 0 ? db.deal.get(toInt(p.did)) : [...db.deal.values()].find((x) => str(x.uid) === untag(p.uid));
						if (blank(p.did)) return { result: 'Error', error: { code: 406, text: 'Отсутствуют параметры - did сделки' } };
						if (!d) return { result: 'Error', error: { code: 403, text: 'Сделка с указанным did не найдена в пределах аккаунта указанного пользователя.' } };
						const newuser = blank(p.user) ? iduser1 : userIdByLogin(p.user);
						const olduser = toInt(d.iduser);
						d.iduser = newuser;
						let clientMsg = 'Клиент не переведен';
						let personMsg = 'Контакты не переведены';
						if (str(p['client.send'] ?? p.client_send) === 'yes') {
							const c = db.client.get(toInt(d.clid));
							if (c) { c.iduser = newuser; clientMsg = 'Клиент переведен'; }
						}
						if (str(p['person.send'] ?? p.person_send) === 'yes') {
							for (const r of db.person.values()) if (toInt(r.clid) === toInt(d.clid)) r.iduser = newuser;
							personMsg = 'Контакты переведены';
						}
						addHistory({ iduser: iduser1, did: d.did, des: `Смена Ответственного: ${userById(olduser)?.title ?? ''}&rarr;${userById(newuser)?.title ?? ''}. Причина: ${untag(p.comment)}. Изменил: ${userById(iduser1)?.title ?? ''}` });
						fire('deal.change.user', { did: d.did, autor: iduser1, newuser, olduser, comment: untag(p.comment) }, iduser1, waits);
						return { result: `Успешно. ${clientMsg}<br>${personMsg}`, data: d.did };
					}
					case 'delete': {
						if (toInt(p.did) <= 0 && blank(p.uid)) throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'and iduser IN (1) and identity = '1'' at line 1", 'deal.php(1271)'));
						if (blank(p.did)) return { result: 'Error', error: { code: 406, text: 'Отсутствуют параметры - did сделки' } };
						const d = db.deal.get(toInt(p.did));
						if (!d) return { result: 'Error', error: { code: 403, text: 'Сделка с указанным did не найдена в пределах аккаунта указанного пользователя.' } };
						db.deal.delete(d.did);
						for (const [k, h] of db.history) if (toInt(h.did) === d.did) db.history.delete(k);
						for (const t of db.task.values()) if (toInt(t.did) === d.did) t.did = 0;
						fire('deal.delete', { did: d.did, autor: iduser1 }, iduser1, waits);
						return { result: 'Сделка удалена', data: d.did };
					}
				}
				return { result: 'Error', error: { code: 402, text: 'Неизвестный метод' } };
			case 'lead':
				switch (action) {
					case 'list': {
						const q = query('lead', (l) => {
							const d = str(l.datum);
							if (!blank(p.dateStart) && blank(p.dateEnd) && d.slice(2, 10) !== str(p.dateStart)) return false;
							if (!blank(p.dateStart) && !blank(p.dateEnd) && !(d >= `${str(p.dateStart)} 00:00:00` && d <= `${str(p.dateEnd)} 23:59:59`)) return false;
							if (blank(p.dateStart) && !blank(p.dateEnd) && !(d.slice(2, 10) < str(p.dateEnd))) return false;
							if (!blank(p.status) && str(l.status) !== str(p.status)) return false;
							if (!blank(p.user) && toInt(l.iduser) !== userIdByLogin(p.user)) return false;
							return true;
						}, p, 'datum', 'lead.php(229)');
						if (!q.rows.length) return { result: 'Error', error: { code: 404, text: 'Не найдено' } };
						return { data: q.rows.map(leadRow) };
					}
					case 'info': {
						const l = db.lead.get(toInt(p.id));
						if (!l) return { data: { description: '', statusName: '', rezultName: null, clientpathName: '', userName: null, client: null, person: null, deal: null }, id: toInt(p.id) };
						return { data: leadInfo(l), id: l.id };
					}
					case 'add': {
						const id = ++seq.lead;
						/** @type {Record<string, any>} */
						const l = { id, datum: stamp(), status: 0, rezult: null, iduser: 0, clientpath: 0, pid: 0, clid: 0, did: 0, partner: 0 };
						for (const c of COLUMNS.lead) if (!(c in l) && c !== 'identity') l[c] = null;
						for (const [k, v] of Object.entries(p)) if (COLUMNS.lead.includes(k) && !['id', 'datum', 'identity'].includes(k)) l[k] = blank(v) ? null : untag(v);
						if (!blank(p.user)) l.iduser = userIdByLogin(p.user);
						if (!blank(p.content) && blank(l.description)) l.description = untag(p.content);
						const ph = str(l.phone).replace(/\D/g, '').slice(1);
						for (const c of db.client.values()) {
							if ((ph && phoneDigits(c.phone).replace(/\D/g, '').includes(ph)) || (l.email && str(c.mail_url).includes(l.email))) { l.clid = c.clid; break; }
						}
						for (const r of db.person.values()) {
							if ((ph && str(r.tel).replace(/\D/g, '').includes(ph)) || (l.email && str(r.mail) === l.email)) { l.pid = r.pid; break; }
						}
						db.lead.set(id, l);
						return { result: 'Success', id };
					}
					case 'stat':
						throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near ') and identity = '1'' at line 1", 'lead.php(229)'));
				}
				return { result: 'Error', error: { code: 402, text: 'Не известный метод' } };
			case 'task':
				switch (action) {
					case 'tips':
					case 'fields':
						if (action === 'tips') return { data: tipList() };
						return { data: { tid: 'Идентификатор напоминания', datum: 'Дата', totime: 'Время', title: 'Тема', des: 'Агенда',
							tip: 'Тип напоминания', active: 'Признак: выполнено,активно', priority: 'Важность', speed: 'Срочность',
							iduser: 'Ответственный', autor: 'Автор напоминания', clid: 'ID клиента', pid: 'ID контакта', did: 'ID сделки',
							readonly: 'Только для чтения', day: 'На весь день', status: 'Статус выполнения' } };
					case 'list': {
						const start = blank(p.dateStart) ? today() : str(p.dateStart);
						const end = blank(p.dateEnd) ? today() : str(p.dateEnd);
						const word = blank(p.word) ? '' : cleaner(str(p.word));
						// `(int)$params['active'] != ''` is always true on PHP 8: tasks.active = '<active>' ('' matches none)
						const active = str(p.status !== undefined ? 'no' : p.active);
						const q = query('task', (t) => {
							if (word && !(like(t.title, word) || like(t.des, word) || like(t.tip, word))) return false;
							if (!(dt(t.datum) >= dt(start) && dt(t.datum) <= dt(end))) return false;
							if (!blank(p.user) ? toInt(t.iduser) !== userIdByLogin(p.user) : !userById(t.iduser)) return false;
							if (str(t.active) !== active) return false;
							if (toInt(p.clid) > 0 && toInt(t.clid) !== toInt(p.clid)) return false;
							if (toInt(p.did) > 0 && toInt(t.did) !== toInt(p.did)) return false;
							return true;
						}, p, 'datum', 'task.php(300)');
						if (!q.rows.length) return [];
						return { data: q.rows.map((t) => taskRow(t, false)) };
					}
					case 'info': {
						const t = db.task.get(toInt(p.id));
						if (!t && blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - id напоминания' } };
						if (!t) return { result: 'Error', error: { code: '403', text: 'Напоминание с указанным id не найдено в пределах аккаунта указанного пользователя.' } };
						return { data: taskRow(t) };
					}
					case 'add': {
						if (blank(p.title)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - Заголовок' } };
						const tid = ++seq.task;
						const hm = new Date(now() + 3600e3).toISOString().slice(11, 16);
						/** @type {Record<string, any>} */
						const t = { tid, datum: blank(p.datum) ? today() : str(p.datum), totime: blank(p.totime) ? hm : str(p.totime),
							title: untag(p.title), des: blank(p.des) ? null : fieldClean(p.des), tip: blank(p.tip) ? 'Звонок' : untag(p.tip),
							active: 'yes', priority: str(p.priority || '0'), speed: str(p.speed || '0'),
							iduser: blank(p.user) ? iduser1 : userIdByLogin(p.user), autor: iduser1, clid: toInt(p.clid),
							pid: blank(p.pid) ? 0 : str(p.pid).replace(/,/g, ';'), did: toInt(p.did), readonly: str(p.readonly || 'no'),
							day: blank(p.day) ? null : str(p.day), status: '0', created: stamp() };
						db.task.set(tid, t);
						fire('task.add', { id: tid, autor: iduser1 }, iduser1, waits);
						return { result: 'Успешно', data: tid };
					}
					case 'update': {
						if (blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - tid напоминания' } };
						const t = db.task.get(toInt(p.id));
						if (!t) return { result: 'Error', error: { code: 403, text: 'Напоминание не найдено.' } };
						// Todo::edit rewrites the whole task (observed): agenda and day are cleared, priority and speed go to
						// 0, readonly to 'no' and active to 'yes' unless sent; title, dates, type, client, deal and persons
						// keep their value unless sent non-empty.
						const keep = (/** @type {string} */ k, /** @type {unknown} */ v) => {
							if (!blank(v) && str(v) !== '0') t[k] = v;
						};
						keep('title', untag(p.title));
						keep('datum', untag(p.datum));
						keep('totime', untag(p.totime));
						if ('tip' in p) t.tip = blank(p.tip) ? 'Задача' : untag(p.tip);
						if (toInt(p.clid) > 0) t.clid = toInt(p.clid);
						if (toInt(p.did) > 0) t.did = toInt(p.did);
						keep('pid', str(p.pid).replace(/,/g, ';'));
						t.des = untag(p.des);
						t.day = untag(p.day);
						t.priority = blank(p.priority) ? '0' : String(toInt(p.priority));
						t.speed = blank(p.speed) ? '0' : String(toInt(p.speed));
						t.readonly = blank(p.readonly) ? 'no' : str(p.readonly);
						t.active = blank(p.active) ? 'yes' : str(p.active);
						t.iduser = blank(p.user) ? iduser1 : userIdByLogin(p.user);
						t.autorShown = blank(p.user) ? 0 : iduser1;
						fire('task.edit', { id: t.tid, autor: 0 }, iduser1, waits);
						return { result: 'Успешно', data: t.tid };
					}
					case 'doit': {
						const t = db.task.get(toInt(p.id));
						if (blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - tid напоминания' } };
						if (!t) return { result: 'Error', error: { code: 403, text: 'Напоминание не найдено.' } };
						t.active = 'no';
						t.status = str(p.status ?? '1');
						// Todo::doit: the history entry carries `description` (or a fixed text) and the task's type
						const hid = addHistory({ iduser: iduser1, clid: t.clid, pid: t.pid || null, did: t.did,
							des: blank(p.description) ? 'Выполнено напоминание' : untag(p.description), tip: blank(p.tip) ? t.tip : p.tip });
						fire('task.doit', { id: t.tid, autor: iduser1 }, iduser1, waits);
						return { result: 'Успешно', data: t.tid, message: 'Добавлена Активность', historyID: hid };
					}
					case 'delete': {
						if (blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - tid напоминания' } };
						const t = db.task.get(toInt(p.id));
						if (!t) return { result: 'Error', error: { code: 403, text: 'Напоминание не найдено.' } };
						db.task.delete(t.tid);
						return { result: 'Успешно', data: t.tid, message: 'Запись удалена' };
					}
					case 'history':
						return [];
				}
				break;
			case 'history':
				switch (action) {
					case 'tips':
						return { data: tipList() };
					case 'fields':
						return { data: { cid: 'Идентификатор записи', datum: 'Дата', des: 'Содержание', tip: 'Тип активности',
							iduser: 'Ответственный', clid: 'ID клиента', pid: 'ID контакта (массив)', did: 'ID сделки' } };
					case 'list': {
						const start = blank(p.dateStart) ? today() : str(p.dateStart);
						const end = blank(p.dateEnd) ? today() : str(p.dateEnd);
						const word = blank(p.word) ? '' : cleaner(str(p.word));
						// `if ((int)['pid'] > 0)` is always true: FIND_IN_SET('<pid>', pid) (no pid -> matches nothing)
						const wantPid = str(p.pid);
						const q = query('history', (h) => {
							if (word && !(like(h.des, word) || like(h.tip, word))) return false;
							if (!(dt(h.datum) >= dt(start) && dt(h.datum) <= dt(end))) return false;
							if (!blank(p.user) ? toInt(h.iduser) !== userIdByLogin(p.user) : !userById(h.iduser)) return false;
							if (toInt(p.clid) > 0 && toInt(h.clid) !== toInt(p.clid)) return false;
							if (toInt(p.did) > 0 && toInt(h.did) !== toInt(p.did)) return false;
							if (wantPid === '' || !str(h.pid).split(';').includes(wantPid)) return false;
							return true;
						}, p, 'datum', 'history.php(380)');
						if (!q.rows.length) return [];
						return { data: q.rows.map(historyRow) };
					}
					case 'info': {
						const h = db.history.get(toInt(p.id));
						if (!h && blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - id напоминания' } };
						if (!h) return { result: 'Error', error: { code: '403', text: 'Не найдено в пределах аккаунта указанного пользователя.' } };
						return { data: historyRow(h) };
					}
					case 'add':
						return historyAdd(p, iduser1);
					case 'add.list': {
						// history.php reuses one $res for every item: an item keeps the keys the item before it set (observed)
						/** @type {Record<string, any>} */
						const res = {};
						const iduser = blank(p.user) ? iduser1 : userIdByLogin(p.user);
						return phpValues(p.list).map((raw) => {
							const it = raw && typeof raw === 'object' ? raw : {};
							if (!blank(it.content)) {
								res.result = 'Успешно';
								res.data = addHistory({ iduser: blank(it.user) ? iduser : userIdByLogin(it.user), clid: toInt(it.clid),
									pid: historyPids(it.pid), did: toInt(it.did), datum: historyDatum(blank(it.datum) ? stamp() : str(it.datum)),
									des: str(it.content), tip: it.tip ?? null });
							} else {
								res.result = 'Error';
								res.error = { code: 405, text: 'Отсутствуют параметры - Заголовок' };
							}
							return { ...res };
						});
					}
					case 'delete': {
						const h = db.history.get(toInt(p.id));
						if (blank(p.id)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры - cid записи' } };
						if (!h) return { result: 'Error', error: { code: 403, text: 'Запись не найдена.' } };
						db.history.delete(h.cid);
						return { result: 'Успешно' };
					}
				}
				break;
			case 'user':
				switch (action) {
					case 'user.list':
						return { data: users.map((x) => ({ iduser: x.iduser, uid: x.uid ?? null, oid: false, title: x.title, login: x.login, email: x.email, active: x.active ?? 'yes' })) };
					case 'user':
						throw new Fatal(FATAL_SQL("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'and identity = '1'' at line 1", 'user.php(162)'));
					case 'user.add':
						return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры' } };
				}
				break;
			case 'guides':
				if (action in GUIDES) return { data: GUIDES[/** @type {'category'} */ (action)] };
				throw new Fatal(FATAL_TYPE('guides.php', 248, 'array_values(): Argument #1 ($array) must be of type array, null given'));
		}
		return { error: { code: 404, text: 'Такого метода не существует!' } };
	}
	const tipList = () => {
		const tips = TIPS.map(([title, color, filter]) => ({ title, color, filter }));
		const seen = new Set(tips.map((t) => t.title));
		for (const t of [...db.task.values(), ...db.history.values()]) {
			if (t.tip && !seen.has(t.tip) && t.tip !== 'СобытиеCRM' && t.tip !== 'Звонок') {
				seen.add(t.tip);
				tips.push({ title: t.tip, color: /** @type {any} */ (null), filter: 'all' });
			}
		}
		return tips;
	};
	/** The history pid list: ',' -> ';', blanks dropped. @param {unknown} pid */
	const historyPids = (pid) => {
		const list = phpValues(Array.isArray(pid) ? pid : str(pid).split(/[;,]/)).map((x) => str(x).trim()).filter((x) => x !== '');
		return list.length ? list.join(';') : null;
	};
	/**
	 * history.php stores `datum . ' ' . HH:MM(now)` in a DATETIME: a date alone gets the current time, a full
	 * date-time keeps its own, nothing at all is the zero date (observed).
	 * @param {string} datum
	 */
	const historyDatum = (datum) => {
		const m = /^(\d{4}-\d{2}-\d{2})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?/.exec(`${datum} ${stamp().slice(11, 16)}`);
		if (!m) return '0000-00-00 00:00:00';
		return `${m[1]} ${(m[2] ?? '00').padStart(2, '0')}:${m[3] ?? '00'}:${m[4] ?? '00'}`;
	};
	function historyAdd(/** @type {Record<string, any>} */ p, /** @type {number} */ iduser1) {
		// a record to attach it to (client, person or deal) and a content are both required
		if ((blank(p.clid) && blank(p.pid) && blank(p.did)) || blank(p.content)) return { result: 'Error', error: { code: 405, text: 'Отсутствуют параметры' } };
		const cid = addHistory({ datum: historyDatum(str(p.datum)), des: str(p.content),
			tip: blank(p.tip) ? 'Событие' : untag(p.tip), iduser: blank(p.user) ? iduser1 : userIdByLogin(p.user),
			clid: toInt(p.clid), pid: historyPids(p.pid), did: toInt(p.did) });
		return { result: 'Успешно', data: cid };
	}

	// ---- HTTP ----------------------------------------------------------------------------------------
	/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
	async function handle(req, res) {
		const rawUrl = req.url || '/';
		const qi = rawUrl.indexOf('?');
		const pathname = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
		const m = /^\/developer\/v2\/([^/]+?)(?:\.php)?\/?$/.exec(pathname);
		if (!m || !METHODS.includes(m[1])) {
			res.writeHead(404, { 'Content-Type': 'text/html; charset=UTF-8' });
			res.end('Not Found');
			return;
		}
		const method = m[1];
		const body = await readBody(req);
		// raw header names as sent (PHP getallheaders() keeps their case)
		/** @type {Record<string, string>} */
		const raw = {};
		for (let i = 0; i < req.rawHeaders.length; i += 2) raw[req.rawHeaders[i]] = req.rawHeaders[i + 1];
		const jsonMode = raw['Content-Type'] === 'application/json' || raw['content-type'] === 'application/json';
		/** @type {Record<string, any>} */
		let params;
		/** @type {string | undefined} */
		let APIKEY;
		/** @type {string | undefined} */
		let LOGIN;
		/** @type {LoggedRequest['authStyle']} */
		let authStyle = 'query';
		/** what developer/v2/logger.php, included after the answer is printed, adds to it (PHP fatal error) */
		let epilogue = '';
		if (jsonMode) {
			let parsed = null;
			try {
				parsed = JSON.parse(body);
			} catch {
				parsed = null;
			}
			params = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
			if (!parsed || typeof parsed !== 'object') {
				// json_decode gave no array: array_merge([...], $params) in logger.php is a TypeError (observed)
				const type = parsed === null ? 'null' : typeof parsed === 'string' ? 'string' : typeof parsed === 'boolean' ? 'bool'
					: Number.isInteger(parsed) ? 'int' : 'float';
				epilogue = FATAL_TYPE('logger.php', 34, `array_merge(): Argument #2 must be of type array, ${type} given`);
			}
			APIKEY = 'apikey' in raw ? raw.apikey : raw.Apikey;
			LOGIN = 'login' in raw ? raw.login : raw.Login;
			authStyle = 'headers';
			if (APIKEY === undefined && params.apikey !== undefined && params.apikey !== null) {
				APIKEY = str(params.apikey);
				LOGIN = str(params.login);
				authStyle = 'body';
			}
		} else {
			/** @type {Record<string, any>} */
			const get = parsePhpQuery(qi >= 0 ? rawUrl.slice(qi + 1) : '', {}, knobs.maxInputVars);
			const ctype = String(req.headers['content-type'] || '').toLowerCase();
			/** @type {Record<string, any>} */
			const post = req.method === 'POST' && ctype.startsWith('application/x-www-form-urlencoded')
				? parsePhpQuery(body, {}, knobs.maxInputVars) : {};
			const all = { ...get, ...post };
			params = {};
			for (const [k, v] of Object.entries(all)) params[k] = typeof v === 'string' ? cleaner(v) : v;
			APIKEY = params.apikey;
			LOGIN = params.login;
			authStyle = 'apikey' in post ? 'form' : 'query';
		}
		const action = str(params.action);
		/** @type {Record<string, any>} */
		const logged = { ...params };
		delete logged.apikey;
		requests.push({ method: req.method || 'GET', path: pathname, methodName: method, action, params: logged, authStyle,
			login: LOGIN ?? null, at: now() });

		if (knobs.latencyMs > 0) await new Promise((r) => setTimeout(r, knobs.latencyMs));

		const idx = knobs.failNext.findIndex((f) => (!f.action || f.action === action) && (!f.method || f.method === method));
		if (idx >= 0) {
			const f = knobs.failNext.splice(idx, 1)[0];
			if (f.type === 'drop') {
				req.socket.destroy();
				return;
			}
			if (f.type === 'http500') {
				res.writeHead(500, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 });
				res.end();
				return;
			}
			if (f.type === 'fatal') return sendRaw(res, knobs.sqlErrorStatus, FATAL_TYPE(`${method}.php`, 1, f.text ?? 'Emulated fatal error'));
			return sendJson(res, { result: 'Error', error: { code: f.code ?? 500, text: f.text ?? 'Emulated error' } });
		}

		// auth: 400 (key) -> 401 (user) -> 402 (action)
		const keyOk = APIKEY !== undefined && APIKEY !== null && str(APIKEY) === apiKey;
		const user = keyOk ? userByLogin(LOGIN) : undefined;
		if (!keyOk && knobs.authCodes === 'source') return sendJson(res, { result: 'Error', error: { code: 400, text: 'Не верный API key' } }, epilogue);
		if (!user) return sendJson(res, { result: 'Error', error: { code: 401, text: 'Неизвестный пользователь' } }, epilogue);
		if (!ACTIONS[/** @type {'client'} */ (method)].includes(action)) {
			// each developer/v2/*.php words it its own way
			if (method === 'lead') return sendJson(res, { result: 'Error', error: { code: 402, text: 'Не известный метод' } }, epilogue);
			if (method === 'guides') return sendJson(res, { result: 'Error', error: { code: 402, text: 'Неизвестный метод' } }, epilogue);
			if (method === 'user') return sendJson(res, { result: 'Error', error: { code: '402', text: 'Неизвестный метод' } }, epilogue);
			return sendJson(res, { error: { code: 402, text: 'Неизвестный метод' } }, epilogue);
		}
		/** @type {Promise<void>[]} */
		const waits = [];
		let out;
		if (!['list', 'info', 'fields'].includes(action)) version++;
		try {
			out = dispatch(method, params, user, jsonMode, waits);
		} catch (e) {
			if (e instanceof Fatal) {
				if (knobs.webhookMode === 'sync') await Promise.all(waits);
				return sendRaw(res, knobs.sqlErrorStatus, e.html);
			}
			throw e;
		}
		if (knobs.webhookMode === 'sync') await Promise.all(waits);
		sendJson(res, out, epilogue);
	}

	/** @param {http.ServerResponse} res @param {unknown} obj @param {string} [epilogue] text printed after the JSON */
	function sendJson(res, obj, epilogue = '') {
		const text = phpJson(Array.isArray(obj) || (obj && typeof obj === 'object' && Object.keys(obj).length) ? obj : []);
		sendRaw(res, 200, text + epilogue);
	}
	/** @param {http.ServerResponse} res @param {number} status @param {string} text */
	function sendRaw(res, status, text) {
		res.writeHead(status, { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/json; charset=utf-8',
			'Content-Length': Buffer.byteLength(text) });
		res.end(text);
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
	const KINDS = ['client', 'person', 'deal', 'lead', 'task', 'history'];
	const idKeyOf = (/** @type {string} */ kind) => /** @type {Record<string, string>} */ ({ client: 'clid', person: 'pid', deal: 'did', lead: 'id', task: 'tid', history: 'cid' })[kind];
	const assertKind = (/** @type {string} */ kind) => {
		if (!KINDS.includes(kind)) throw new Error(`salesman emulator: unsupported kind ${kind}`);
		return /** @type {'client'|'person'|'deal'|'lead'|'task'|'history'} */ (kind);
	};
	/** Insert a raw row (no webhooks, no normalisation beyond ids/defaults). */
	function insertRaw(/** @type {string} */ kind, /** @type {Record<string, any>} */ fields) {
		const k = assertKind(kind);
		version++;
		const id = ++seq[k];
		const key = idKeyOf(k);
		/** @type {Record<string, any>} */
		let r;
		const t = stamp();
		switch (k) {
			case 'client':
				r = { uid: null, type: 'client', date_create: t, date_edit: null, iduser: 1, creator: 1 };
				for (const f of enabled('client')) if (f !== 'recv' && !(f in r)) r[f] = null;
				r = { ...r, ...fields };
				if ('title' in fields) r.title = clientFormatTitle(fields.title);
				break;
			case 'person':
				r = { uid: null, date_create: t, date_edit: null, clid: 0, iduser: 1 };
				for (const f of enabled('person')) if (!(f in r)) r[f] = null;
				r = { ...r, ...fields, clid: toInt(fields.clid ?? 0) };
				break;
			case 'deal': {
				const datum = t.slice(0, 10);
				r = { uid: null, datum, datum_izm: null, datum_plan: datum, datum_start: null, datum_end: null, datum_close: null,
					title: '', clid: 0, payer: 0, iduser: 1, autor: 1, kol: 0, kol_fact: 0, marga: 0, close: 'no', sid: 0,
					des_fact: null, direction: 1, tip: 6, mcid: 0, dog_num: 0, idcategory: 0, pid: 0 };
				for (const f of customOf('deal')) r[f] = null;
				r = { ...r, ...fields };
				r.clid = toInt(r.clid);
				if (!fields.payer) r.payer = r.clid;
				r.kol = Number.parseFloat(str(r.kol)) || 0;
				if ('step' in fields) { r.idcategory = getStep(fields.step); delete r.step; }
				break;
			}
			case 'lead':
				r = { datum: t, status: 0, rezult: 0, iduser: 0, clientpath: 0, pid: 0, clid: 0, did: 0, partner: 0 };
				for (const c of COLUMNS.lead) if (!(c in r) && c !== 'identity' && c !== 'id') r[c] = null;
				r = { ...r, ...fields };
				break;
			case 'task':
				r = { datum: t.slice(0, 10), totime: t.slice(11, 16), title: '', des: null, tip: 'Звонок', active: 'yes', priority: '0',
					speed: '0', iduser: 1, autor: 1, clid: 0, pid: 0, did: 0, readonly: 'no', day: null, status: '0', created: t, ...fields };
				break;
			default:
				r = { datum: t, des: '', tip: 'Событие', iduser: 1, clid: 0, pid: null, did: 0, ...fields };
				if ('content' in fields) { r.des = fields.content; delete r.content; }
		}
		r[key] = id;
		db[k].set(id, r);
		return r;
	}
	const snapshot = (/** @type {Record<string, any>} */ r) => JSON.parse(JSON.stringify(r));

	return {
		/** @param {number} [port] @returns {Promise<string>} */
		start(port = 0) {
			return new Promise((resolve, reject) => {
				server = http.createServer((req, res) => {
					handle(req, res).catch((e) => {
						// eslint-disable-next-line no-console
						console.error('[salesman-emulator]', e);
						if (!res.headersSent) {
							res.writeHead(500, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 });
							res.end();
						}
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
		login: users[0].login,
		apiKey,
		users: users.map((u) => ({ ...u })),
		requests,
		clearRequests() {
			requests.length = 0;
		},
		knobs,
		/** webhook deliveries made so far */
		deliveries,
		webhooks,
		/** @param {string} url @param {string[]} [events] */
		addWebhook(url, events) {
			webhooks.push({ url, events });
		},
		clearWebhooks() {
			webhooks.length = 0;
		},
		/** Resolves when every delivery in flight has finished (answered, failed or timed out). */
		async flushDeliveries() {
			while (pending.size) await Promise.all([...pending]);
		},
		events: [...EVENTS],
		/**
		 * Create a record directly (no webhook). Returns the stored row (a copy).
		 * @param {'client'|'person'|'deal'|'lead'|'task'|'history'} kind @param {Record<string, any>} [fields]
		 */
		createRecord(kind, fields = {}) {
			return snapshot(insertRaw(kind, fields));
		},
		/** @param {string} kind @param {number} id @param {Record<string, any>} fields */
		updateRecord(kind, id, fields = {}) {
			version++;
			const r = db[assertKind(kind)].get(Number(id));
			if (!r) throw new Error(`salesman emulator: no ${kind} ${id}`);
			Object.assign(r, fields);
			if (kind === 'client' && 'title' in fields) r.title = clientFormatTitle(fields.title);
			if (kind === 'client' && !('date_edit' in fields)) r.date_edit = stamp();
			if (kind === 'person' && !('date_edit' in fields)) r.date_edit = stamp();
			if (kind === 'deal' && !('datum_izm' in fields)) r.datum_izm = today();
			return snapshot(r);
		},
		/** @param {string} kind @param {number} id */
		deleteRecord(kind, id) {
			version++;
			return db[assertKind(kind)].delete(Number(id));
		},
		/** @param {string} kind @param {number} id */
		getRecord(kind, id) {
			const r = db[assertKind(kind)].get(Number(id));
			return r ? snapshot(r) : undefined;
		},
		/** @param {string} kind */
		count(kind) {
			return db[assertKind(kind)].size;
		},
		/**
		 * Create n generated records quickly; returns their ids.
		 * @param {'client'|'person'|'deal'|'lead'|'task'|'history'} kind @param {number} n
		 * @param {{ seed?: number, clids?: number[], date_create?: string, stepSeconds?: number,
		 *   fields?: Record<string, any> }} [opts] date_create + stepSeconds spread creation times
		 */
		seed(kind, n, opts = {}) {
			const k = assertKind(kind);
			const clids = opts.clids ?? (k === 'client' ? undefined : [...db.client.keys()]);
			const rows = generate(k, n, { seed: opts.seed, offset: seq[k], clids });
			const base = opts.date_create ? Date.parse(opts.date_create.replace(' ', 'T') + 'Z') : null;
			const step = opts.stepSeconds ?? 0;
			/** @type {number[]} */
			const ids = [];
			for (let i = 0; i < rows.length; i++) {
				/** @type {Record<string, any>} */
				const f = { ...rows[i], ...(opts.fields || {}) };
				if (base !== null) {
					const t = new Date(base + i * step * 1000).toISOString().slice(0, 19).replace('T', ' ');
					if (k === 'client' || k === 'person') f.date_create = t;
					else if (k === 'deal') f.datum = t.slice(0, 10);
					else if (k === 'task') f.datum = t.slice(0, 10);
					else f.datum = t;
				}
				ids.push(insertRaw(k, f)[idKeyOf(k)]);
			}
			return ids;
		},
		reset() {
			resetState();
			requests.length = 0;
			deliveries.length = 0;
			knobs.failNext.length = 0;
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
		/** Current emulator time ('YYYY-MM-DD HH:MM:SS', UTC). */
		serverTime: stamp,
	};
}

module.exports = { createSalesManEmulator, clientFormatTitle, parsePhpQuery, phpJson };
