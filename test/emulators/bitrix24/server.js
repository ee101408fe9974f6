// @ts-check
'use strict';

/**
 * Bitrix24 REST API emulator (cloud portal + the oauth.bitrix.info token server) for tests, benchmarks and the
 * sandbox. Follows the official REST documentation (apidocs.bitrix24.com, github.com/bitrix24/b24restdocs), the
 * shared api-notes and seed 002. Every point the docs leave open is listed in README.md ("Assumptions").
 * No dependencies beyond Node's standard library.
 */

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const { parsePhpQuery, parseMultipart, buildPhpQuery, mergeParams, own, put, isObj } = require('./phpform.js');
const { generate } = require('./seed.js');

// ---- errors -----------------------------------------------------------------------------------------

class ApiError extends Error {
	/** @param {number} status @param {string} code @param {string} description */
	constructor(status, code, description) {
		super(description);
		this.status = status;
		this.code = code;
		this.description = description;
	}
}
/** A method error: HTTP 400 with an empty `error` and a text (CCrmRestService style). @param {string} text */
const bad = (text) => new ApiError(400, '', text);
const E_NOT_FOUND = () => bad('Not found');
const E_BAD_ID = () => bad('ID is not defined or invalid.');

const SYS = {
	NO_AUTH_FOUND: () => new ApiError(401, 'NO_AUTH_FOUND', 'Wrong authorization data'),
	INVALID_CREDENTIALS: () => new ApiError(401, 'INVALID_CREDENTIALS', 'Invalid request credentials'),
	expired_token: () => new ApiError(401, 'expired_token', 'The access token provided has expired.'),
	invalid_token: () => new ApiError(401, 'invalid_token', 'The access token provided is invalid.'),
	/** @param {'webhook' | 'oauth'} kind */
	insufficient_scope: (kind) =>
		new ApiError(401, 'insufficient_scope',
			`The request requires higher privileges than provided by the ${kind === 'webhook' ? 'webhook' : 'access'} token`),
	METHOD_NOT_FOUND: () => new ApiError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!'),
	QUERY_LIMIT_EXCEEDED: () => new ApiError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'),
	OPERATION_TIME_LIMIT: () => new ApiError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.'),
	INTERNAL: () => new ApiError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'),
	WRONG_AUTH_TYPE: () => new ApiError(403, 'WRONG_AUTH_TYPE', 'Current authorization type is denied for this method Application context required'),
	ACCESS_DENIED: () => new ApiError(403, 'ACCESS_DENIED', 'Access denied!'),
};

// ---- field definitions ------------------------------------------------------------------------------

/**
 * @typedef {{ name: string, type: string, statusType?: string, readOnly: boolean, required: boolean,
 *   multiple: boolean, immutable: boolean, title: string, uf?: boolean, items?: {ID: string, VALUE: string}[] }} FieldDef
 */

/** Parse "NAME type[:statusType] flags Title words" lines. @param {string} text @returns {FieldDef[]} */
function defs(text) {
	return text
		.trim()
		.split('\n')
		.filter((line) => line.trim())
		.map((line) => {
			const [name, typeSpec, flags, ...title] = line.trim().split(/\s+/);
			const [type, statusType] = typeSpec.split(':');
			return {
				name, type, statusType, title: title.join(' '),
				readOnly: flags.includes('R'), required: flags.includes('Q'),
				multiple: flags.includes('M'), immutable: flags.includes('I'),
			};
		});
}

const UTM = `
UTM_SOURCE string - Advertising system
UTM_MEDIUM string - Traffic type
UTM_CAMPAIGN string - Ad campaign UTM
UTM_CONTENT string - Campaign contents
UTM_TERM string - Campaign search term
LAST_ACTIVITY_TIME datetime R Last activity
LAST_ACTIVITY_BY user R Last activity by`;
const ADDRESS = `
ADDRESS string - Address
ADDRESS_2 string - Address (line 2)
ADDRESS_CITY string - City
ADDRESS_POSTAL_CODE string - Zip
ADDRESS_REGION string - Region
ADDRESS_PROVINCE string - State / Province
ADDRESS_COUNTRY string - Country
ADDRESS_COUNTRY_CODE string - Country Code
ADDRESS_LOC_ADDR_ID integer - Location address ID`;
const MULTI = `
PHONE crm_multifield M Phone
EMAIL crm_multifield M E-mail
WEB crm_multifield M Website
IM crm_multifield M Messenger
LINK crm_multifield M LINK`;

const LEAD_FIELDS = defs(`
ID integer R ID
TITLE string - Lead Name
HONORIFIC crm_status:HONORIFIC - Salutation
NAME string - First name
SECOND_NAME string - Second name
LAST_NAME string - Last name
BIRTHDATE date - Date of birth
COMPANY_TITLE string - Company name
SOURCE_ID crm_status:SOURCE - Source
SOURCE_DESCRIPTION string - Source information
STATUS_ID crm_status:STATUS - Stage
STATUS_DESCRIPTION string - Stage details
STATUS_SEMANTIC_ID string R Status details
POST string - Position
${ADDRESS}
CURRENCY_ID crm_currency - Currency
OPPORTUNITY double - Total
IS_MANUAL_OPPORTUNITY char - IS_MANUAL_OPPORTUNITY
OPENED char - Available to everyone
COMMENTS string - Comment
HAS_PHONE char R Has phone
HAS_EMAIL char R Has email
HAS_IMOL char R Has Open Channel
ASSIGNED_BY_ID user - Responsible person
CREATED_BY_ID user R Created by
MODIFY_BY_ID user R Modified by
MOVED_BY_ID user R MOVED_BY_ID
DATE_CREATE datetime R Created on
DATE_MODIFY datetime R Modified on
MOVED_TIME datetime R MOVED_TIME
COMPANY_ID crm_company - Company
CONTACT_ID crm_contact - Contact
CONTACT_IDS crm_contact M CONTACT_IDS
IS_RETURN_CUSTOMER char R Repeat lead
DATE_CLOSED datetime R Completion date
ORIGINATOR_ID string - External source
ORIGIN_ID string - Item ID in data source
${UTM}
${MULTI}`);

const DEAL_FIELDS = defs(`
ID integer R ID
TITLE string - Name
TYPE_ID crm_status:DEAL_TYPE - Type
CATEGORY_ID crm_category I Pipeline
STAGE_ID crm_status:DEAL_STAGE - Deal stage
STAGE_SEMANTIC_ID string R Stage group
IS_NEW char R New deal
IS_RECURRING char - Recurring deal
IS_RETURN_CUSTOMER char R Repeat deal
IS_REPEATED_APPROACH char R Repeat inquiry
PROBABILITY integer - Probability
CURRENCY_ID crm_currency - Currency
OPPORTUNITY double - Income
IS_MANUAL_OPPORTUNITY char - IS_MANUAL_OPPORTUNITY
TAX_VALUE double - Tax rate
COMPANY_ID crm_company - Company
CONTACT_ID crm_contact - Contact
CONTACT_IDS crm_contact M Contacts
QUOTE_ID crm_quote R Quote
BEGINDATE date - Start date
CLOSEDATE date - End date
OPENED char - Available to everyone
CLOSED char - Closed
COMMENTS string - Comment
ASSIGNED_BY_ID user - Responsible person
CREATED_BY_ID user R Created by
MODIFY_BY_ID user R Modified by
MOVED_BY_ID user R MOVED_BY_ID
DATE_CREATE datetime R Created on
DATE_MODIFY datetime R Modified on
MOVED_TIME datetime R MOVED_TIME
SOURCE_ID crm_status:SOURCE - Source
SOURCE_DESCRIPTION string - Source information
LEAD_ID crm_lead R Lead
ADDITIONAL_INFO string - Additional information
LOCATION_ID location - Location
ORIGINATOR_ID string - External source
ORIGIN_ID string - Item ID in data source
${UTM}`);

const CONTACT_FIELDS = defs(`
ID integer R ID
HONORIFIC crm_status:HONORIFIC - Salutation
NAME string - First name
SECOND_NAME string - Second name
LAST_NAME string - Last name
BIRTHDATE date - Date of birth
TYPE_ID crm_status:CONTACT_TYPE - Contact type
SOURCE_ID crm_status:SOURCE - Source
SOURCE_DESCRIPTION string - Source information
POST string - Position
${ADDRESS}
COMMENTS string - Comment
OPENED char - Available to everyone
EXPORT char - Included in export
HAS_PHONE char R Has phone
HAS_EMAIL char R Has email
HAS_IMOL char R Has Open Channel
ASSIGNED_BY_ID user - Responsible person
CREATED_BY_ID user R Created by
MODIFY_BY_ID user R Modified by
DATE_CREATE datetime R Created on
DATE_MODIFY datetime R Modified on
COMPANY_ID crm_company - Company
COMPANY_IDS crm_company M COMPANY_IDS
LEAD_ID crm_lead R Lead
ORIGINATOR_ID string - External source
ORIGIN_ID string - Item ID in data source
ORIGIN_VERSION string - Original version
${UTM}
${MULTI}`);

const COMPANY_FIELDS = defs(`
ID integer R ID
TITLE string - Company name
COMPANY_TYPE crm_status:COMPANY_TYPE - Company type
${ADDRESS}
BANKING_DETAILS string - Payment details
INDUSTRY crm_status:INDUSTRY - Industry
EMPLOYEES crm_status:EMPLOYEES - Employees
CURRENCY_ID crm_currency - Currency
REVENUE double - Annual revenue
OPENED char - Available to everyone
COMMENTS string - Comment
HAS_PHONE char R Has phone
HAS_EMAIL char R Has email
HAS_IMOL char R Has Open Channel
IS_MY_COMPANY char - My Company
ASSIGNED_BY_ID user - Responsible person
CREATED_BY_ID user R Created by
MODIFY_BY_ID user R Modified by
DATE_CREATE datetime R Created on
DATE_MODIFY datetime R Modified on
CONTACT_ID crm_contact M Contact
LEAD_ID crm_lead R Lead
ORIGINATOR_ID string - External source
ORIGIN_ID string - Item ID in data source
ORIGIN_VERSION string - Original version
${UTM}
${MULTI}`);

const DYNAMIC_FIELDS = defs(`
ID integer R ID
XML_ID string - External ID
TITLE string - Name
CREATED_BY user R Created by
UPDATED_BY user R Modified by
MOVED_BY user R Moved by
CREATED_TIME datetime R Created on
UPDATED_TIME datetime R Modified on
MOVED_TIME datetime R Moved on
CATEGORY_ID crm_category I Pipeline
OPENED boolean - Available to everyone
STAGE_ID crm_status - Stage
PREVIOUS_STAGE_ID crm_status R Previous stage
BEGINDATE date - Start date
CLOSEDATE date - End date
COMPANY_ID crm_company - Company
CONTACT_ID crm_contact - Contact
CONTACT_IDS crm_contact M Contacts
OPPORTUNITY double - Amount
IS_MANUAL_OPPORTUNITY boolean - Manual amount
TAX_VALUE double - Tax
CURRENCY_ID crm_currency - Currency
MYCOMPANY_ID crm_company - Your company details
SOURCE_ID crm_status:SOURCE - Source
SOURCE_DESCRIPTION string - Source information
ASSIGNED_BY_ID user - Responsible person
OBSERVERS user M Observers
LAST_ACTIVITY_BY user R Last activity by
LAST_ACTIVITY_TIME datetime R Last activity`);

const ACTIVITY_FIELDS = defs(`
ID integer R ID
OWNER_ID integer Q Owner ID
OWNER_TYPE_ID integer Q Owner type
TYPE_ID crm_enum_activitytype Q Type
PROVIDER_ID string - Provider
PROVIDER_TYPE_ID string - Provider type
PROVIDER_GROUP_ID string - Provider group
ASSOCIATED_ENTITY_ID integer - Associated entity
SUBJECT string - Subject
START_TIME datetime - Start time
END_TIME datetime - End time
DEADLINE datetime - Deadline
COMPLETED char - Completed
STATUS crm_enum_activitystatus - Status
RESPONSIBLE_ID user - Responsible person
PRIORITY crm_enum_activitypriority - Priority
NOTIFY_TYPE crm_enum_activitynotifytype - Notification type
NOTIFY_VALUE integer - Notification value
DESCRIPTION string - Description
DESCRIPTION_TYPE crm_enum_contenttype - Description type
DIRECTION crm_enum_activitydirection - Direction
LOCATION string - Location
CREATED datetime R Created on
AUTHOR_ID user - Created by
LAST_UPDATED datetime R Last update
EDITOR_ID user R Modified by
SETTINGS object - Settings
ORIGIN_ID string - Item ID in data source
ORIGINATOR_ID string - External source
RESULT_STATUS integer - Result status
RESULT_STREAM integer - Result stream
RESULT_SOURCE_ID string - Result source
RESULT_MARK integer - Result mark
RESULT_VALUE double - Result value
RESULT_SUM double - Result sum
RESULT_CURRENCY_ID crm_currency - Result currency
AUTOCOMPLETE_RULE integer - Autocomplete rule
BINDINGS crm_activity_binding RM Bindings
COMMUNICATIONS crm_activity_communication QM Communications
FILES diskfile M Files
WEBDAV_ELEMENTS diskfile M Files (deprecated)
IS_INCOMING_CHANNEL char R Incoming channel`);

const COMMENT_FIELDS = defs(`
ID integer R ID
CREATED datetime R Created on
ENTITY_ID integer QI Entity ID
ENTITY_TYPE string QI Entity type
AUTHOR_ID user - Author
COMMENT string Q Comment
FILES attached_diskfile M Files`);

const TASK_FIELDS = defs(`
ID integer R ID
PARENT_ID integer - Parent task ID
TITLE string Q Name
DESCRIPTION string - Description
MARK enum - Rating
PRIORITY enum - Priority
MULTITASK char - Multitask
NOT_VIEWED char R Not viewed
REPLICATE char - Repeat task
GROUP_ID group - Project
STAGE_ID stage - Stage
CREATED_BY user - Created by
CREATED_DATE datetime R Created on
RESPONSIBLE_ID user Q Assignee
ACCOMPLICES user M Participants
AUDITORS user M Observers
CHANGED_BY user R Modified by
CHANGED_DATE datetime R Modified on
STATUS_CHANGED_BY user R Status changed by
STATUS_CHANGED_DATE datetime R Status changed on
CLOSED_BY user R Closed by
CLOSED_DATE datetime R Closed on
ACTIVITY_DATE datetime R Last activity
DATE_START datetime R Started on
DEADLINE datetime - Deadline
START_DATE_PLAN datetime - Planned start
END_DATE_PLAN datetime - Planned end
GUID string R GUID
XML_ID string - External ID
COMMENTS_COUNT integer R Comments
SERVICE_COMMENTS_COUNT integer R Service comments
ALLOW_CHANGE_DEADLINE char - Assignee can change deadline
ALLOW_TIME_TRACKING char - Track time
TASK_CONTROL char - Approve task when completed
ADD_IN_REPORT char - Add to report
FORKED_BY_TEMPLATE_ID integer R Created from template
TIME_ESTIMATE integer - Time estimate
TIME_SPENT_IN_LOGS integer R Time spent
MATCH_WORK_TIME char - Skip weekends
FORUM_TOPIC_ID integer R Forum topic ID
FORUM_ID integer R Forum ID
SITE_ID string R Site ID
SUBORDINATE char R Subordinate task
FAVORITE char R Favorite
IS_MUTED char R Muted
IS_PINNED char R Pinned
STATUS enum - Status
REAL_STATUS enum R Real status
UF_CRM_TASK crm M CRM items`);

const USER_FIELDS = defs(`
ID integer R ID
XML_ID string - External ID
ACTIVE boolean - Active
NAME string - First name
LAST_NAME string - Last name
SECOND_NAME string - Second name
EMAIL string - E-mail
LAST_LOGIN datetime R Last login
DATE_REGISTER datetime R Registered on
IS_ONLINE char R Online
TIME_ZONE string - Time zone
TIME_ZONE_OFFSET string - Time zone offset
TIMESTAMP_X string R Modified
LAST_ACTIVITY_DATE string R Last activity
PERSONAL_GENDER string - Gender
PERSONAL_BIRTHDAY string - Birthday
PERSONAL_PHONE string - Phone
PERSONAL_MOBILE string - Mobile
WORK_PHONE string - Work phone
WORK_POSITION string - Position
WORK_COMPANY string - Company
UF_EMPLOYMENT_DATE string - Employment date
UF_DEPARTMENT integer M Departments
USER_TYPE string R User type`);

const INT_TYPES = new Set(['integer', 'user', 'crm_company', 'crm_contact', 'crm_lead', 'crm_deal', 'crm_quote',
	'crm_category', 'group', 'stage', 'location', 'crm_enum_activitytype', 'crm_enum_activitystatus',
	'crm_enum_activitypriority', 'crm_enum_activitynotifytype', 'crm_enum_contenttype', 'crm_enum_activitydirection']);
const NUM_TYPES = new Set(['double']);
const DATE_TYPES = new Set(['date', 'datetime']);

/** snake_case → camelCase the way crm.item names fields. @param {string} name @returns {string} */
function snakeToCamel(name) {
	const uf = /^UF_CRM_(.*)$/.exec(name);
	if (uf) {
		const rest = uf[1];
		const m = /^(\d+)_(.*)$/.exec(rest);
		if (m) return `ufCrm${m[1]}_${m[2]}`;
		if (/^\d/.test(rest)) return `ufCrm_${rest}`;
		return 'ufCrm' + snakeToCamel(rest).replace(/^./, (c) => c.toUpperCase());
	}
	return name
		.toLowerCase()
		.split('_')
		.map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)))
		.join('');
}

/** crm.item names of classic fields that do not follow snake→camel. */
const ITEM_OVERRIDES = {
	common: {
		DATE_CREATE: 'createdTime', DATE_MODIFY: 'updatedTime', CREATED_BY_ID: 'createdBy', MODIFY_BY_ID: 'updatedBy',
		MOVED_BY_ID: 'movedBy', BEGINDATE: 'begindate', CLOSEDATE: 'closedate',
	},
	1: { STATUS_ID: 'stageId', STATUS_SEMANTIC_ID: 'stageSemanticId' },
	2: {},
	3: {},
	4: {},
};

const MULTI_TYPES = ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'];

/** Default custom fields per entity type id ("UF_CRM_*"). */
const DEFAULT_USER_FIELDS = {
	1: [
		{ FIELD_NAME: 'UF_CRM_1700000000001', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Customer segment' },
		{ FIELD_NAME: 'UF_CRM_1700000000002', USER_TYPE_ID: 'enumeration', EDIT_FORM_LABEL: 'Interest',
			LIST: [{ ID: '101', VALUE: 'Hardware' }, { ID: '102', VALUE: 'Software' }, { ID: '103', VALUE: 'Services' }] },
		{ FIELD_NAME: 'UF_CRM_1700000000003', USER_TYPE_ID: 'boolean', EDIT_FORM_LABEL: 'Newsletter consent' },
	],
	2: [
		{ FIELD_NAME: 'UF_CRM_1700000000011', USER_TYPE_ID: 'double', EDIT_FORM_LABEL: 'Discount %' },
		{ FIELD_NAME: 'UF_CRM_1700000000012', USER_TYPE_ID: 'date', EDIT_FORM_LABEL: 'Contract date' },
	],
	3: [{ FIELD_NAME: 'UF_CRM_1700000000021', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Nickname' }],
	4: [{ FIELD_NAME: 'UF_CRM_1700000000031', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Tax ID', MULTIPLE: 'Y' }],
};

/** Default smart process (dynamic type). */
const DEFAULT_SMART_PROCESSES = [
	{ id: 1, entityTypeId: 128, title: 'Projects', code: '', categories: [{ id: 2, name: 'General' }],
		userFields: [{ FIELD_NAME: 'UF_CRM_1_1700000000041', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'Project code' }] },
];

const TASK_STATUS = { 1: 'new (deprecated)', 2: 'pending', 3: 'in progress', 4: 'supposedly completed', 5: 'completed', 6: 'deferred', 7: 'declined' };

const EVENT_NAMES = [
	'ONCRMLEADADD', 'ONCRMLEADUPDATE', 'ONCRMLEADDELETE', 'ONCRMDEALADD', 'ONCRMDEALUPDATE', 'ONCRMDEALDELETE',
	'ONCRMCONTACTADD', 'ONCRMCONTACTUPDATE', 'ONCRMCONTACTDELETE', 'ONCRMCOMPANYADD', 'ONCRMCOMPANYUPDATE',
	'ONCRMCOMPANYDELETE', 'ONCRMDYNAMICITEMADD', 'ONCRMDYNAMICITEMUPDATE', 'ONCRMDYNAMICITEMDELETE',
	'ONCRMACTIVITYADD', 'ONCRMACTIVITYUPDATE', 'ONCRMACTIVITYDELETE', 'ONCRMTIMELINECOMMENTADD',
	'ONCRMTIMELINECOMMENTUPDATE', 'ONCRMTIMELINECOMMENTDELETE', 'ONTASKADD', 'ONTASKUPDATE', 'ONTASKDELETE',
	'ONAPPINSTALL', 'ONAPPUNINSTALL',
];

const ALL_SCOPES = ['crm', 'task', 'user', 'user_basic', 'user_brief', 'department', 'entity', 'placement', 'im',
	'disk', 'lists', 'catalog', 'bizproc'];

/**
 * A list row that renders its JSON straight from storage (bytes cached per row and select until the next write) and
 * only builds an object when a batch reference or a non-JSON consumer needs one.
 */
class LazyRow {
	/** @param {() => Buffer} toBuffer @param {() => Record<string, any>} toObject */
	constructor(toBuffer, toObject) {
		this.toBuffer = toBuffer;
		this.toObject = toObject;
	}
	toJSON() {
		return this.toObject();
	}
}
/** PHP json_encode of one value with its default '\\/' escaping (unicode left unescaped). @param {unknown} v */
const encLeaf = (v) => {
	const s = JSON.stringify(v);
	return s === undefined ? 'null' : s.indexOf('/') >= 0 ? s.replace(/\//g, '\\/') : s;
};
/**
 * PHP-style JSON as a Buffer. LazyRow items contribute their cached bytes, so a batch of 2,500 rows costs little
 * more than a memcpy.
 * @param {unknown} value @returns {Buffer}
 */
function phpJson(value) {
	/** @type {Buffer[]} */
	const parts = [];
	let str = '';
	const flush = () => {
		if (str) {
			parts.push(Buffer.from(str));
			str = '';
		}
	};
	/** @param {unknown} v */
	const walk = (v) => {
		if (v === null || typeof v !== 'object') {
			str += encLeaf(v);
			return;
		}
		if (v instanceof LazyRow) {
			flush();
			parts.push(v.toBuffer());
			return;
		}
		if (Array.isArray(v)) {
			str += '[';
			for (let i = 0; i < v.length; i++) {
				if (i) str += ',';
				walk(v[i]);
			}
			str += ']';
			return;
		}
		str += '{';
		let first = true;
		for (const k of Object.keys(v)) {
			const x = /** @type {any} */ (v)[k];
			if (x === undefined || typeof x === 'function') continue;
			str += (first ? '' : ',') + encLeaf(k) + ':';
			walk(x);
			first = false;
		}
		str += '}';
	};
	walk(value);
	flush();
	return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

const rnd = (/** @type {number} */ bytes) => crypto.randomBytes(bytes).toString('hex');

/** Constant-time string comparison. @param {string} a @param {string} b */
function safeEqual(a, b) {
	const x = Buffer.from(String(a));
	const y = Buffer.from(String(b));
	return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** @param {any} v @returns {any[]} */
const asList = (v) => (Array.isArray(v) ? v : isObj(v) ? Object.values(v) : v === undefined || v === null || v === '' ? [] : [v]);

/**
 * @typedef {{ id: number, f: Record<string, any>, fm: {ID: number, TYPE_ID: string, VALUE: string, VALUE_TYPE: string}[],
 *   c?: { sig: number, buf: Buffer } }} Row
 * @typedef {{ rows: Map<number, Row>, ids: number[], seq: number }} Store
 * @typedef {{ key: string, kind: 'crm' | 'dynamic' | 'activity' | 'comment' | 'task' | 'user', entityTypeId: number,
 *   name: string, eventBase: string | null, fields: FieldDef[], fieldMap: Map<string, FieldDef>, camelOf: Map<string, string>,
 *   upperOf: Map<string, string>, multi: boolean, type?: any }} Entity
 * @typedef {{ userId: number, auth: 'webhook' | 'oauth' | 'helper', scopes: Set<string>, app?: any, token?: string, batchLog?: any[] }} Ctx
 * @typedef {{ type: 'http500' | 'drop' | 'rateLimit' | 'timeLimit' | 'expireToken' | 'accessDenied' | 'error',
 *   method?: string, status?: number, error?: string, description?: string }} Fault
 */

/**
 * @param {{
 *   port?: number, domain?: string, memberId?: string, utcOffsetMinutes?: number, currency?: string,
 *   webhook?: { userId?: number, code?: string, scopes?: string[] }, webhooks?: { userId: number, code: string, scopes?: string[] }[],
 *   app?: { clientId?: string, clientSecret?: string, redirectUri?: string, scope?: string, applicationToken?: string, userId?: number },
 *   oauthServerDomain?: string, serverEndpoint?: string, accessTokenTtlSeconds?: number, refreshTokenTtlDays?: number,
 *   authCodeTtlSeconds?: number, plan?: 'standard' | 'enterprise', bucket?: { perSecond?: number, burst?: number },
 *   operatingBudgetSeconds?: number, operatingWindowSeconds?: number, latencyMs?: number, now?: () => (number | Date),
 *   users?: any[], userFields?: Record<number, any[]>, smartProcesses?: any[], deliveryTimeoutMs?: number,
 * }} [options]
 */
function createBitrix24Emulator(options = {}) {
	// ---- configuration ---------------------------------------------------------------------------
	const tzMin = options.utcOffsetMinutes ?? 180;
	const tzStr = (tzMin < 0 ? '-' : '+') + String(Math.floor(Math.abs(tzMin) / 60)).padStart(2, '0') + ':' +
		String(Math.abs(tzMin) % 60).padStart(2, '0');
	const currency = options.currency ?? 'USD';
	const memberId = options.memberId ?? crypto.createHash('md5').update('bitrix24-emulator-portal').digest('hex');
	const webhooks = (options.webhooks && options.webhooks.length
		? options.webhooks
		: [{ userId: options.webhook?.userId ?? 1, code: options.webhook?.code ?? 'b24emulatorhook1', scopes: options.webhook?.scopes }]
	).map((w) => ({ userId: Number(w.userId), code: String(w.code), scopes: new Set(w.scopes ?? ALL_SCOPES) }));
	const app = {
		clientId: options.app?.clientId ?? 'local.6600b24e0mu1a7.00000001',
		clientSecret: options.app?.clientSecret ?? 'EmulatorClientSecret0000000000000000000000000000001',
		redirectUri: options.app?.redirectUri ?? '',
		scope: options.app?.scope ?? 'crm,task,user',
		applicationToken: options.app?.applicationToken ?? crypto.createHash('md5').update('bitrix24-emulator-app').digest('hex'),
		userId: options.app?.userId ?? 1,
	};
	const oauthServerDomain = options.oauthServerDomain ?? 'oauth.bitrix.info';
	const serverEndpoint = options.serverEndpoint ?? 'https://oauth.bitrix.info/rest/';
	const accessTtl = (options.accessTokenTtlSeconds ?? 3600) * 1000;
	const refreshTtl = (options.refreshTokenTtlDays ?? 180) * 86400 * 1000;
	const codeTtl = (options.authCodeTtlSeconds ?? 30) * 1000;
	const enterprise = options.plan === 'enterprise';
	const budgetSeconds = options.operatingBudgetSeconds ?? 480;
	const windowMs = (options.operatingWindowSeconds ?? 600) * 1000;
	const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;

	// ---- clock ---------------------------------------------------------------------------------------
	/** @type {() => number} */
	let clockBase = () => Date.now();
	if (options.now) {
		const f = options.now;
		clockBase = () => +f();
	}
	let clockOffset = 0;
	const now = () => clockBase() + clockOffset;
	/** ISO 8601 in the portal's UTC offset (PHP date('c')). @param {number} ms */
	let isoLastMs = NaN;
	let isoLast = '';
	const iso = (/** @type {number} */ ms) => {
		if (ms === isoLastMs) return isoLast;
		isoLastMs = ms;
		isoLast = new Date(Math.floor(ms / 1000) * 1000 + tzMin * 60000).toISOString().slice(0, 19) + tzStr;
		return isoLast;
	};

	/** Parse a date/datetime value the portal would accept; local times are in the portal offset. @param {any} v */
	function parseDate(v) {
		if (v === null || v === undefined || v === '') return null;
		if (typeof v === 'number') return v;
		if (v instanceof Date) return v.getTime();
		const s = String(v).trim();
		let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
		if (!m) {
			const r = /^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
			if (r) m = /** @type {any} */ ([s, r[3], r[2], r[1], r[4], r[5], r[6], undefined]);
		}
		if (m) {
			let off = m[7] ? (m[7] === 'Z' ? 'Z' : m[7].length === 5 ? m[7].slice(0, 3) + ':' + m[7].slice(3) : m[7]) : tzStr;
			const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${off}`);
			return Number.isFinite(t) ? t : null;
		}
		const t = Date.parse(s);
		return Number.isFinite(t) ? t : null;
	}
	/** Midnight (portal offset) of a date value. @param {number} ms */
	const dayOf = (ms) => {
		const local = ms + tzMin * 60000;
		return local - (((local % 86400000) + 86400000) % 86400000) - tzMin * 60000;
	};

	// ---- users -----------------------------------------------------------------------------------------
	const userSeed = options.users && options.users.length ? options.users : [
		{ ID: 1, NAME: 'Emulator', LAST_NAME: 'Admin', EMAIL: 'admin@emulator.example', WORK_POSITION: 'Administrator', ADMIN: true },
		{ ID: 2, NAME: 'Maria', LAST_NAME: 'Sales', EMAIL: 'maria@emulator.example', WORK_POSITION: 'Sales manager' },
		{ ID: 3, NAME: 'Ivan', LAST_NAME: 'Support', EMAIL: 'ivan@emulator.example', WORK_POSITION: 'Support engineer' },
	];

	// ---- statuses, categories, smart process types ------------------------------------------------------
	/** @type {any[]} */
	let statuses = [];
	let statusSeq = 0;
	/** @param {string} entityId @param {[string, string, string?][]} list @param {number} [categoryId] */
	function addStatuses(entityId, list, categoryId) {
		list.forEach(([sid, name, sem], i) => {
			statuses.push({
				ID: String(++statusSeq), ENTITY_ID: entityId, STATUS_ID: sid, NAME: name, NAME_INIT: name, SORT: String((i + 1) * 10),
				SYSTEM: i === 0 || sem ? 'Y' : 'N', CATEGORY_ID: categoryId === undefined ? null : String(categoryId),
				COLOR: sem === 'S' ? '#7BD500' : sem === 'F' ? '#FF5752' : '#39A8EF', SEMANTICS: sem ?? null,
				EXTRA: { SEMANTICS: sem === 'S' ? 'success' : sem === 'F' ? 'failure' : 'process', COLOR: sem === 'S' ? '#7BD500' : '#39A8EF' },
			});
		});
	}
	/** @type {{ id: number, entityTypeId: number, name: string, sort: number, isDefault: boolean }[]} */
	let categories = [];
	/** @type {Map<number, any>} entityTypeId → dynamic type */
	const dynTypes = new Map();

	function buildDictionaries() {
		stageCache = new Map();
		statuses = [];
		statusSeq = 0;
		addStatuses('STATUS', [['NEW', 'Unassigned'], ['IN_PROCESS', 'In Progress'], ['PROCESSED', 'Processed'],
			['CONVERTED', 'Good lead', 'S'], ['JUNK', 'Junk lead', 'F']]);
		addStatuses('DEAL_STAGE', [['NEW', 'New'], ['PREPARATION', 'Document preparation'], ['PREPAYMENT_INVOICE', 'Invoice'],
			['EXECUTING', 'In progress'], ['FINAL_INVOICE', 'Final invoice'], ['WON', 'Deal won', 'S'], ['LOSE', 'Deal lost', 'F'],
			['APOLOGY', 'Analyze failure', 'F']], 0);
		addStatuses('DEAL_STAGE_1', [['C1:NEW', 'New'], ['C1:PREPARATION', 'Negotiation'], ['C1:WON', 'Deal won', 'S'],
			['C1:LOSE', 'Deal lost', 'F']], 1);
		addStatuses('SOURCE', [['CALL', 'Call'], ['EMAIL', 'E-Mail'], ['WEB', 'Website'], ['ADVERTISING', 'Advertising'],
			['PARTNER', 'Existing client'], ['RECOMMENDATION', 'By recommendation'], ['TRADE_SHOW', 'Show/Exhibition'],
			['WEBFORM', 'CRM form'], ['CALLBACK', 'Callback'], ['RC_GENERATOR', 'Sales boost'], ['STORE', 'Online Store'],
			['OTHER', 'Other']]);
		addStatuses('DEAL_TYPE', [['SALE', 'Sales'], ['COMPLEX', 'Integrated sale'], ['GOODS', 'Merchandise sale'],
			['SERVICES', 'Service sale'], ['SERVICE', 'After-sales service']]);
		addStatuses('CONTACT_TYPE', [['CLIENT', 'Clients'], ['SUPPLIER', 'Suppliers'], ['PARTNER', 'Partners'], ['OTHER', 'Other']]);
		addStatuses('COMPANY_TYPE', [['CUSTOMER', 'Client'], ['SUPPLIER', 'Supplier'], ['COMPETITOR', 'Competitor'],
			['PARTNER', 'Partner'], ['OTHER', 'Other']]);
		addStatuses('INDUSTRY', [['IT', 'Information Technology'], ['TELECOM', 'Telecommunication'], ['MANUFACTURING', 'Manufacturing'],
			['BANKING', 'Banking Services'], ['CONSULTING', 'Consulting'], ['FINANCE', 'Finance'], ['GOVERNMENT', 'Government'],
			['DELIVERY', 'Delivery'], ['ENTERTAINMENT', 'Entertainment'], ['NOTPROFIT', 'Non-profit'], ['OTHER', 'Other']]);
		addStatuses('EMPLOYEES', [['EMPLOYEES_1', 'less than 50'], ['EMPLOYEES_2', '50-250'], ['EMPLOYEES_3', '250-500'],
			['EMPLOYEES_4', 'over 500']]);
		addStatuses('HONORIFIC', [['HNR_EN_1', 'Mr.'], ['HNR_EN_2', 'Mrs.'], ['HNR_EN_3', 'Ms.'], ['HNR_EN_4', 'Dr.']]);
		categories = [
			{ id: 0, entityTypeId: 2, name: 'General', sort: 100, isDefault: true },
			{ id: 1, entityTypeId: 2, name: 'Partners', sort: 200, isDefault: false },
		];
		for (const t of dynTypes.values()) {
			for (const [i, c] of t.categories.entries()) {
				categories.push({ id: c.id, entityTypeId: t.entityTypeId, name: c.name, sort: (i + 1) * 100, isDefault: i === 0 });
				const p = `DT${t.entityTypeId}_${c.id}:`;
				addStatuses(`DYNAMIC_${t.entityTypeId}_STAGE_${c.id}`, [[p + 'NEW', 'New'], [p + 'PREPARATION', 'Preparation'],
					[p + 'CLIENT', 'Client review'], [p + 'SUCCESS', 'Success', 'S'], [p + 'FAIL', 'Failure', 'F']], c.id);
			}
		}
	}

	// ---- entities ------------------------------------------------------------------------------------
	/** @type {Map<string, Entity>} */
	const entities = new Map();
	/**
	 * @param {string} key @param {Entity['kind']} kind @param {number} entityTypeId @param {string} name
	 * @param {string | null} eventBase @param {FieldDef[]} fields @param {Record<string, string>} [overrides]
	 */
	function defineEntity(key, kind, entityTypeId, name, eventBase, fields, overrides = {}) {
		/** @type {Entity} */
		const e = { key, kind, entityTypeId, name, eventBase, fields: [], fieldMap: new Map(), camelOf: new Map(),
			upperOf: new Map(), multi: false };
		for (const f of fields) addField(e, f, overrides);
		entities.set(key, e);
		return e;
	}
	/** @param {Entity} e @param {FieldDef} f @param {Record<string, string>} [overrides] */
	function addField(e, f, overrides = {}) {
		e.fields.push(f);
		e.fieldMap.set(f.name, f);
		if (f.type === 'crm_multifield') e.multi = true;
		else {
			const camel = own(overrides, f.name) ?? snakeToCamel(f.name);
			e.camelOf.set(f.name, camel);
			e.upperOf.set(camel, f.name);
		}
	}
	/** UF definition → FieldDef. @param {any} u */
	function ufDef(u) {
		const type = String(u.USER_TYPE_ID ?? 'string');
		/** @type {FieldDef} */
		const f = { name: String(u.FIELD_NAME), type, readOnly: false, required: u.MANDATORY === 'Y', multiple: u.MULTIPLE === 'Y',
			immutable: false, title: String(u.FIELD_NAME), uf: true };
		if (u.EDIT_FORM_LABEL) /** @type {any} */ (f).label = String(u.EDIT_FORM_LABEL);
		if (type === 'enumeration') f.items = (u.LIST ?? []).map((/** @type {any} */ x) => ({ ID: String(x.ID), VALUE: String(x.VALUE) }));
		return f;
	}
	function buildEntities() {
		entities.clear();
		dynTypes.clear();
		const ufs = options.userFields ?? DEFAULT_USER_FIELDS;
		const classic = /** @type {[number, string, string, FieldDef[]][]} */ ([
			[1, 'lead', 'LEAD', LEAD_FIELDS], [2, 'deal', 'DEAL', DEAL_FIELDS],
			[3, 'contact', 'CONTACT', CONTACT_FIELDS], [4, 'company', 'COMPANY', COMPANY_FIELDS],
		]);
		for (const [tid, name, ev, fields] of classic) {
			const ov = { ...ITEM_OVERRIDES.common, ...ITEM_OVERRIDES[/** @type {1} */ (tid)] };
			const e = defineEntity(String(tid), 'crm', tid, name, ev, fields, ov);
			for (const u of own(ufs, String(tid)) ?? []) addField(e, ufDef(u));
		}
		for (const t of options.smartProcesses ?? DEFAULT_SMART_PROCESSES) {
			const type = {
				id: Number(t.id), entityTypeId: Number(t.entityTypeId), title: String(t.title), code: String(t.code ?? ''),
				categories: (t.categories && t.categories.length ? t.categories : [{ id: 1000 + Number(t.id), name: 'General' }])
					.map((/** @type {any} */ c) => ({ id: Number(c.id), name: String(c.name) })),
				createdTime: iso(Date.UTC(2024, 0, 1)),
			};
			dynTypes.set(type.entityTypeId, type);
			const e = defineEntity(String(type.entityTypeId), 'dynamic', type.entityTypeId, type.title, 'DYNAMICITEM', DYNAMIC_FIELDS);
			e.type = type;
			for (const u of t.userFields ?? []) addField(e, ufDef(u));
		}
		defineEntity('activity', 'activity', 6, 'activity', 'ACTIVITY', ACTIVITY_FIELDS);
		defineEntity('comment', 'comment', 0, 'timeline comment', 'TIMELINECOMMENT', COMMENT_FIELDS);
		defineEntity('task', 'task', 0, 'task', null, TASK_FIELDS);
		defineEntity('user', 'user', 0, 'user', null, USER_FIELDS);
	}
	/** @param {string} key */
	const ent = (key) => /** @type {Entity} */ (entities.get(key));

	// ---- storage -------------------------------------------------------------------------------------
	/** @type {Map<string, Store>} */
	let stores = new Map();
	let fmSeq = 0;
	/** @param {string} key @returns {Store} */
	function store(key) {
		let s = stores.get(key);
		if (!s) {
			s = { rows: new Map(), ids: [], seq: 0 };
			stores.set(key, s);
		}
		return s;
	}
	/** @param {number[]} a @param {number} x first index with a[i] >= x */
	function lowerBound(a, x) {
		let lo = 0;
		let hi = a.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (a[mid] < x) lo = mid + 1;
			else hi = mid;
		}
		return lo;
	}

	// ---- value coercion -------------------------------------------------------------------------------
	/** @param {any} v */
	const toInt = (v) => {
		if (v === null || v === undefined || v === '') return null;
		if (typeof v === 'boolean') return v ? 1 : 0;
		const n = Number.parseInt(String(v), 10);
		return Number.isFinite(n) ? n : null;
	};
	/** @param {any} v */
	const toNum = (v) => {
		if (v === null || v === undefined || v === '') return null;
		const n = Number.parseFloat(String(v).replace(',', '.'));
		return Number.isFinite(n) ? n : null;
	};
	/** @param {any} v */
	const toYN = (v) => (v === true || v === 1 || ['Y', 'y', '1', 'true', 'on'].includes(String(v)) ? 'Y' : 'N');
	/** @param {any} v */
	const toBool = (v) => v === true || v === 1 || ['Y', 'y', '1', 'true', 'on'].includes(String(v));

	/** Coerce one input value for storage. @param {FieldDef} f @param {any} v */
	function coerce(f, v) {
		if (f.multiple) return asList(v).map((x) => coerceOne(f, x)).filter((x) => x !== null && x !== undefined);
		return coerceOne(f, isObj(v) && !(v instanceof Date) ? asList(v)[0] : v);
	}
	/** @param {FieldDef} f @param {any} v */
	function coerceOne(f, v) {
		if (INT_TYPES.has(f.type)) return toInt(v);
		if (NUM_TYPES.has(f.type)) return toNum(v);
		if (f.type === 'char') return v === null || v === undefined || v === '' ? null : toYN(v);
		if (f.type === 'boolean') return v === null || v === undefined || v === '' ? null : toBool(v);
		if (f.type === 'date') {
			const t = parseDate(v);
			return t === null ? null : dayOf(t);
		}
		if (f.type === 'datetime') return parseDate(v);
		if (f.type === 'crm' || f.type === 'enumeration' || f.type === 'enum') return v === null || v === undefined ? null : String(v);
		if (f.type === 'object' || f.type === 'crm_activity_communication' || f.type === 'crm_activity_binding') return v;
		if (v === null || v === undefined) return null;
		return isObj(v) ? JSON.stringify(v) : String(v);
	}

	// ---- record formatting -----------------------------------------------------------------------------
	/** Classic (UPPER_CASE, strings) output of one value. @param {FieldDef} f @param {any} v */
	function outClassicValue(f, v) {
		if (f.multiple) return (Array.isArray(v) ? v : []).map((x) => outClassicOne(f, x));
		return outClassicOne(f, v);
	}
	/** @param {FieldDef} f @param {any} v */
	function outClassicOne(f, v) {
		if (v === null || v === undefined) {
			if (DATE_TYPES.has(f.type)) return '';
			if (f.uf && f.type === 'boolean') return false;
			return null;
		}
		if (INT_TYPES.has(f.type)) return String(v);
		if (NUM_TYPES.has(f.type)) return f.uf ? Number(v) : Number(v).toFixed(2);
		if (DATE_TYPES.has(f.type)) return iso(v);
		if (f.type === 'boolean') return f.uf ? !!v : v ? 'Y' : 'N';
		return v;
	}
	/** crm.item (camelCase, typed) output of one value. @param {FieldDef} f @param {any} v */
	function outItemValue(f, v) {
		if (f.multiple) return (Array.isArray(v) ? v : []).map((x) => outItemOne(f, x));
		return outItemOne(f, v);
	}
	/** @param {FieldDef} f @param {any} v */
	function outItemOne(f, v) {
		if (v === null || v === undefined) return f.type === 'boolean' && f.uf ? false : null;
		if (INT_TYPES.has(f.type)) return Number(v);
		if (NUM_TYPES.has(f.type)) return Number(v);
		if (DATE_TYPES.has(f.type)) return iso(v);
		if (f.type === 'boolean') return f.uf ? !!v : v ? 'Y' : 'N';
		return v;
	}
	/** @param {Row} row @param {string} type */
	const fmOf = (row, type) =>
		row.fm.filter((x) => x.TYPE_ID === type).map((x) => ({ ID: String(x.ID), VALUE_TYPE: x.VALUE_TYPE, VALUE: x.VALUE, TYPE_ID: x.TYPE_ID }));

	/** @type {Map<string, [string, FieldDef, number][]>} compiled column lists per entity + select */
	const columnCache = new Map();
	/** @param {Entity} e @param {string[]} list */
	function columns(e, list) {
		const key = e.key + '|' + list.join(',');
		let cols = columnCache.get(key);
		if (!cols) {
			cols = [];
			for (const n of list) {
				const f = e.fieldMap.get(n);
				if (!f) continue;
				const kind = n === 'ID' ? 0 : f.type === 'crm_multifield' ? 1 : f.multiple || f.uf ? 5 : INT_TYPES.has(f.type) ? 2
					: NUM_TYPES.has(f.type) ? 3 : DATE_TYPES.has(f.type) ? 4 : f.type === 'boolean' ? 5 : 6;
				cols.push([n, f, kind]);
			}
			if (columnCache.size > 500) columnCache.clear();
			columnCache.set(key, cols);
		}
		return cols;
	}
	/**
	 * Classic record output. names: the selected field names (null = everything, as *.get answers).
	 * @param {Entity} e @param {Row} row @param {string[] | null} names @param {[string, FieldDef, number][]} [cols]
	 */
	function outClassic(e, row, names, cols = columns(e, names ?? e.fields.map((f) => f.name))) {
		/** @type {Record<string, any>} */
		const o = {};
		const fields = row.f;
		for (let i = 0; i < cols.length; i++) {
			const [n, f, kind] = cols[i];
			const v = fields[n];
			switch (kind) {
				case 0:
					o[n] = String(row.id);
					break;
				case 1: {
					const vals = fmOf(row, n);
					if (names || vals.length) o[n] = vals;
					break;
				}
				case 2:
					o[n] = v === null || v === undefined ? null : String(v);
					break;
				case 3:
					o[n] = v === null || v === undefined ? null : Number(v).toFixed(2);
					break;
				case 4:
					o[n] = v === null || v === undefined ? '' : iso(v);
					break;
				case 6:
					o[n] = v === undefined ? null : v;
					break;
				default:
					o[n] = outClassicValue(f, v);
			}
		}
		return o;
	}

	/** @type {Map<string, number>} */
	const sigIds = new Map();
	/**
	 * List rows of a classic method as LazyRow: JSON bytes are rendered directly from storage and cached per row and
	 * select signature (dropped on every write).
	 * @param {Entity} e @param {Row[]} rows @param {string[]} names
	 */
	function lazyClassicRows(e, rows, names) {
		const cols = columns(e, names);
		const sigKey = e.key + '|' + names.join(',');
		let sig = sigIds.get(sigKey);
		if (sig === undefined) {
			sig = sigIds.size + 1;
			sigIds.set(sigKey, sig);
		}
		const keys = cols.map(([n]) => encLeaf(n) + ':');
		const sigId = sig;
		return rows.map((row) => new LazyRow(() => {
			if (row.c && row.c.sig === sigId) return row.c.buf;
			const fields = row.f;
			let out = '{';
			for (let i = 0; i < cols.length; i++) {
				const [n, f, kind] = cols[i];
				const v = fields[n];
				let t;
				switch (kind) {
					case 0:
						t = '"' + row.id + '"';
						break;
					case 2:
						t = v === null || v === undefined ? 'null' : '"' + v + '"';
						break;
					case 3:
						t = v === null || v === undefined ? 'null' : '"' + Number(v).toFixed(2) + '"';
						break;
					case 4:
						t = v === null || v === undefined ? '""' : '"' + iso(v) + '"';
						break;
					case 1:
						t = encLeaf(fmOf(row, n));
						break;
					case 6:
						t = v === null || v === undefined ? 'null' : encLeaf(v);
						break;
					default:
						t = encLeaf(outClassicValue(f, v));
				}
				out += (i ? ',' : '') + keys[i] + t;
			}
			const buf = Buffer.from(out + '}');
			row.c = { sig: sigId, buf };
			return buf;
		}, () => outClassic(e, row, names, cols)));
	}

	/** crm.item output. @param {Entity} e @param {Row} row @param {Set<string> | null} sel camel names; null = all */
	function outItem(e, row, sel, origUf = false) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of e.fields) {
			if (f.type === 'crm_multifield') continue;
			const camel = /** @type {string} */ (e.camelOf.get(f.name));
			if (sel && !sel.has(camel) && !sel.has('*') && !(f.uf && sel.has('uf*'))) continue;
			const key = f.uf && origUf ? f.name : camel;
			o[key] = f.name === 'ID' ? row.id : outItemValue(f, row.f[f.name]);
		}
		if (e.multi && (!sel || sel.has('fm'))) {
			o.fm = row.fm.map((x) => ({ id: x.ID, valueType: x.VALUE_TYPE, value: x.VALUE, typeId: x.TYPE_ID }));
		}
		o.entityTypeId = e.entityTypeId;
		return o;
	}

	/** Task output (tasks.task.*: camelCase keys, string values). @param {Row} row @param {string[] | null} names */
	function outTask(row, names) {
		const e = ent('task');
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of e.fields) {
			if (names && !names.includes(f.name)) continue;
			const camel = /** @type {string} */ (e.camelOf.get(f.name));
			const v = f.name === 'ID' ? row.id : row.f[f.name];
			if (f.multiple) o[camel] = (Array.isArray(v) ? v : []).map((x) => String(x));
			else if (v === null || v === undefined) o[camel] = null;
			else if (DATE_TYPES.has(f.type)) o[camel] = iso(v);
			else o[camel] = String(v);
		}
		if (!names || names.includes('STATUS')) o.subStatus = o.status ?? null;
		o.group = [];
		const creator = userById(Number(row.f.CREATED_BY));
		const resp = userById(Number(row.f.RESPONSIBLE_ID));
		/** @param {Row | undefined} u */
		const brief = (u) => u ? { id: String(u.id), name: `${u.f.NAME ?? ''} ${u.f.LAST_NAME ?? ''}`.trim(),
			link: `/company/personal/user/${u.id}/`, icon: '/bitrix/images/tasks/default_avatar.png', workPosition: u.f.WORK_POSITION ?? '' } : null;
		o.creator = brief(creator);
		o.responsible = brief(resp);
		return o;
	}

	/** @param {number} id */
	const userById = (id) => store('user').rows.get(id);
	/** user.get output. @param {Row} row */
	function outUser(row) {
		const e = ent('user');
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of e.fields) {
			const v = f.name === 'ID' ? row.id : row.f[f.name];
			if (f.name === 'ID') o.ID = String(v);
			else if (f.type === 'boolean') o[f.name] = !!v;
			else if (f.name === 'UF_DEPARTMENT') o[f.name] = Array.isArray(v) ? v : [1];
			else if (DATE_TYPES.has(f.type)) o[f.name] = v ? iso(v) : '';
			else o[f.name] = v ?? '';
		}
		return o;
	}

	// ---- record operations (shared by the API and the test helpers) -------------------------------------------
	/** Stage dictionary of an entity for a category. @param {Entity} e @param {number | null} categoryId */
	function stageEntityId(e, categoryId) {
		if (e.key === '1') return 'STATUS';
		if (e.key === '2') return !categoryId ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
		if (e.kind === 'dynamic') return `DYNAMIC_${e.entityTypeId}_STAGE_${categoryId}`;
		return '';
	}
	/** @type {Map<string, any[]>} */
	let stageCache = new Map();
	/** @param {Entity} e @param {number | null} categoryId */
	const stagesOf = (e, categoryId) => {
		const id = stageEntityId(e, categoryId);
		let list = stageCache.get(id);
		if (!list) {
			list = statuses.filter((s) => s.ENTITY_ID === id);
			stageCache.set(id, list);
		}
		return list;
	};
	/** @param {Entity} e @param {number | null} categoryId @param {string} stageId */
	function semanticOf(e, categoryId, stageId) {
		const s = stagesOf(e, categoryId).find((x) => x.STATUS_ID === stageId);
		return s && s.SEMANTICS ? s.SEMANTICS : 'P';
	}
	/** @param {Entity} e */
	const defaultCategory = (e) => {
		const c = categories.find((x) => x.entityTypeId === e.entityTypeId && x.isDefault);
		return c ? c.id : 0;
	};

	/** Apply multi-field input (PHONE/EMAIL/...) with add / update-by-ID / {ID, DELETE:'Y'}. @param {Row} row @param {string} type @param {any} input */
	function applyMulti(row, type, input) {
		for (const item of asList(input)) {
			if (!isObj(item)) {
				if (item !== '' && item !== null && item !== undefined) row.fm.push({ ID: ++fmSeq, TYPE_ID: type, VALUE: String(item), VALUE_TYPE: defaultValueType(type) });
				continue;
			}
			const id = toInt(own(item, 'ID'));
			const existing = id ? row.fm.find((x) => x.ID === id && x.TYPE_ID === type) : undefined;
			if (existing) {
				if (String(own(item, 'DELETE') ?? '').toUpperCase() === 'Y') {
					row.fm = row.fm.filter((x) => x !== existing);
					continue;
				}
				const value = own(item, 'VALUE');
				if (value !== undefined) {
					if (value === '' || value === null) {
						row.fm = row.fm.filter((x) => x !== existing);
						continue;
					}
					existing.VALUE = String(value);
				}
				const vt = own(item, 'VALUE_TYPE');
				if (vt) existing.VALUE_TYPE = String(vt);
				continue;
			}
			if (String(own(item, 'DELETE') ?? '').toUpperCase() === 'Y') continue;
			const value = own(item, 'VALUE');
			if (value === undefined || value === null || value === '') continue;
			row.fm.push({ ID: ++fmSeq, TYPE_ID: type, VALUE: String(value), VALUE_TYPE: String(own(item, 'VALUE_TYPE') || defaultValueType(type)) });
		}
	}
	/** @param {string} type */
	const defaultValueType = (type) => (type === 'IM' ? 'OTHER' : type === 'LINK' ? 'USER' : 'WORK');

	/** @param {any} fields */
	function validateMulti(fields) {
		for (const item of asList(own(fields, 'EMAIL'))) {
			const v = isObj(item) ? own(item, 'VALUE') : item;
			if (isObj(item) && String(own(item, 'DELETE') ?? '').toUpperCase() === 'Y') continue;
			if (v !== undefined && v !== null && v !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(v))) {
				throw new ApiError(400, 'ERROR_CORE', `The E-mail field contains an invalid address: ${v}`);
			}
		}
	}

	/** Fill HAS_* and stage semantics after a write. @param {Entity} e @param {Row} row */
	function derive(e, row) {
		if (e.multi) {
			row.f.HAS_PHONE = row.fm.some((x) => x.TYPE_ID === 'PHONE') ? 'Y' : 'N';
			row.f.HAS_EMAIL = row.fm.some((x) => x.TYPE_ID === 'EMAIL') ? 'Y' : 'N';
			row.f.HAS_IMOL = row.fm.some((x) => x.TYPE_ID === 'IM' && String(x.VALUE).startsWith('imol|')) ? 'Y' : 'N';
		}
		if (e.key === '1') row.f.STATUS_SEMANTIC_ID = semanticOf(e, null, row.f.STATUS_ID);
		if (e.key === '2') {
			row.f.STAGE_SEMANTIC_ID = semanticOf(e, row.f.CATEGORY_ID, row.f.STAGE_ID);
			row.f.CLOSED = row.f.STAGE_SEMANTIC_ID === 'P' ? 'N' : 'Y';
		}
	}

	/**
	 * Insert a record. `fields` uses UPPER_CASE names. ctx.raw (test helpers, seed): read-only fields allowed.
	 * @param {Entity} e @param {Record<string, any>} fields @param {{ userId: number, raw?: boolean, silent?: boolean }} ctx
	 */
	function insert(e, fields, ctx) {
		const s = store(e.key);
		const id = ctx.raw && toInt(own(fields, 'ID')) && !s.rows.has(Number(own(fields, 'ID'))) && Number(own(fields, 'ID')) > s.seq
			? Number(own(fields, 'ID')) : ++s.seq;
		if (id > s.seq) s.seq = id;
		/** @type {Row} */
		const row = { id, f: {}, fm: [] };
		const t = now();
		defaults(e, row, ctx.userId, t);
		for (const k of Object.keys(fields)) {
			const f = e.fieldMap.get(k);
			if (!f || k === 'ID') continue;
			if (f.type === 'crm_multifield') {
				applyMulti(row, k, fields[k]);
				continue;
			}
			if (f.readOnly && !ctx.raw) continue;
			row.f[k] = coerce(f, fields[k]);
		}
		postDefaults(e, row);
		derive(e, row);
		s.rows.set(id, row);
		if (s.ids.length === 0 || s.ids[s.ids.length - 1] < id) s.ids.push(id);
		else s.ids.splice(lowerBound(s.ids, id), 0, id);
		if (!ctx.silent) emitChange(e, 'ADD', row, ctx.userId);
		return row;
	}

	/** @param {Entity} e @param {Row} row @param {number} userId @param {number} t */
	function defaults(e, row, userId, t) {
		const f = row.f;
		switch (e.kind) {
			case 'crm':
				Object.assign(f, {
					OPENED: 'Y', ASSIGNED_BY_ID: userId, CREATED_BY_ID: userId, MODIFY_BY_ID: userId, DATE_CREATE: t, DATE_MODIFY: t,
					LAST_ACTIVITY_BY: userId, LAST_ACTIVITY_TIME: t, HAS_PHONE: 'N', HAS_EMAIL: 'N', HAS_IMOL: 'N',
				});
				if (e.key === '1') Object.assign(f, { STATUS_ID: 'NEW', CURRENCY_ID: currency, OPPORTUNITY: 0, IS_MANUAL_OPPORTUNITY: 'N',
					IS_RETURN_CUSTOMER: 'N', MOVED_BY_ID: userId, MOVED_TIME: t });
				if (e.key === '2') Object.assign(f, { CATEGORY_ID: 0, CURRENCY_ID: currency, OPPORTUNITY: 0, IS_MANUAL_OPPORTUNITY: 'N',
					IS_NEW: 'Y', IS_RECURRING: 'N', IS_RETURN_CUSTOMER: 'N', IS_REPEATED_APPROACH: 'N', CLOSED: 'N', TAX_VALUE: 0,
					BEGINDATE: dayOf(t), CLOSEDATE: dayOf(t + 7 * 86400000), MOVED_BY_ID: userId, MOVED_TIME: t, TYPE_ID: 'SALE' });
				if (e.key === '3') Object.assign(f, { TYPE_ID: 'CLIENT', EXPORT: 'Y', SOURCE_ID: 'CALL' });
				if (e.key === '4') Object.assign(f, { COMPANY_TYPE: 'CUSTOMER', IS_MY_COMPANY: 'N', CURRENCY_ID: currency, REVENUE: 0 });
				break;
			case 'dynamic':
				Object.assign(f, { OPENED: true, ASSIGNED_BY_ID: userId, CREATED_BY: userId, UPDATED_BY: userId, MOVED_BY: userId,
					CREATED_TIME: t, UPDATED_TIME: t, MOVED_TIME: t, CATEGORY_ID: defaultCategory(e), CURRENCY_ID: currency,
					OPPORTUNITY: 0, IS_MANUAL_OPPORTUNITY: false, TAX_VALUE: 0, BEGINDATE: dayOf(t), CLOSEDATE: dayOf(t + 7 * 86400000),
					TITLE: '', OBSERVERS: [], CONTACT_IDS: [], LAST_ACTIVITY_BY: userId, LAST_ACTIVITY_TIME: t });
				break;
			case 'activity':
				Object.assign(f, { COMPLETED: 'N', STATUS: 1, RESPONSIBLE_ID: userId, PRIORITY: 2, AUTHOR_ID: userId, EDITOR_ID: userId,
					CREATED: t, LAST_UPDATED: t, DESCRIPTION: '', DESCRIPTION_TYPE: 1, DIRECTION: 0, NOTIFY_TYPE: 0, NOTIFY_VALUE: 0,
					START_TIME: t, END_TIME: t, DEADLINE: t, PROVIDER_ID: '', PROVIDER_TYPE_ID: '', IS_INCOMING_CHANNEL: 'N' });
				break;
			case 'comment':
				Object.assign(f, { CREATED: t, AUTHOR_ID: userId, FILES: [] });
				break;
			case 'task':
				Object.assign(f, { CREATED_BY: userId, RESPONSIBLE_ID: userId, CREATED_DATE: t, CHANGED_DATE: t, CHANGED_BY: userId,
					STATUS_CHANGED_BY: userId, STATUS_CHANGED_DATE: t, ACTIVITY_DATE: t, STATUS: '2', REAL_STATUS: '2', PRIORITY: '1',
					MARK: null, MULTITASK: 'N', NOT_VIEWED: 'N', REPLICATE: 'N', GROUP_ID: 0, STAGE_ID: 0, PARENT_ID: 0,
					ACCOMPLICES: [], AUDITORS: [], GUID: `{${crypto.randomUUID().toUpperCase()}}`, COMMENTS_COUNT: 0,
					SERVICE_COMMENTS_COUNT: 0, ALLOW_CHANGE_DEADLINE: 'Y', ALLOW_TIME_TRACKING: 'N', TASK_CONTROL: 'N',
					ADD_IN_REPORT: 'N', TIME_ESTIMATE: 0, TIME_SPENT_IN_LOGS: 0, MATCH_WORK_TIME: 'N', SITE_ID: 's1', SUBORDINATE: 'N',
					FAVORITE: 'N', IS_MUTED: 'N', IS_PINNED: 'N', DESCRIPTION: '', UF_CRM_TASK: [] });
				break;
			default:
				break;
		}
	}
	/** Defaults that depend on input (titles, stages). @param {Entity} e @param {Row} row */
	function postDefaults(e, row) {
		const f = row.f;
		if (e.key === '1' && (f.TITLE === undefined || f.TITLE === null || f.TITLE === '')) f.TITLE = `Lead #${row.id}`;
		if (e.key === '2') {
			if (f.TITLE === undefined || f.TITLE === null || f.TITLE === '') f.TITLE = `Deal #${row.id}`;
			const cat = Number(f.CATEGORY_ID ?? 0);
			const stages = stagesOf(e, cat);
			if (!f.STAGE_ID || !stages.some((x) => x.STATUS_ID === f.STAGE_ID)) f.STAGE_ID = stages[0]?.STATUS_ID ?? 'NEW';
		}
		if (e.kind === 'dynamic') {
			const cat = Number(f.CATEGORY_ID ?? defaultCategory(e));
			const stages = stagesOf(e, cat);
			if (!f.STAGE_ID || !stages.some((x) => x.STATUS_ID === f.STAGE_ID)) f.STAGE_ID = stages[0]?.STATUS_ID ?? null;
			if (!f.TITLE) f.TITLE = `${e.type.title} #${row.id}`;
		}
		if (e.kind === 'task') f.REAL_STATUS = f.STATUS;
		if (e.kind === 'user' && f.ACTIVE === undefined) f.ACTIVE = true;
	}

	/**
	 * Update a record (fields not sent are kept).
	 * @param {Entity} e @param {Row} row @param {Record<string, any>} fields @param {{ userId: number, raw?: boolean, silent?: boolean }} ctx
	 */
	function modify(e, row, fields, ctx) {
		const before = { ...row.f };
		let timeSet = false;
		for (const k of Object.keys(fields)) {
			const f = e.fieldMap.get(k);
			if (!f || k === 'ID') continue;
			if (f.type === 'crm_multifield') {
				applyMulti(row, k, fields[k]);
				continue;
			}
			if ((f.readOnly || f.immutable) && !ctx.raw) continue;
			if (['DATE_MODIFY', 'UPDATED_TIME', 'CHANGED_DATE', 'LAST_UPDATED'].includes(k)) timeSet = true;
			row.f[k] = coerce(f, fields[k]);
		}
		const t = now();
		if (e.kind === 'crm') {
			if (!timeSet) row.f.DATE_MODIFY = t;
			row.f.MODIFY_BY_ID = ctx.userId;
			const stageKey = e.key === '1' ? 'STATUS_ID' : 'STAGE_ID';
			if (before[stageKey] !== row.f[stageKey] && (e.key === '1' || e.key === '2')) {
				row.f.MOVED_TIME = t;
				row.f.MOVED_BY_ID = ctx.userId;
			}
			if (e.key === '2') row.f.IS_NEW = 'N';
		} else if (e.kind === 'dynamic') {
			if (!timeSet) row.f.UPDATED_TIME = t;
			row.f.UPDATED_BY = ctx.userId;
			if (before.STAGE_ID !== row.f.STAGE_ID) {
				row.f.PREVIOUS_STAGE_ID = before.STAGE_ID;
				row.f.MOVED_TIME = t;
				row.f.MOVED_BY = ctx.userId;
			}
		} else if (e.kind === 'activity') {
			if (!timeSet) row.f.LAST_UPDATED = t;
			row.f.EDITOR_ID = ctx.userId;
		} else if (e.kind === 'task') {
			if (!timeSet) row.f.CHANGED_DATE = t;
			row.f.CHANGED_BY = ctx.userId;
			if (before.STATUS !== row.f.STATUS) {
				row.f.STATUS_CHANGED_BY = ctx.userId;
				row.f.STATUS_CHANGED_DATE = t;
				row.f.REAL_STATUS = row.f.STATUS;
				if (String(row.f.STATUS) === '5') {
					row.f.CLOSED_DATE = t;
					row.f.CLOSED_BY = ctx.userId;
				}
			}
		}
		derive(e, row);
		row.c = undefined;
		if (!ctx.silent) emitChange(e, 'UPDATE', row, ctx.userId);
		return row;
	}

	/** @param {Entity} e @param {Row} row @param {{ userId: number, silent?: boolean }} ctx */
	function remove(e, row, ctx) {
		const s = store(e.key);
		s.rows.delete(row.id);
		const i = lowerBound(s.ids, row.id);
		if (s.ids[i] === row.id) s.ids.splice(i, 1);
		if (!ctx.silent) emitChange(e, 'DELETE', row, ctx.userId);
	}

	// ---- filtering, ordering, paging ----------------------------------------------------------------------------
	const PREFIXES = ['!%=', '!=%', '>=', '<=', '!=', '!@', '=%', '%=', '!%', '>', '<', '@', '=', '!', '%'];
	/** @type {Record<string, string>} */
	const OPS = { '': 'eq', '=': 'eq', '!': 'ne', '!=': 'ne', '>': 'gt', '>=': 'ge', '<': 'lt', '<=': 'le', '@': 'in', '!@': 'nin',
		'%': 'like', '!%': 'nlike', '=%': 'likeRaw', '%=': 'likeRaw', '!=%': 'nlikeRaw', '!%=': 'nlikeRaw' };

	/**
	 * @typedef {{ op: string, name: string, f: FieldDef, multi: boolean, values: any[], re?: RegExp }} Pred
	 * @param {Entity} e @param {any} filter @param {(k: string) => string | undefined} resolve maps a filter field name to UPPER
	 * @returns {Pred[]}
	 */
	function parseFilter(e, filter, resolve) {
		/** @type {Pred[]} */
		const preds = [];
		if (!isObj(filter) || Array.isArray(filter)) return preds;
		for (const rawKey of Object.keys(filter)) {
			const raw = filter[rawKey];
			let prefix = '';
			for (const p of PREFIXES) {
				if (rawKey.startsWith(p)) {
					prefix = p;
					break;
				}
			}
			const name = resolve(rawKey.slice(prefix.length));
			if (!name) continue;
			const f = e.fieldMap.get(name);
			if (!f) continue;
			let op = OPS[prefix];
			const isArr = Array.isArray(raw) || (isObj(raw) && !(raw instanceof Date));
			if (isArr && op === 'eq') op = 'in';
			if (isArr && op === 'ne') op = 'nin';
			const list = isArr ? asList(raw) : [raw];
			const values = list.map((v) => filterValue(f, v, op));
			/** @type {Pred} */
			const p = { op, name, f, multi: f.multiple || f.type === 'crm_multifield', values };
			if (op === 'like' || op === 'nlike') p.re = new RegExp(escapeRe(String(list[0] ?? '')), 'i');
			if (op === 'likeRaw' || op === 'nlikeRaw') {
				p.re = new RegExp('^' + escapeRe(String(list[0] ?? '')).replace(/%/g, '.*').replace(/_/g, '.') + '$', 'is');
			}
			preds.push(p);
		}
		return preds;
	}
	/** @param {string} s */
	const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	/** @param {FieldDef} f @param {any} v @param {string} op */
	function filterValue(f, v, op) {
		if (op.includes('like')) return v;
		if (v === '' || v === null || v === undefined) return null;
		if (f.name === 'ID' || INT_TYPES.has(f.type) || NUM_TYPES.has(f.type)) {
			const n = Number(v);
			return Number.isFinite(n) ? n : String(v).toLowerCase();
		}
		if (DATE_TYPES.has(f.type)) return parseDate(v);
		if (f.type === 'boolean') return toBool(v);
		if (f.type === 'char') return String(v).toUpperCase() === 'Y' || v === true ? 'y' : String(v).toLowerCase();
		return String(v).toLowerCase();
	}
	/** Comparable form of a stored value. @param {FieldDef} f @param {any} v */
	function cmpValue(f, v) {
		if (v === null || v === undefined || v === '') return null;
		if (typeof v === 'number' || typeof v === 'boolean') return v;
		if (f.type === 'char') return String(v).toLowerCase();
		return typeof v === 'string' ? v.toLowerCase() : v;
	}
	/** @param {Pred} p @param {any} v stored value (scalar) */
	function test1(p, v) {
		const c = cmpValue(p.f, v);
		switch (p.op) {
			case 'eq':
				return p.values[0] === null ? c === null : c !== null && (c === p.values[0] || (typeof c === 'number' && String(c) === String(p.values[0])));
			case 'ne':
				return p.values[0] === null ? c !== null : c === null || !(c === p.values[0] || String(c) === String(p.values[0]));
			case 'gt':
				return c !== null && p.values[0] !== null && c > p.values[0];
			case 'ge':
				return c !== null && p.values[0] !== null && c >= p.values[0];
			case 'lt':
				return c !== null && p.values[0] !== null && c < p.values[0];
			case 'le':
				return c !== null && p.values[0] !== null && c <= p.values[0];
			case 'in':
				return p.values.some((x) => (x === null ? c === null : c !== null && String(c) === String(x)));
			case 'nin':
				return !p.values.some((x) => (x === null ? c === null : c !== null && String(c) === String(x)));
			case 'like':
			case 'likeRaw':
				return v !== null && v !== undefined && /** @type {RegExp} */ (p.re).test(String(v));
			case 'nlike':
			case 'nlikeRaw':
				return v === null || v === undefined || !(/** @type {RegExp} */ (p.re).test(String(v)));
			default:
				return true;
		}
	}
	const NEGATIVE = new Set(['ne', 'nin', 'nlike', 'nlikeRaw']);
	/** @param {Pred[]} preds @param {Row} row */
	function matches(preds, row) {
		for (const p of preds) {
			if (p.multi) {
				/** @type {any[]} */
				const vals = p.f.type === 'crm_multifield' ? row.fm.filter((x) => x.TYPE_ID === p.name).map((x) => x.VALUE)
					: Array.isArray(row.f[p.name]) ? row.f[p.name] : [];
				if (NEGATIVE.has(p.op)) {
					if (vals.length && !vals.every((/** @type {any} */ v) => test1(p, v))) return false;
				} else if (vals.length === 0 ? !test1(p, null) : !vals.some((/** @type {any} */ v) => test1(p, v))) return false;
			} else {
				const v = p.name === 'ID' ? row.id : row.f[p.name];
				if (!test1(p, v)) return false;
			}
		}
		return true;
	}

	/**
	 * @param {Entity} e @param {any} order @param {(k: string) => string | undefined} resolve
	 * @returns {[string, 1 | -1][]}
	 */
	function parseOrder(e, order, resolve) {
		/** @type {[string, 1 | -1][]} */
		const out = [];
		if (isObj(order) && !Array.isArray(order)) {
			for (const k of Object.keys(order)) {
				const name = resolve(k);
				if (!name || !e.fieldMap.has(name)) continue;
				out.push([name, String(order[k]).toUpperCase() === 'DESC' ? -1 : 1]);
			}
		}
		return out;
	}

	/**
	 * Page through a store. mode 'page': Bitrix navigation (page = floor(start/50)+1); 'offset': start is an offset.
	 * start < 0: no COUNT (no total, no next; stops after one page).
	 * @param {Entity} e @param {Pred[]} preds @param {[string, 1 | -1][]} order @param {number} start
	 * @param {'page' | 'offset'} mode @param {number} [pageSize]
	 */
	function listRows(e, preds, order, start, mode, pageSize = 50) {
		const s = store(e.key);
		const noCount = start < 0;
		const offset = noCount ? 0 : mode === 'page' ? Math.floor(start / pageSize) * pageSize : start;
		/** @type {Row[]} */
		const page = [];
		let total = 0;
		const ord = order.length ? order : /** @type {[string, 1 | -1][]} */ ([['ID', 1]]);
		if (ord.length === 1 && ord[0][0] === 'ID') {
			const asc = ord[0][1] === 1;
			let from = 0;
			let to = s.ids.length;
			for (const p of preds) {
				if (p.name !== 'ID' || typeof p.values[0] !== 'number') continue;
				const v = p.values[0];
				if (p.op === 'gt') from = Math.max(from, lowerBound(s.ids, Math.floor(v) + 1));
				if (p.op === 'ge') from = Math.max(from, lowerBound(s.ids, Math.ceil(v)));
				if (p.op === 'lt') to = Math.min(to, lowerBound(s.ids, Math.ceil(v)));
				if (p.op === 'le') to = Math.min(to, lowerBound(s.ids, Math.floor(v) + 1));
				if (p.op === 'eq') {
					from = Math.max(from, lowerBound(s.ids, v));
					to = Math.min(to, lowerBound(s.ids, v + 1));
				}
			}
			for (let k = 0; k < to - from; k++) {
				const id = s.ids[asc ? from + k : to - 1 - k];
				const row = /** @type {Row} */ (s.rows.get(id));
				if (preds.length && !matches(preds, row)) continue;
				if (total >= offset && page.length < pageSize) page.push(row);
				total++;
				if (noCount && page.length >= pageSize) break;
			}
		} else {
			/** @type {Row[]} */
			const all = [];
			for (const id of s.ids) {
				const row = /** @type {Row} */ (s.rows.get(id));
				if (!preds.length || matches(preds, row)) all.push(row);
			}
			const fdefs = ord.map(([n]) => /** @type {FieldDef} */ (e.fieldMap.get(n)));
			all.sort((a, b) => {
				for (let i = 0; i < ord.length; i++) {
					const [n, dir] = ord[i];
					const va = n === 'ID' ? a.id : cmpValue(fdefs[i], a.f[n]);
					const vb = n === 'ID' ? b.id : cmpValue(fdefs[i], b.f[n]);
					if (va === vb) continue;
					if (va === null || va === undefined) return -dir;
					if (vb === null || vb === undefined) return dir;
					return (va < vb ? -1 : 1) * dir;
				}
				return a.id - b.id;
			});
			total = all.length;
			page.push(...all.slice(offset, offset + pageSize));
		}
		/** @type {{ rows: Row[], total?: number, next?: number }} */
		const out = { rows: page };
		if (!noCount) {
			out.total = total;
			if (offset + pageSize < total) out.next = offset + pageSize;
		} else {
			out.total = 0;
		}
		return out;
	}

	/** Classic select resolution ('*', 'UF_*', names). @param {Entity} e @param {any} select */
	function classicSelect(e, select) {
		const list = asList(select).map((x) => String(x).toUpperCase());
		if (!list.length) list.push('*');
		const set = new Set(['ID']);
		for (const s of list) {
			if (s === '*') for (const f of e.fields) if (!f.uf && f.type !== 'crm_multifield') set.add(f.name);
			if (s === 'UF_*') for (const f of e.fields) if (f.uf) set.add(f.name);
			if (e.fieldMap.has(s)) set.add(s);
		}
		return e.fields.map((f) => f.name).filter((n) => set.has(n));
	}

	// ---- parameter helpers --------------------------------------------------------------------------------
	/** Read a parameter by name, also in upper/lower case (CCrmRestService::resolveParam). @param {any} p @param {string} name */
	function param(p, name) {
		let v = own(p, name);
		if (v === undefined) v = own(p, name.toUpperCase());
		if (v === undefined) v = own(p, name.toLowerCase());
		return v;
	}
	/** @param {any} p */
	function idParam(p) {
		const raw = param(p, 'id');
		const id = toInt(raw);
		if (!id || id <= 0 || !/^\s*\d+\s*$/.test(String(raw))) throw E_BAD_ID();
		return id;
	}
	/** @param {any} p @param {string} [name] */
	function fieldsParam(p, name = 'fields') {
		const v = param(p, name);
		if (!isObj(v) || Array.isArray(v)) {
			if (Array.isArray(v) && v.length === 0) return {};
			throw bad(`Parameter '${name}' must be array.`);
		}
		return v;
	}
	/** @param {any} p */
	const startParam = (p) => {
		const n = Number(param(p, 'start') ?? 0);
		return Number.isFinite(n) ? Math.trunc(n) : 0;
	};
	/** @param {any} v */
	const engineMissing = (v) => new ApiError(400, '100', `Could not find value for parameter {${v}}`);

	/** Filter/order key resolver for classic methods (keys are UPPER_CASE names). @param {Entity} e */
	const classicResolve = (e) => (/** @type {string} */ k) => (e.fieldMap.has(k) ? k : e.fieldMap.has(k.toUpperCase()) ? k.toUpperCase() : undefined);
	/** crm.item resolver (camelCase names; UPPER accepted too). @param {Entity} e */
	const itemResolve = (e) => (/** @type {string} */ k) => e.upperOf.get(k) ?? (e.fieldMap.has(k) ? k : undefined);
	/** Convert crm.item input fields (camelCase) to UPPER_CASE. @param {Entity} e @param {any} fields */
	function itemFieldsToUpper(e, fields) {
		/** @type {Record<string, any>} */
		const out = {};
		for (const k of Object.keys(fields)) {
			if (k === 'fm') continue;
			const u = e.upperOf.get(k) ?? (e.fieldMap.has(k) ? k : undefined);
			if (u) put(out, u, fields[k]);
		}
		return out;
	}
	/** crm.item `fm` input → classic multi-field input per type. @param {any} fm */
	function fmToClassic(fm) {
		/** @type {Record<string, any[]>} */
		const out = {};
		for (const x of asList(fm)) {
			if (!isObj(x)) continue;
			const type = String(own(x, 'typeId') ?? '').toUpperCase();
			if (!MULTI_TYPES.includes(type)) continue;
			(out[type] ??= []).push({ ID: own(x, 'id'), VALUE: own(x, 'value'), VALUE_TYPE: own(x, 'valueType'),
				DELETE: own(x, 'delete') === true || own(x, 'delete') === 'Y' ? 'Y' : undefined });
		}
		return out;
	}

	// ---- *.fields descriptions ------------------------------------------------------------------------------
	/** @param {FieldDef} f */
	function describe(f) {
		/** @type {Record<string, any>} */
		const d = { type: f.type === 'crm' ? 'crm' : f.type, isRequired: f.required, isReadOnly: f.readOnly, isImmutable: f.immutable,
			isMultiple: f.multiple || f.type === 'crm_multifield', isDynamic: !!f.uf, title: f.title };
		if (f.statusType) d.statusType = f.statusType;
		if (f.uf) {
			const label = /** @type {any} */ (f).label ?? f.name;
			Object.assign(d, { listLabel: label, formLabel: label, filterLabel: label, settings: {} });
		}
		if (f.items) d.items = f.items;
		if (f.name === 'COMPANY_ID') d.settings = { parentEntityTypeId: 4 };
		return d;
	}
	/** @param {Entity} e */
	function classicFields(e) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of e.fields) o[f.name] = describe(f);
		return o;
	}
	/** @param {Entity} e */
	function itemFields(e) {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of e.fields) {
			if (f.type === 'crm_multifield') continue;
			o[/** @type {string} */ (e.camelOf.get(f.name))] = { ...describe(f), upperName: f.name };
		}
		return o;
	}

	// ---- events / deliveries ----------------------------------------------------------------------------------
	/** @type {{ id: number, event: string, handler: string, authType: number, clientId: string, offline: number }[]} */
	let handlers = [];
	let handlerSeq = 0;
	/** @type {{ id: number, url: string, events: Set<string>, applicationToken: string }[]} */
	let outbound = [];
	/** @type {{ url: string, event: string, body: string, params: any, status: number | null, error?: string, at: number, handlerId: number }[]} */
	const deliveries = [];
	/** @type {Set<Promise<void>>} */
	const pending = new Set();

	/** @param {Entity} e @param {'ADD' | 'UPDATE' | 'DELETE'} action @param {Row} row @param {number} userId */
	function emitChange(e, action, row, userId) {
		if (e.kind === 'crm' || e.kind === 'activity' || e.kind === 'comment') {
			emit(`ONCRM${e.eventBase}${action}`, { FIELDS: { ID: row.id } }, userId);
		} else if (e.kind === 'dynamic') {
			emit(`ONCRMDYNAMICITEM${action}`, { FIELDS: { ID: row.id, ENTITY_TYPE_ID: e.entityTypeId } }, userId);
		} else if (e.kind === 'task') {
			const data = action === 'ADD'
				? { FIELDS_BEFORE: 'undefined', FIELDS_AFTER: { ID: row.id }, IS_ACCESSIBLE_BEFORE: 'N', IS_ACCESSIBLE_AFTER: 'undefined' }
				: action === 'UPDATE'
					? { FIELDS_BEFORE: { ID: row.id }, FIELDS_AFTER: { ID: row.id }, IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'undefined' }
					: { FIELDS_BEFORE: { ID: row.id }, FIELDS_AFTER: 'undefined', IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'undefined' };
			emit(`ONTASK${action}`, data, userId);
		}
	}

	/** @param {string} event @param {any} data @param {number} userId */
	function emit(event, data, userId) {
		const ts = String(Math.floor(now() / 1000));
		const base = baseUrl();
		for (const h of handlers) {
			if (h.event !== event) continue;
			const scopeNeeded = event.startsWith('ONTASK') ? 'task' : event.startsWith('ONCRM') ? 'crm' : null;
			const appScopes = new Set(app.scope.split(',').map((x) => x.trim()));
			if (scopeNeeded && !appScopes.has(scopeNeeded)) continue;
			const uid = h.authType || userId;
			const pair = issueTokens(uid, app.scope);
			const body = {
				event, event_handler_id: String(h.id), data, ts,
				auth: {
					access_token: pair.access_token, expires_in: '3600', scope: app.scope, domain: domain(),
					server_endpoint: serverEndpoint, status: 'L', client_endpoint: `${base}/rest/`, member_id: memberId,
					refresh_token: pair.refresh_token, application_token: app.applicationToken,
				},
			};
			deliver(h.handler, event, body, h.id);
		}
		for (const w of outbound) {
			if (!w.events.has(event)) continue;
			const body = {
				event, event_handler_id: String(w.id), data, ts,
				auth: { domain: domain(), client_endpoint: `${base}/rest/`, server_endpoint: serverEndpoint, member_id: memberId,
					application_token: w.applicationToken },
			};
			deliver(w.url, event, body, w.id);
		}
	}

	/** Asynchronous POST (form-encoded, PHP keys), no retries. @param {string} url @param {string} event @param {any} params @param {number} handlerId */
	function deliver(url, event, params, handlerId) {
		const body = buildPhpQuery(params);
		const entry = { url, event, body, params, status: /** @type {number | null} */ (null), at: now(), handlerId };
		deliveries.push(entry);
		const p = new Promise((resolve) => {
			setImmediate(() => {
				/** @type {URL} */
				let u;
				try {
					u = new URL(url);
				} catch {
					/** @type {any} */ (entry).error = 'invalid URL';
					return resolve(undefined);
				}
				const mod = u.protocol === 'https:' ? https : http;
				const req = mod.request(u, {
					method: 'POST',
					headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body),
						'User-Agent': 'Bitrix24 Webhook Engine' },
					timeout: deliveryTimeoutMs,
				}, (res) => {
					entry.status = res.statusCode ?? null;
					res.resume();
					res.on('end', () => resolve(undefined));
					res.on('error', () => resolve(undefined));
				});
				req.on('timeout', () => req.destroy(new Error('timeout')));
				req.on('error', (err) => {
					/** @type {any} */ (entry).error = err.message;
					resolve(undefined);
				});
				req.end(body);
			});
		}).then(() => {
			pending.delete(/** @type {any} */ (p));
		});
		pending.add(/** @type {any} */ (p));
	}

	// ---- OAuth ------------------------------------------------------------------------------------------
	/** @type {Map<string, { userId: number, scope: string, expiresAt: number, clientId: string }>} */
	let accessTokens = new Map();
	/** @type {Map<string, { userId: number, scope: string, expiresAt: number, clientId: string, used: boolean }>} */
	let refreshTokens = new Map();
	/** @type {Map<string, { userId: number, expiresAt: number, clientId: string, used: boolean }>} */
	let authCodes = new Map();

	/** @param {number} userId @param {string} scope */
	function issueTokens(userId, scope) {
		const access = rnd(16);
		const refresh = rnd(16);
		const t = now();
		accessTokens.set(access, { userId, scope, expiresAt: t + accessTtl, clientId: app.clientId });
		refreshTokens.set(refresh, { userId, scope, expiresAt: t + refreshTtl, clientId: app.clientId, used: false });
		return { access_token: access, refresh_token: refresh };
	}
	/** @param {number} userId @param {string} scope */
	function tokenResponse(userId, scope) {
		const pair = issueTokens(userId, scope);
		return {
			access_token: pair.access_token, expires_in: Math.round(accessTtl / 1000), scope, user_id: userId,
			refresh_token: pair.refresh_token, domain: oauthServerDomain, member_id: memberId,
			client_endpoint: `${baseUrl()}/rest/`, server_endpoint: serverEndpoint, status: 'L',
		};
	}

	// ---- rate limit (leaky bucket) and operating time --------------------------------------------------------
	const knobs = {
		/** @type {Fault[]} */
		failNext: [],
		latencyMs: options.latencyMs ?? 0,
		bucket: {
			perSecond: options.bucket?.perSecond ?? (enterprise ? 5 : 2),
			burst: options.bucket?.burst ?? (enterprise ? 250 : 50),
		},
		/**
		 * Simulated execution time per call, in seconds: null = the real (tiny) time; a number; a map
		 * { 'crm.lead.list': 10, '*': 0.01 }; or a function (method, params) => seconds.
		 * @type {null | number | Record<string, number> | ((method: string, params: any) => number)}
		 */
		operatingCost: /** @type {any} */ (null),
	};
	let bucketLevel = 0;
	let bucketAt = 0;
	/** @returns {boolean} true when the request is admitted */
	function bucketAdmit() {
		const t = now();
		const drained = Math.max(0, (t - bucketAt) / 1000) * knobs.bucket.perSecond;
		bucketLevel = Math.max(0, bucketLevel - drained);
		bucketAt = t;
		if (bucketLevel + 1 > knobs.bucket.burst) return false;
		bucketLevel += 1;
		return true;
	}
	/** Per-method spend within the window: entries in time order, head index and running sum. */
	/** @type {Map<string, { list: { at: number, cost: number }[], head: number, sum: number }>} */
	let operating = new Map();
	/** @param {string} method */
	function operatingSlot(method) {
		let slot = operating.get(method);
		if (!slot) {
			slot = { list: [], head: 0, sum: 0 };
			operating.set(method, slot);
		}
		const t = now();
		while (slot.head < slot.list.length && slot.list[slot.head].at + windowMs <= t) slot.sum -= slot.list[slot.head++].cost;
		if (slot.head > 1024 && slot.head * 2 > slot.list.length) {
			slot.list = slot.list.slice(slot.head);
			slot.head = 0;
		}
		if (slot.head >= slot.list.length) slot.sum = 0;
		return slot;
	}
	/** @param {string} method */
	function operatingState(method) {
		const slot = operatingSlot(method);
		const resetAt = slot.head < slot.list.length ? Math.floor((slot.list[slot.head].at + windowMs) / 1000) : null;
		return { sum: slot.sum, resetAt };
	}
	/** @param {string} method @param {any} params @param {number} measured */
	function costOf(method, params, measured) {
		const c = knobs.operatingCost;
		if (c === null || c === undefined) return measured;
		if (typeof c === 'number') return c;
		if (typeof c === 'function') return Number(c(method, params)) || 0;
		const v = own(c, method) ?? own(c, '*');
		return v === undefined ? measured : Number(v);
	}

	// ---- methods ------------------------------------------------------------------------------------------------
	/** @typedef {{ result: any, total?: number, next?: number }} MethodResult */
	/** @typedef {{ scope: string | null, fn: (p: any, ctx: Ctx) => MethodResult, noBatch?: boolean, oauthOnly?: boolean }} MethodDef */
	/** @type {Map<string, MethodDef>} */
	const methods = new Map();
	/** @param {string} name @param {string | null} scope @param {MethodDef['fn']} fn @param {Partial<MethodDef>} [extra] */
	const def = (name, scope, fn, extra = {}) => methods.set(name, { scope, fn, ...extra });
	/** @param {any} result @param {number} [total] @param {number} [next] @returns {MethodResult} */
	const R = (result, total, next) => {
		/** @type {MethodResult} */
		const r = { result };
		if (total !== undefined) r.total = total;
		if (next !== undefined) r.next = next;
		return r;
	};

	// classic CRM entities
	for (const [tid, prefix] of /** @type {[string, string][]} */ ([['1', 'crm.lead'], ['2', 'crm.deal'], ['3', 'crm.contact'], ['4', 'crm.company']])) {
		def(`${prefix}.fields`, 'crm', () => R(classicFields(ent(tid))));
		def(`${prefix}.add`, 'crm', (p, ctx) => {
			const e = ent(tid);
			const fields = fieldsParam(p);
			validateMulti(fields);
			return R(insert(e, fields, { userId: ctx.userId }).id);
		});
		def(`${prefix}.get`, 'crm', (p) => {
			const e = ent(tid);
			const row = store(tid).rows.get(idParam(p));
			if (!row) throw E_NOT_FOUND();
			return R(outClassic(e, row, null));
		});
		def(`${prefix}.list`, 'crm', (p) => {
			const e = ent(tid);
			const res = (/** @type {any} */ r) => classicResolve(e)(r);
			const preds = parseFilter(e, param(p, 'filter'), res);
			const order = parseOrder(e, param(p, 'order'), res);
			const names = classicSelect(e, param(p, 'select'));
			const out = listRows(e, preds, order, startParam(p), 'page');
			return R(lazyClassicRows(e, out.rows, names), out.total, out.next);
		});
		def(`${prefix}.update`, 'crm', (p, ctx) => {
			const e = ent(tid);
			const id = idParam(p);
			const fields = fieldsParam(p);
			const row = store(tid).rows.get(id);
			if (!row) throw E_NOT_FOUND();
			validateMulti(fields);
			modify(e, row, fields, { userId: ctx.userId });
			return R(true);
		});
		def(`${prefix}.delete`, 'crm', (p, ctx) => {
			const e = ent(tid);
			const row = store(tid).rows.get(idParam(p));
			if (!row) throw E_NOT_FOUND();
			remove(e, row, { userId: ctx.userId });
			return R(true);
		});
	}

	// universal crm.item
	/** @param {any} p */
	function itemEntity(p) {
		const raw = own(p, 'entityTypeId');
		if (raw === undefined || raw === null || raw === '') throw engineMissing('entityTypeId');
		const e = entities.get(String(toInt(raw)));
		if (!e || (e.kind !== 'crm' && e.kind !== 'dynamic')) throw new ApiError(400, 'NOT_FOUND', 'SPA not found');
		return e;
	}
	/** @param {Entity} e @param {any} p */
	function itemRow(e, p) {
		const raw = own(p, 'id');
		if (raw === undefined || raw === null || raw === '') throw engineMissing('id');
		const row = store(e.key).rows.get(Number(toInt(raw)));
		if (!row) throw new ApiError(400, 'NOT_FOUND', 'Element not found');
		return row;
	}
	/** @param {any} p */
	const origUf = (p) => String(own(p, 'useOriginalUfNames') ?? 'N').toUpperCase() === 'Y';
	def('crm.item.fields', 'crm', (p) => R({ fields: itemFields(itemEntity(p)) }));
	def('crm.item.add', 'crm', (p, ctx) => {
		const e = itemEntity(p);
		const fields = own(p, 'fields');
		if (!isObj(fields)) throw engineMissing('fields');
		const upper = { ...itemFieldsToUpper(e, fields), ...fmToClassic(own(fields, 'fm')) };
		validateMulti(upper);
		const row = insert(e, upper, { userId: ctx.userId });
		return R({ item: outItem(e, row, null, origUf(p)) });
	});
	def('crm.item.get', 'crm', (p) => {
		const e = itemEntity(p);
		return R({ item: outItem(e, itemRow(e, p), null, origUf(p)) });
	});
	def('crm.item.list', 'crm', (p) => {
		const e = itemEntity(p);
		const res = itemResolve(e);
		const preds = parseFilter(e, own(p, 'filter'), res);
		const order = parseOrder(e, own(p, 'order'), res);
		const selList = asList(own(p, 'select')).map(String);
		const sel = new Set(selList.length ? selList.map((s) => (s === 'UF_*' || s === 'uf_*' || s === 'ufCrm*' ? 'uf*' : s)) : ['*']);
		sel.add('id');
		for (const s of selList) {
			const u = e.fieldMap.has(s) ? s : undefined;
			if (u) sel.add(/** @type {string} */ (e.camelOf.get(u)));
		}
		const out = listRows(e, preds, order, startParam(p), 'offset');
		return R({ items: out.rows.map((r) => outItem(e, r, sel, origUf(p))) }, out.total, out.next);
	});
	def('crm.item.update', 'crm', (p, ctx) => {
		const e = itemEntity(p);
		const row = itemRow(e, p);
		const fields = own(p, 'fields');
		if (!isObj(fields)) throw engineMissing('fields');
		const upper = itemFieldsToUpper(e, fields);
		const fm = own(fields, 'fm');
		if (fm !== undefined && e.multi) {
			// the fm array replaces the item's multi-fields: entries with an id are kept/updated, the rest are new
			const keep = new Set(asList(fm).map((x) => toInt(own(x, 'id'))).filter(Boolean));
			const cls = fmToClassic(fm);
			for (const x of row.fm) if (!keep.has(x.ID)) (cls[x.TYPE_ID] ??= []).push({ ID: x.ID, DELETE: 'Y' });
			Object.assign(upper, cls);
		}
		validateMulti(upper);
		modify(e, row, upper, { userId: ctx.userId });
		return R({ item: outItem(e, row, null, origUf(p)) });
	});
	def('crm.item.delete', 'crm', (p, ctx) => {
		const e = itemEntity(p);
		remove(e, itemRow(e, p), { userId: ctx.userId });
		return R([]);
	});

	// dictionaries
	/** @param {any} t */
	const typeOut = (t) => ({
		id: t.id, title: t.title, code: t.code, createdBy: 1, entityTypeId: t.entityTypeId, customSectionId: null,
		isCategoriesEnabled: 'Y', isStagesEnabled: 'Y', isBeginCloseDatesEnabled: 'Y', isClientEnabled: 'Y',
		isUseInUserfieldEnabled: 'Y', isLinkWithProductsEnabled: 'Y', isMycompanyEnabled: 'Y', isDocumentsEnabled: 'Y',
		isSourceEnabled: 'Y', isObserversEnabled: 'Y', isRecyclebinEnabled: 'Y', isAutomationEnabled: 'Y', isBizProcEnabled: 'Y',
		isSetOpenPermissions: 'Y', isPaymentsEnabled: 'N', isCountersEnabled: 'N', createdTime: t.createdTime,
		updatedTime: t.createdTime, updatedBy: 1,
	});
	def('crm.type.list', 'crm', (p) => {
		let list = [...dynTypes.values()].map(typeOut);
		const f = own(p, 'filter');
		if (isObj(f)) {
			for (const k of Object.keys(f)) {
				const key = k.replace(/^[=]/, '');
				list = list.filter((t) => String(own(t, key)) === String(f[k]));
			}
		}
		const start = Math.max(0, startParam(p));
		return R({ types: list.slice(start, start + 50) }, list.length, start + 50 < list.length ? start + 50 : undefined);
	});
	def('crm.type.get', 'crm', (p) => {
		const id = toInt(own(p, 'id'));
		const t = [...dynTypes.values()].find((x) => x.id === id);
		if (!t) throw new ApiError(400, 'NOT_FOUND', 'SPA not found');
		return R({ type: typeOut(t) });
	});
	/** @param {any} c */
	const catOut = (c) => ({ id: c.id, name: c.name, sort: c.sort, entityTypeId: c.entityTypeId, isDefault: c.isDefault ? 'Y' : 'N',
		originId: '', originatorId: '' });
	/** @param {any} p */
	function categoryType(p) {
		const raw = own(p, 'entityTypeId');
		if (raw === undefined || raw === '') throw engineMissing('entityTypeId');
		const tid = toInt(raw);
		if (tid === 2 || (tid !== null && dynTypes.has(tid))) return tid;
		if (tid === 1 || tid === 3 || tid === 4) {
			const name = tid === 1 ? 'Lead' : tid === 3 ? 'Contact' : 'Company';
			throw new ApiError(400, 'ENTITY_TYPE_NOT_SUPPORTED', `Entity type ${name} is not supported`);
		}
		throw new ApiError(400, 'NOT_FOUND', 'SPA not found');
	}
	def('crm.category.list', 'crm', (p) => {
		const tid = categoryType(p);
		const list = categories.filter((c) => c.entityTypeId === tid).map(catOut);
		return R({ categories: list }, list.length);
	});
	def('crm.category.get', 'crm', (p) => {
		const tid = categoryType(p);
		const c = categories.find((x) => x.entityTypeId === tid && x.id === toInt(own(p, 'id')));
		if (!c) throw new ApiError(400, 'NOT_FOUND', 'Element not found');
		return R({ category: catOut(c) });
	});
	def('crm.status.list', 'crm', (p) => {
		let list = statuses.slice();
		const f = param(p, 'filter');
		if (isObj(f)) {
			for (const k of Object.keys(f)) {
				const neg = k.startsWith('!');
				const key = k.replace(/^[=!]+/, '').toUpperCase();
				const vals = asList(f[k]).map(String);
				list = list.filter((s) => vals.includes(String(own(s, key))) !== neg);
			}
		}
		const ord = param(p, 'order');
		const keys = isObj(ord) ? Object.keys(ord) : ['SORT'];
		list.sort((a, b) => {
			for (const k of keys) {
				const dir = isObj(ord) && String(ord[k]).toUpperCase() === 'DESC' ? -1 : 1;
				const key = k.toUpperCase();
				const va = own(a, key);
				const vb = own(b, key);
				const na = Number(va);
				const nb = Number(vb);
				const c = Number.isFinite(na) && Number.isFinite(nb) ? na - nb : String(va).localeCompare(String(vb));
				if (c) return c * dir;
			}
			return Number(a.ID) - Number(b.ID);
		});
		const start = Math.max(0, Math.floor(startParam(p) / 50) * 50);
		return R(list.slice(start, start + 50), list.length, start + 50 < list.length ? start + 50 : undefined);
	});
	def('crm.status.entity.types', 'crm', () => {
		const seen = new Map();
		for (const s of statuses) if (!seen.has(s.ENTITY_ID)) seen.set(s.ENTITY_ID, { ID: s.ENTITY_ID, NAME: s.ENTITY_ID,
			SEMANTIC_INFO: [], ...(s.CATEGORY_ID !== null ? { CATEGORY_ID: Number(s.CATEGORY_ID) } : {}) });
		return R([...seen.values()]);
	});
	def('crm.status.entity.items', 'crm', (p) => {
		const id = String(param(p, 'entityId') ?? '');
		return R(statuses.filter((s) => s.ENTITY_ID === id).map((s) => ({ NAME: s.NAME, SORT: s.SORT, STATUS_ID: s.STATUS_ID })));
	});

	// activities and timeline comments (classic shape)
	/** @param {string} key @param {string} prefix @param {(fields: any) => void} validate */
	function simpleCrud(key, prefix, validate) {
		def(`${prefix}.fields`, 'crm', () => R(classicFields(ent(key))));
		def(`${prefix}.add`, 'crm', (p, ctx) => {
			const fields = fieldsParam(p);
			validate(fields);
			return R(insert(ent(key), fields, { userId: ctx.userId }).id);
		});
		def(`${prefix}.get`, 'crm', (p) => {
			const row = store(key).rows.get(idParam(p));
			if (!row) throw E_NOT_FOUND();
			return R(outClassic(ent(key), row, null));
		});
		def(`${prefix}.list`, 'crm', (p) => {
			const e = ent(key);
			const res = classicResolve(e);
			const sel = asList(param(p, 'select'));
			const names = sel.length && !sel.includes('*') ? ['ID', ...sel.map((x) => String(x).toUpperCase()).filter((n) => e.fieldMap.has(n))] : null;
			const out = listRows(e, parseFilter(e, param(p, 'filter'), res), parseOrder(e, param(p, 'order'), res), startParam(p), 'page');
			return R(out.rows.map((r) => outClassic(e, r, names ?? e.fields.map((f) => f.name))), out.total, out.next);
		});
		def(`${prefix}.update`, 'crm', (p, ctx) => {
			const id = idParam(p);
			const fields = fieldsParam(p);
			const row = store(key).rows.get(id);
			if (!row) throw E_NOT_FOUND();
			modify(ent(key), row, fields, { userId: ctx.userId });
			return R(key === 'comment' ? id : true);
		});
		def(`${prefix}.delete`, 'crm', (p, ctx) => {
			const row = store(key).rows.get(idParam(p));
			if (!row) throw E_NOT_FOUND();
			remove(ent(key), row, { userId: ctx.userId });
			return R(true);
		});
	}
	simpleCrud('activity', 'crm.activity', (fields) => {
		for (const k of ['OWNER_ID', 'OWNER_TYPE_ID', 'TYPE_ID']) {
			if (!toInt(own(fields, k))) throw bad(`The field ${k} is not defined or invalid.`);
		}
		const ot = toInt(own(fields, 'OWNER_TYPE_ID'));
		const owner = entities.get(String(ot));
		if (!owner || !store(owner.key).rows.has(Number(toInt(own(fields, 'OWNER_ID'))))) throw bad('Could not find owner.');
		if (asList(own(fields, 'COMMUNICATIONS')).length === 0 && [2, 4].includes(Number(toInt(own(fields, 'TYPE_ID'))))) {
			throw bad('The field COMMUNICATIONS is not defined or invalid.');
		}
	});
	simpleCrud('comment', 'crm.timeline.comment', (fields) => {
		const et = String(own(fields, 'ENTITY_TYPE') ?? '').toLowerCase();
		const map = { lead: '1', deal: '2', contact: '3', company: '4' };
		const key = own(map, et) ?? (/^dynamic_(\d+)$/.exec(et)?.[1]);
		if (!key || !entities.has(key)) throw bad('ENTITY_TYPE is not defined or invalid.');
		if (!toInt(own(fields, 'ENTITY_ID')) || !store(key).rows.has(Number(toInt(own(fields, 'ENTITY_ID'))))) {
			throw bad('ENTITY_ID is not defined or invalid.');
		}
		if (!own(fields, 'COMMENT')) throw bad('COMMENT is not defined or invalid.');
		put(fields, 'ENTITY_TYPE', et);
	});

	// tasks
	/** tasks.task.* input fields: UPPER_CASE (camelCase accepted). @param {any} fields */
	function taskFields(fields) {
		const e = ent('task');
		/** @type {Record<string, any>} */
		const out = {};
		for (const k of Object.keys(fields)) {
			const u = e.fieldMap.has(k) ? k : e.fieldMap.has(k.toUpperCase()) ? k.toUpperCase() : e.upperOf.get(k);
			if (u) put(out, u, fields[k]);
		}
		return out;
	}
	/** @param {any} p */
	const taskId = (p) => {
		const raw = own(p, 'taskId') ?? own(p, 'TASKID') ?? own(p, 'id');
		if (raw === undefined || raw === null || raw === '') throw new ApiError(400, '100', 'CTaskItem All parameters in the constructor must have real class type (internal error)');
		const id = toInt(raw);
		if (!id) throw new ApiError(400, '0', 'wrong task id');
		return id;
	};
	/** @param {any} p */
	function taskSelect(p) {
		const sel = asList(own(p, 'select')).map((x) => String(x).toUpperCase());
		if (!sel.length || sel.includes('*')) return null;
		return ['ID', ...sel.filter((n) => ent('task').fieldMap.has(n))];
	}
	def('tasks.task.add', 'task', (p, ctx) => {
		const fields = taskFields(fieldsParam(p));
		if (!fields.TITLE) throw new ApiError(400, 'ERROR_CORE', 'Task name is not specified.');
		const row = insert(ent('task'), fields, { userId: ctx.userId });
		return R({ task: outTask(row, null) });
	});
	def('tasks.task.get', 'task', (p) => {
		const row = store('task').rows.get(taskId(p));
		if (!row) return R([]);
		return R({ task: outTask(row, taskSelect(p)) });
	});
	def('tasks.task.list', 'task', (p) => {
		const e = ent('task');
		const res = (/** @type {string} */ k) => (e.fieldMap.has(k.toUpperCase()) ? k.toUpperCase() : e.upperOf.get(k));
		const defaultSel = ['ID', 'PARENT_ID', 'TITLE', 'DESCRIPTION', 'MARK', 'PRIORITY', 'MULTITASK', 'NOT_VIEWED', 'REPLICATE',
			'GROUP_ID', 'STAGE_ID', 'CREATED_BY', 'CREATED_DATE', 'RESPONSIBLE_ID', 'CHANGED_BY', 'CHANGED_DATE', 'STATUS_CHANGED_BY',
			'CLOSED_BY', 'CLOSED_DATE', 'ACTIVITY_DATE', 'DATE_START', 'DEADLINE', 'START_DATE_PLAN', 'END_DATE_PLAN', 'GUID',
			'XML_ID', 'COMMENTS_COUNT', 'TASK_CONTROL', 'ADD_IN_REPORT', 'FORKED_BY_TEMPLATE_ID', 'TIME_ESTIMATE',
			'TIME_SPENT_IN_LOGS', 'MATCH_WORK_TIME', 'FORUM_TOPIC_ID', 'FORUM_ID', 'SITE_ID', 'SUBORDINATE', 'FAVORITE',
			'STATUS', 'REAL_STATUS', 'ALLOW_CHANGE_DEADLINE', 'ALLOW_TIME_TRACKING', 'IS_MUTED', 'IS_PINNED'];
		const names = taskSelect(p) ?? defaultSel;
		const out = listRows(e, parseFilter(e, own(p, 'filter'), res), parseOrder(e, own(p, 'order'), res), startParam(p), 'page');
		return R({ tasks: out.rows.map((r) => outTask(r, names)) }, out.total, out.next);
	});
	def('tasks.task.update', 'task', (p, ctx) => {
		const id = taskId(p);
		const fields = taskFields(fieldsParam(p));
		const row = store('task').rows.get(id);
		if (!row) throw new ApiError(400, 'ERROR_CORE', 'Task not found or not accessible');
		modify(ent('task'), row, fields, { userId: ctx.userId });
		return R({ task: outTask(row, null) });
	});
	def('tasks.task.delete', 'task', (p, ctx) => {
		const row = store('task').rows.get(taskId(p));
		if (!row) throw new ApiError(400, 'ERROR_CORE', 'Task not found or not accessible');
		remove(ent('task'), row, { userId: ctx.userId });
		return R({ task: true });
	});
	def('tasks.task.getfields', 'task', () => {
		/** @type {Record<string, any>} */
		const o = {};
		for (const f of ent('task').fields) {
			o[f.name] = { title: f.title, type: f.type, ...(f.name === 'ID' ? { primary: true } : {}), ...(f.required ? { required: true } : {}),
				...(f.name === 'STATUS' ? { values: TASK_STATUS } : {}) };
		}
		return R({ fields: o });
	});

	// users and system methods
	def('user.get', 'user', (p) => {
		const e = ent('user');
		/** @type {Record<string, any>} */
		const filter = {};
		const explicit = param(p, 'filter');
		for (const k of Object.keys(p)) {
			const bare = k.replace(/^[!%@<>=]+/, '').toUpperCase();
			if (e.fieldMap.has(bare)) put(filter, k, p[k]);
		}
		if (isObj(explicit)) for (const k of Object.keys(explicit)) put(filter, k, explicit[k]);
		const res = (/** @type {string} */ k) => (e.fieldMap.has(k.toUpperCase()) ? k.toUpperCase() : undefined);
		const sortKey = param(p, 'sort');
		const dir = String(param(p, 'order') ?? 'ASC');
		const order = sortKey ? parseOrder(e, { [String(sortKey)]: dir }, res) : [];
		const out = listRows(e, parseFilter(e, filter, res), order, startParam(p), 'page');
		return R(out.rows.map(outUser), out.total, out.next);
	});
	def('user.current', null, (_p, ctx) => {
		const u = userById(ctx.userId);
		if (!u) throw SYS.ACCESS_DENIED();
		return R(outUser(u));
	});
	def('profile', null, (_p, ctx) => {
		const u = userById(ctx.userId);
		if (!u) throw SYS.ACCESS_DENIED();
		return R({ ID: String(u.id), ADMIN: !!u.f.ADMIN, NAME: u.f.NAME, LAST_NAME: u.f.LAST_NAME, PERSONAL_GENDER: '',
			TIME_ZONE: '', TIME_ZONE_OFFSET: tzMin * 60 });
	});
	def('server.time', null, () => R(iso(now())));
	def('scope', null, (p, ctx) => R(String(param(p, 'full') ?? '').match(/^(1|true|y)$/i) ? ALL_SCOPES : [...ctx.scopes]));
	def('methods', null, (p, ctx) => {
		const full = /^(1|true|y)$/i.test(String(param(p, 'full') ?? ''));
		const scope = param(p, 'scope');
		const names = [...methods.entries()].filter(([, m]) => {
			if (scope !== undefined) return m.scope === (scope === '' ? null : String(scope));
			return full || m.scope === null || ctx.scopes.has(m.scope);
		}).map(([n]) => n);
		return R(names);
	});
	def('events', null, () => R(EVENT_NAMES));
	def('app.info', null, (_p, ctx) => {
		if (ctx.auth !== 'oauth') throw SYS.WRONG_AUTH_TYPE();
		return R({ ID: 1, CODE: app.clientId, VERSION: 1, STATUS: 'L', INSTALLED: true, PAYMENT_EXPIRED: 'N', DAYS: null,
			LANGUAGE_ID: 'en', LICENSE: 'en_project', LICENSE_TYPE: 'project', LICENSE_FAMILY: 'project' });
	});
	def('crm.duplicate.findbycomm', 'crm', (p) => {
		const type = String(param(p, 'type') ?? '').toUpperCase();
		if (type !== 'EMAIL' && type !== 'PHONE') throw bad('Communication type is not defined or invalid.');
		const values = asList(param(p, 'values')).map((v) => String(v));
		if (!values.length) throw bad('Communication values is not defined.');
		if (values.length > 20) throw bad('Too many communication values.');
		const only = param(p, 'entity_type') ? String(param(p, 'entity_type')).toUpperCase() : null;
		const norm = (/** @type {string} */ v) => (type === 'PHONE' ? v.replace(/[^\d]/g, '') : v.trim().toLowerCase());
		const wanted = new Set(values.map(norm));
		/** @type {Record<string, number[]>} */
		const out = {};
		for (const [key, name] of /** @type {[string, string][]} */ ([['1', 'LEAD'], ['3', 'CONTACT'], ['4', 'COMPANY']])) {
			if (only && only !== name) continue;
			for (const id of store(key).ids) {
				const row = /** @type {Row} */ (store(key).rows.get(id));
				if (row.fm.some((x) => x.TYPE_ID === type && wanted.has(norm(x.VALUE)))) (out[name] ??= []).push(id);
			}
		}
		return R(Object.keys(out).length ? out : []);
	});

	// events (application context only)
	def('event.bind', null, (p, ctx) => {
		if (ctx.auth !== 'oauth') throw SYS.WRONG_AUTH_TYPE();
		const event = String(param(p, 'event') ?? '').toUpperCase();
		const handler = String(param(p, 'handler') ?? '');
		if (!EVENT_NAMES.includes(event)) throw new ApiError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
		if (!/^https?:\/\//i.test(handler)) throw new ApiError(400, 'ERROR_ARGUMENT', 'Handler is invalid');
		if (String(param(p, 'event_type') ?? 'online') === 'offline') throw new ApiError(400, 'ERROR_ARGUMENT', 'Offline events are not supported by the emulator');
		const authType = toInt(param(p, 'auth_type')) ?? 0;
		if (handlers.some((h) => h.event === event && h.handler === handler && h.authType === authType)) {
			throw new ApiError(400, 'ERROR_HANDLER_ALREADY_EXIST', 'Handler already binded');
		}
		handlers.push({ id: ++handlerSeq, event, handler, authType, clientId: app.clientId, offline: 0 });
		return R(true);
	}, { oauthOnly: true });
	def('event.unbind', null, (p, ctx) => {
		if (ctx.auth !== 'oauth') throw SYS.WRONG_AUTH_TYPE();
		const event = String(param(p, 'event') ?? '').toUpperCase();
		const handler = String(param(p, 'handler') ?? '');
		const authType = param(p, 'auth_type') === undefined ? null : toInt(param(p, 'auth_type')) ?? 0;
		const before = handlers.length;
		handlers = handlers.filter((h) => !(h.event === event && h.handler === handler && (authType === null || h.authType === authType)));
		return R({ count: before - handlers.length });
	}, { oauthOnly: true });
	def('event.get', null, (_p, ctx) => {
		if (ctx.auth !== 'oauth') throw SYS.WRONG_AUTH_TYPE();
		return R(handlers.map((h) => ({ event: h.event, handler: h.handler, auth_type: String(h.authType), offline: h.offline })));
	}, { oauthOnly: true });

	def('batch', null, () => R(null), { noBatch: true }); // handled in callMethod

	// ---- call pipeline --------------------------------------------------------------------------------------------
	/** @param {string} m */
	const methodScope = (m) => /** @type {MethodDef} */ (methods.get(m)).scope;

	/**
	 * Run one method (top level or inside a batch) with scope and operating-time checks.
	 * @param {string} method @param {any} params @param {Ctx} ctx
	 * @returns {{ out: MethodResult, time: any }}
	 */
	function runMethod(method, params, ctx) {
		const m = methods.get(method);
		if (!m) throw SYS.METHOD_NOT_FOUND();
		const scope = methodScope(method);
		if (scope && !ctx.scopes.has(scope)) throw SYS.insufficient_scope(ctx.auth === 'webhook' ? 'webhook' : 'oauth');
		const st = operatingState(method);
		if (st.sum > budgetSeconds) throw SYS.OPERATION_TIME_LIMIT();
		const t0 = now();
		const hr = process.hrtime.bigint();
		const out = method === 'batch' ? runBatch(params, ctx) : m.fn(params, ctx);
		const measured = Number(process.hrtime.bigint() - hr) / 1e9;
		const cost = costOf(method, params, measured);
		if (cost > 0) {
			const slot = operatingSlot(method);
			slot.list.push({ at: now(), cost });
			slot.sum += cost;
		}
		const after = operatingState(method);
		return { out, time: timeBlock(t0, measured, after) };
	}

	/** @param {number} t0 @param {number} dur seconds @param {{ sum: number, resetAt: number | null }} op */
	function timeBlock(t0, dur, op) {
		const start = t0 / 1000;
		/** @type {Record<string, any>} */
		const t = { start, finish: start + dur, duration: dur, processing: dur, date_start: iso(t0), date_finish: iso(t0 + dur * 1000) };
		if (op.resetAt !== null) t.operating_reset_at = op.resetAt;
		t.operating = op.sum;
		return t;
	}

	const REF_RE = /\$(result|result_error|result_total|result_next|result_time)\[([^\]]+)\]((?:\[[^\]]*\])*)/g;
	/**
	 * Substitute $result[key][path] references in parsed batch parameters (CRestUtil batch processing).
	 * @param {any} v @param {Record<string, any>} state
	 * @returns {any}
	 */
	function substitute(v, state) {
		if (typeof v === 'string') {
			if (v.indexOf('$result') < 0) return v;
			const whole = /^\$(result|result_error|result_total|result_next|result_time)\[([^\]]+)\]((?:\[[^\]]*\])*)$/.exec(v);
			if (whole) {
				const val = lookupRef(state, whole[1], whole[2], whole[3]);
				if (isObj(val)) return val;
			}
			return v.replace(REF_RE, (_m, kind, key, path) => {
				const val = lookupRef(state, kind, key, path);
				return val === undefined || val === null ? '' : isObj(val) ? '' : typeof val === 'boolean' ? (val ? '1' : '') : String(val);
			});
		}
		if (Array.isArray(v)) return v.map((x) => substitute(x, state));
		if (isObj(v)) {
			/** @type {Record<string, any>} */
			const o = {};
			for (const k of Object.keys(v)) put(o, k, substitute(v[k], state));
			return o;
		}
		return v;
	}
	/** @param {Record<string, any>} state @param {string} kind @param {string} key @param {string} path */
	function lookupRef(state, kind, key, path) {
		let cur = own(state[kind], key);
		for (const seg of path ? path.slice(1, -1).split('][') : []) {
			if (cur instanceof LazyRow) cur = cur.toObject();
			if (!isObj(cur)) return undefined;
			cur = own(cur, seg);
		}
		return cur instanceof LazyRow ? cur.toObject() : cur;
	}

	/** @param {any} params @param {Ctx} ctx @returns {MethodResult} */
	function runBatch(params, ctx) {
		const halt = /^(1|true|y)$/i.test(String(own(params, 'halt') ?? '0'));
		const cmd = own(params, 'cmd');
		/** @type {Record<string, any>} */
		const state = { result: {}, result_error: {}, result_total: {}, result_next: {}, result_time: {} };
		/** @type {any[]} */
		const log = ctx.batchLog ?? [];
		const entries = isObj(cmd) ? (Array.isArray(cmd) ? cmd.map((v, i) => [String(i), v]) : Object.entries(cmd)) : [];
		let n = 0;
		for (const [key, line] of entries) {
			n++;
			if (n > 50) {
				put(state.result_error, key, { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' });
				log.push({ key, restMethod: null, params: null, status: 400, error: 'ERROR_BATCH_LENGTH_EXCEEDED' });
				continue;
			}
			let methodName = '';
			let inner = {};
			if (typeof line === 'string') {
				const q = line.indexOf('?');
				methodName = (q >= 0 ? line.slice(0, q) : line).trim().toLowerCase().replace(/\.json$/, '');
				inner = parsePhpQuery(q >= 0 ? line.slice(q + 1) : '');
			} else if (isObj(line)) {
				methodName = String(own(line, 'method') ?? '').toLowerCase();
				inner = isObj(own(line, 'params')) ? own(line, 'params') : {};
			}
			inner = substitute(inner, state);
			const entry = { key, restMethod: methodName, params: inner, status: 200, error: /** @type {string | undefined} */ (undefined) };
			log.push(entry);
			try {
				const m = methods.get(methodName);
				if (m && (m.noBatch || methodName === 'batch')) throw new ApiError(400, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage');
				const { out, time } = runMethod(methodName, inner, ctx);
				put(state.result, key, out.result);
				if (out.total !== undefined) put(state.result_total, key, out.total);
				if (out.next !== undefined) put(state.result_next, key, out.next);
				put(state.result_time, key, time);
			} catch (err) {
				const e = err instanceof ApiError ? err : SYS.INTERNAL();
				if (!(err instanceof ApiError)) console.error('[bitrix24-emulator] batch command failed', err);
				entry.status = e.status;
				entry.error = e.code;
				put(state.result_error, key, { error: e.code, error_description: e.description });
				if (halt) break;
			}
		}
		/** @param {Record<string, any>} o */
		const phpArr = (o) => (Object.keys(o).length ? o : []);
		return R({
			result: phpArr(state.result), result_error: phpArr(state.result_error), result_total: phpArr(state.result_total),
			result_next: phpArr(state.result_next), result_time: phpArr(state.result_time),
		});
	}

	// ---- HTTP ------------------------------------------------------------------------------------------------
	/** @type {{ method: string, path: string, restMethod: string | null, params: any, auth: 'webhook' | 'oauth' | null, at: number,
	 *   status: number | null, error?: string, commands?: any[] }[]} */
	const requests = [];
	/** @type {http.Server | null} */
	let server = null;
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();
	let listenPort = 0;
	const baseUrl = () => `http://127.0.0.1:${listenPort}`;
	const domain = () => options.domain ?? `127.0.0.1:${listenPort}`;

	/** @param {http.IncomingMessage} req @returns {Promise<Buffer>} */
	function readBody(req) {
		return new Promise((resolve, reject) => {
			/** @type {Buffer[]} */
			const chunks = [];
			let size = 0;
			req.on('data', (c) => {
				size += c.length;
				if (size > 50 * 1024 * 1024) {
					req.destroy();
					reject(new Error('body too large'));
					return;
				}
				chunks.push(c);
			});
			req.on('end', () => resolve(Buffer.concat(chunks)));
			req.on('error', reject);
		});
	}

	/** @param {http.IncomingMessage} req @param {string} query */
	async function readParams(req, query) {
		const get = parsePhpQuery(query);
		const body = await readBody(req);
		const ctype = String(req.headers['content-type'] || '').toLowerCase();
		/** @type {any} */
		let post = {};
		if (body.length) {
			if (ctype.includes('application/json')) {
				let parsed;
				try {
					parsed = JSON.parse(body.toString('utf8'));
				} catch {
					throw new ApiError(400, 'ERROR_ARGUMENT', 'Invalid JSON in request body');
				}
				post = isObj(parsed) && !Array.isArray(parsed) ? parsed : {};
			} else if (ctype.includes('multipart/form-data')) {
				post = parseMultipart(body, ctype);
			} else {
				post = parsePhpQuery(body.toString('utf8'));
			}
		}
		return mergeParams(get, post);
	}

	/** @param {http.ServerResponse} res @param {number} status @param {any} obj @param {boolean} [xml] */
	function send(res, status, obj, xml = false) {
		const text = xml ? Buffer.from(toXml(obj)) : phpJson(obj);
		res.writeHead(status, {
			'Content-Type': xml ? 'text/xml; charset=utf-8' : 'application/json; charset=utf-8',
			'Content-Length': text.length,
		});
		res.end(text);
	}
	/** Minimal XML rendering for the `.xml` suffix. @param {any} obj */
	function toXml(obj) {
		/** @param {any} v @returns {string} */
		const enc = (v) => {
			if (v instanceof LazyRow) v = v.toObject();
			if (v === null || v === undefined) return '';
			if (isObj(v)) {
				return (Array.isArray(v) ? v.map((x, i) => [`item${i}`, x]) : Object.entries(v))
					.map(([k, x]) => {
						const tag = /^[A-Za-z_][\w.-]*$/.test(String(k)) ? String(k) : `item`;
						return `<${tag}>${enc(x)}</${tag}>`;
					})
					.join('');
			}
			return String(v === true ? 'true' : v === false ? 'false' : v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
		};
		return `<?xml version="1.0" encoding="utf-8"?><response>${enc(obj)}</response>`;
	}
	/** @param {http.ServerResponse} res @param {ApiError} e @param {boolean} [xml] */
	const sendError = (res, e, xml = false) => send(res, e.status, { error: e.code, error_description: e.description }, xml);

	/** @param {string | null} restMethod */
	function takeFault(restMethod) {
		const idx = knobs.failNext.findIndex((f) => !f.method || f.method.toLowerCase() === restMethod);
		return idx >= 0 ? knobs.failNext.splice(idx, 1)[0] : null;
	}

	/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
	async function handle(req, res) {
		const rawUrl = req.url || '/';
		const qi = rawUrl.indexOf('?');
		const pathname = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
		const query = qi >= 0 ? rawUrl.slice(qi + 1) : '';
		if (/^\/oauth\/authorize\/?$/.test(pathname)) return handleAuthorize(req, res, query);
		if (/^\/oauth\/token\/?$/.test(pathname)) return handleToken(req, res, query);
		if (!pathname.startsWith('/rest/')) {
			res.writeHead(404, { 'Content-Type': 'text/plain' });
			res.end('Not Found');
			return;
		}
		const segs = pathname.slice('/rest/'.length).split('/').filter(Boolean).map((s) => {
			try {
				return decodeURIComponent(s);
			} catch {
				return s;
			}
		});
		/** @type {'webhook' | 'oauth'} */
		let style = 'oauth';
		let hookUser = 0;
		let hookCode = '';
		let methodSeg = segs[0] ?? '';
		if (segs.length >= 2 && /^\d+$/.test(segs[0])) {
			style = 'webhook';
			hookUser = Number(segs[0]);
			hookCode = segs[1];
			methodSeg = segs[2] ?? '';
		}
		let xml = false;
		let restMethod = methodSeg.toLowerCase();
		if (restMethod.endsWith('.json')) restMethod = restMethod.slice(0, -5);
		else if (restMethod.endsWith('.xml')) {
			restMethod = restMethod.slice(0, -4);
			xml = true;
		}
		const entry = { method: req.method || 'GET', path: pathname, restMethod, params: /** @type {any} */ ({}),
			auth: /** @type {'webhook' | 'oauth' | null} */ (null), at: now(), status: /** @type {number | null} */ (null),
			error: /** @type {string | undefined} */ (undefined), commands: /** @type {any[] | undefined} */ (undefined) };
		requests.push(entry);
		/** @param {number} status @param {any} obj */
		const reply = (status, obj) => {
			entry.status = status;
			if (obj && obj.error !== undefined) entry.error = obj.error;
			send(res, status, obj, xml);
		};
		/** @param {ApiError} e */
		const fail = (e) => reply(e.status, { error: e.code, error_description: e.description });
		let params;
		try {
			params = await readParams(req, query);
		} catch (err) {
			return fail(err instanceof ApiError ? err : SYS.INTERNAL());
		}
		entry.params = params;
		if (style === 'webhook') entry.auth = 'webhook';
		else if (own(params, 'auth') !== undefined) entry.auth = 'oauth';

		if (knobs.latencyMs > 0) await new Promise((r) => setTimeout(r, knobs.latencyMs));

		const fault = takeFault(restMethod);
		if (fault) {
			switch (fault.type) {
				case 'drop':
					entry.status = 0;
					req.socket.destroy();
					return;
				case 'http500':
					return fail(SYS.INTERNAL());
				case 'rateLimit':
					return fail(SYS.QUERY_LIMIT_EXCEEDED());
				case 'timeLimit':
					return fail(SYS.OPERATION_TIME_LIMIT());
				case 'accessDenied':
					return fail(SYS.ACCESS_DENIED());
				case 'error':
					return fail(new ApiError(fault.status ?? 400, fault.error ?? 'ERROR_CORE', fault.description ?? 'Emulated error'));
				case 'expireToken': {
					const tok = accessTokens.get(String(own(params, 'auth') ?? ''));
					if (tok) tok.expiresAt = now() - 1;
					else knobs.failNext.unshift(fault); // not an OAuth request: keep it for the next one
					break;
				}
				default:
					break;
			}
		}

		try {
			/** @type {Ctx} */
			let ctx;
			if (style === 'webhook') {
				const hook = webhooks.find((w) => w.userId === hookUser && safeEqual(w.code, hookCode));
				if (!hook) throw SYS.INVALID_CREDENTIALS();
				ctx = { userId: hook.userId, auth: 'webhook', scopes: hook.scopes };
			} else {
				const token = own(params, 'auth');
				if (token === undefined || token === '' || token === null) throw SYS.NO_AUTH_FOUND();
				const tok = accessTokens.get(String(token));
				if (!tok) throw SYS.invalid_token();
				if (tok.expiresAt <= now()) throw SYS.expired_token();
				ctx = { userId: tok.userId, auth: 'oauth', scopes: new Set(tok.scope.split(',').map((x) => x.trim())), token: String(token) };
			}
			if (!bucketAdmit()) throw SYS.QUERY_LIMIT_EXCEEDED();
			if (restMethod === 'batch') {
				entry.commands = [];
				ctx.batchLog = entry.commands;
			}
			const { out, time } = runMethod(restMethod, params, ctx);
			/** @type {Record<string, any>} */
			const body = { result: out.result };
			if (out.next !== undefined) body.next = out.next;
			if (out.total !== undefined) body.total = out.total;
			body.time = time;
			reply(200, body);
		} catch (err) {
			if (err instanceof ApiError) return fail(err);
			console.error('[bitrix24-emulator] internal error', err);
			return fail(SYS.INTERNAL());
		}
	}

	/** @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {string} query */
	async function handleAuthorize(req, res, query) {
		await readBody(req).catch(() => Buffer.alloc(0));
		const p = parsePhpQuery(query);
		requests.push({ method: req.method || 'GET', path: '/oauth/authorize/', restMethod: null, params: p, auth: null, at: now(), status: null });
		const entry = requests[requests.length - 1];
		const clientId = String(own(p, 'client_id') ?? '');
		if (!clientId || clientId !== app.clientId) {
			entry.status = 400;
			res.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end('<html><body>Application not found (client_id is unknown or the application is not installed)</body></html>');
			return;
		}
		const code = rnd(16);
		authCodes.set(code, { userId: app.userId, expiresAt: now() + codeTtl, clientId, used: false });
		const state = own(p, 'state');
		const q = new URLSearchParams();
		q.set('code', code);
		if (state !== undefined) q.set('state', String(state));
		q.set('domain', domain());
		q.set('member_id', memberId);
		q.set('scope', app.scope);
		q.set('server_domain', oauthServerDomain);
		const redirect = String(own(p, 'redirect_uri') ?? '') || app.redirectUri;
		if (!redirect) {
			entry.status = 200;
			res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end(`<html><body>Authorization code: <code id="code">${code}</code><br>${q.toString()}</body></html>`);
			return;
		}
		const sep = redirect.includes('?') ? '&' : '?';
		entry.status = 302;
		res.writeHead(302, { Location: `${redirect}${sep}${q.toString()}`, 'Content-Length': 0 });
		res.end();
	}

	/** @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {string} query */
	async function handleToken(req, res, query) {
		/** @type {any} */
		let p;
		try {
			p = await readParams(req, query);
		} catch {
			p = {};
		}
		const entry = { method: req.method || 'GET', path: '/oauth/token/', restMethod: 'oauth/token', params: p,
			auth: /** @type {null} */ (null), at: now(), status: /** @type {number | null} */ (null), error: /** @type {string | undefined} */ (undefined) };
		requests.push(entry);
		/** @param {number} status @param {any} body */
		const out = (status, body) => {
			entry.status = status;
			if (body.error) entry.error = body.error;
			send(res, status, body);
		};
		const fault = knobs.failNext.findIndex((f) => f.method === 'oauth/token');
		if (fault >= 0) {
			const f = knobs.failNext.splice(fault, 1)[0];
			if (f.type === 'drop') {
				req.socket.destroy();
				return;
			}
			if (f.type === 'http500') return out(500, { error: 'server_error', error_description: 'Internal server error' });
			if (f.type === 'error') return out(f.status ?? 400, { error: f.error ?? 'invalid_grant', error_description: f.description ?? 'Invalid grant' });
		}
		const grant = String(own(p, 'grant_type') ?? '');
		const clientId = String(own(p, 'client_id') ?? '');
		const secret = String(own(p, 'client_secret') ?? '');
		if (!grant) return out(400, { error: 'invalid_request', error_description: 'The grant type was not specified in the request' });
		if (clientId !== app.clientId || !safeEqual(secret, app.clientSecret)) {
			return out(401, { error: 'invalid_client', error_description: 'Invalid client' });
		}
		if (grant === 'authorization_code') {
			const code = String(own(p, 'code') ?? '');
			const c = authCodes.get(code);
			if (!c || c.used || c.expiresAt <= now() || c.clientId !== clientId) {
				return out(400, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
			}
			c.used = true;
			return out(200, tokenResponse(c.userId, app.scope));
		}
		if (grant === 'refresh_token') {
			const rt = String(own(p, 'refresh_token') ?? '');
			const r = refreshTokens.get(rt);
			if (!r || r.used || r.expiresAt <= now() || r.clientId !== clientId) {
				return out(400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
			}
			r.used = true; // rotation: the old refresh token stops working
			return out(200, tokenResponse(r.userId, r.scope));
		}
		return out(400, { error: 'unsupported_grant_type', error_description: 'The grant type is not supported' });
	}

	// ---- test helpers -------------------------------------------------------------------------------------------
	/** @param {string | number} entity 'lead' | 'deal' | 'contact' | 'company' | 'task' | 'activity' | 'comment' | entityTypeId */
	function entityOf(entity) {
		const names = { lead: '1', deal: '2', contact: '3', company: '4', task: 'task', activity: 'activity', comment: 'comment',
			timeline_comment: 'comment', user: 'user' };
		const key = typeof entity === 'number' ? String(entity) : own(names, String(entity).toLowerCase()) ?? String(entity);
		const e = entities.get(key);
		if (!e) throw new Error(`bitrix24 emulator: unknown entity ${entity}`);
		return e;
	}
	/** Accept UPPER_CASE or crm.item camelCase names from helpers. @param {Entity} e @param {Record<string, any>} fields */
	function helperFields(e, fields) {
		/** @type {Record<string, any>} */
		const out = {};
		for (const k of Object.keys(fields ?? {})) {
			if (k === 'fm') Object.assign(out, fmToClassic(fields[k]));
			else put(out, e.fieldMap.has(k) ? k : e.upperOf.get(k) ?? k, fields[k]);
		}
		return out;
	}
	/** @param {Entity} e @param {Row} row */
	const helperOut = (e, row) => (e.kind === 'user' ? outUser(row) : outClassic(e, row, null));
	/** @param {Entity} e @param {number | string} id */
	function rowOf(e, id) {
		const row = store(e.key).rows.get(Number(id));
		if (!row) throw new Error(`bitrix24 emulator: no ${e.name} ${id}`);
		return row;
	}

	function seedUsers() {
		const e = ent('user');
		for (const u of userSeed) {
			insert(e, { ACTIVE: true, DATE_REGISTER: Date.UTC(2023, 0, 1), LAST_LOGIN: now(), TIME_ZONE: '', UF_DEPARTMENT: [1],
				USER_TYPE: 'employee', IS_ONLINE: 'N', ...u }, { userId: 1, raw: true, silent: true });
			const row = /** @type {Row} */ (store('user').rows.get(Number(u.ID)));
			if (u.ADMIN) row.f.ADMIN = true;
		}
	}

	function resetState() {
		buildEntities();
		buildDictionaries();
		stores = new Map();
		fmSeq = 0;
		handlers = [];
		handlerSeq = 0;
		outbound = [];
		accessTokens = new Map();
		refreshTokens = new Map();
		authCodes = new Map();
		operating = new Map();
		bucketLevel = 0;
		bucketAt = now();
		seedUsers();
	}
	resetState();

	const defaultHook = webhooks[0];

	return {
		/** @param {number} [port] @returns {Promise<string>} the base URL */
		start(port = options.port ?? 0) {
			return new Promise((resolve, reject) => {
				server = http.createServer((req, res) => {
					handle(req, res).catch((e) => {
						console.error('[bitrix24-emulator]', e);
						if (!res.headersSent) sendError(res, SYS.INTERNAL());
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
					listenPort = addr.port;
					resolve(baseUrl());
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
			return baseUrl();
		},
		get domain() {
			return domain();
		},
		memberId,
		/** Inbound webhook URL `{base}/rest/{userId}/{code}/` (trailing slash; append the method). @param {number} [userId] */
		webhookUrl(userId) {
			const hook = userId === undefined ? defaultHook : webhooks.find((w) => w.userId === userId);
			if (!hook) throw new Error(`bitrix24 emulator: no webhook for user ${userId}`);
			return `${baseUrl()}/rest/${hook.userId}/${hook.code}/`;
		},
		webhook: { userId: defaultHook.userId, code: defaultHook.code },
		/** The OAuth application (local app). */
		app: { clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri, scope: app.scope,
			applicationToken: app.applicationToken },
		/** Authorize / token URLs of the emulator (the real token server is https://oauth.bitrix.info/oauth/token/). */
		oauthUrls() {
			return { authorize: `${baseUrl()}/oauth/authorize/`, token: `${baseUrl()}/oauth/token/`, clientEndpoint: `${baseUrl()}/rest/` };
		},
		/** Issue a token pair directly (skips the browser step). @param {number} [userId] @param {string} [scope] */
		issueTokens(userId = app.userId, scope = app.scope) {
			return tokenResponse(userId, scope);
		},
		/** Expire every access token now (refresh tokens stay valid). */
		expireAccessTokens() {
			for (const t of accessTokens.values()) t.expiresAt = now() - 1;
		},
		/** @param {string} token */
		expireAccessToken(token) {
			const t = accessTokens.get(token);
			if (t) t.expiresAt = now() - 1;
		},
		/** Revoke one refresh token (as if already used). @param {string} token */
		revokeRefreshToken(token) {
			const t = refreshTokens.get(token);
			if (t) t.used = true;
		},
		requests,
		clearRequests() {
			requests.length = 0;
		},
		knobs,
		deliveries,
		/** Wait until every delivery started so far (and any started meanwhile) has finished. */
		async flushDeliveries() {
			while (pending.size) await Promise.all([...pending]);
		},
		clearDeliveries() {
			deliveries.length = 0;
		},
		/**
		 * Register an outbound webhook (portal UI: Developer resources → Other → Outbound webhook).
		 * @param {string} url @param {string[]} events @returns {string} its application token
		 */
		addOutboundWebhook(url, events) {
			const token = rnd(16);
			outbound.push({ id: ++handlerSeq, url, events: new Set(events.map((x) => String(x).toUpperCase())), applicationToken: token });
			return token;
		},
		/** @param {string} applicationToken */
		removeOutboundWebhook(applicationToken) {
			outbound = outbound.filter((w) => w.applicationToken !== applicationToken);
		},
		/** Handlers registered with event.bind. */
		get eventHandlers() {
			return handlers.map((h) => ({ ...h }));
		},
		/** Bind a handler as the OAuth app would (event.bind). @param {string} event @param {string} handler @param {number} [authType] */
		bindEvent(event, handler, authType = 0) {
			const ev = event.toUpperCase();
			if (!EVENT_NAMES.includes(ev)) throw new Error(`bitrix24 emulator: unknown event ${event}`);
			handlers.push({ id: ++handlerSeq, event: ev, handler, authType, clientId: app.clientId, offline: 0 });
		},
		/**
		 * Create a record (fires the ADD event). Fields in UPPER_CASE (crm.item camelCase also accepted); test helpers may
		 * set read-only fields such as DATE_CREATE / DATE_MODIFY. Returns the record in the classic shape.
		 * @param {string | number} entity @param {Record<string, any>} [fields] @param {{ userId?: number, silent?: boolean }} [opts]
		 */
		createRecord(entity, fields = {}, opts = {}) {
			const e = entityOf(entity);
			return helperOut(e, insert(e, helperFields(e, fields), { userId: opts.userId ?? 1, raw: true, silent: opts.silent }));
		},
		/** @param {string | number} entity @param {number | string} id @param {Record<string, any>} [fields] @param {{ userId?: number, silent?: boolean }} [opts] */
		updateRecord(entity, id, fields = {}, opts = {}) {
			const e = entityOf(entity);
			return helperOut(e, modify(e, rowOf(e, id), helperFields(e, fields), { userId: opts.userId ?? 1, raw: true, silent: opts.silent }));
		},
		/** @param {string | number} entity @param {number | string} id @param {{ userId?: number, silent?: boolean }} [opts] */
		deleteRecord(entity, id, opts = {}) {
			const e = entityOf(entity);
			remove(e, rowOf(e, id), { userId: opts.userId ?? 1, silent: opts.silent });
		},
		/** @param {string | number} entity @param {number | string} id */
		getRecord(entity, id) {
			const e = entityOf(entity);
			const row = store(e.key).rows.get(Number(id));
			return row ? helperOut(e, row) : undefined;
		},
		/** The record as crm.item.get would return it (CRM entities only). @param {string | number} entity @param {number | string} id */
		getItem(entity, id) {
			const e = entityOf(entity);
			const row = store(e.key).rows.get(Number(id));
			return row ? outItem(e, row, null) : undefined;
		},
		/** @param {string | number} entity */
		count(entity) {
			return store(entityOf(entity).key).ids.length;
		},
		/**
		 * Create n generated records quickly (no events); returns their ids.
		 * @param {string | number} entity
		 * @param {number} n
		 * @param {{ seed?: number, assignedById?: number, companyIds?: number[], contactIds?: number[], categoryId?: number,
		 *   dateCreate?: string | number, stepSeconds?: number, fields?: Record<string, any> }} [opts]
		 */
		seed(entity, n, opts = {}) {
			const e = entityOf(entity);
			const kind = e.kind === 'dynamic' ? 'item' : e.kind === 'crm' ? e.name : e.kind;
			const already = store(e.key).ids.length;
			const stages = e.kind === 'dynamic' ? stagesOf(e, defaultCategory(e)).map((s) => s.STATUS_ID)
				: e.key === '2' && opts.categoryId ? stagesOf(e, opts.categoryId).map((s) => s.STATUS_ID) : undefined;
			const rows = generate(kind, n, { ...opts, offset: already, stages });
			const base = opts.dateCreate !== undefined ? parseDate(opts.dateCreate) : null;
			const step = (opts.stepSeconds ?? 0) * 1000;
			const created = e.kind === 'dynamic' ? ['CREATED_TIME', 'UPDATED_TIME'] : e.kind === 'task' ? ['CREATED_DATE', 'CHANGED_DATE']
				: ['DATE_CREATE', 'DATE_MODIFY'];
			/** @type {number[]} */
			const ids = new Array(rows.length);
			for (let k = 0; k < rows.length; k++) {
				const f = { ...rows[k], ...(opts.fields || {}) };
				if (base !== null) {
					f[created[0]] = base + k * step;
					f[created[1]] = base + k * step;
				}
				ids[k] = insert(e, f, { userId: 1, raw: true, silent: true }).id;
			}
			return ids;
		},
		/** Drop all records, tokens, handlers, webhooks, logs and queued faults (options and knobs' values stay). */
		reset() {
			resetState();
			requests.length = 0;
			deliveries.length = 0;
			knobs.failNext.length = 0;
		},
		/** Status dictionaries (crm.status.list rows). */
		get statuses() {
			return statuses.map((s) => ({ ...s }));
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
		now,
		/** Current time as the portal formats it (ISO 8601 with the portal offset). */
		serverTime: () => iso(now()),
		/** Leaky-bucket level and per-method operating spend (for assertions). */
		limits() {
			const t = now();
			const level = Math.max(0, bucketLevel - Math.max(0, (t - bucketAt) / 1000) * knobs.bucket.perSecond);
			/** @type {Record<string, { operating: number, operatingResetAt: number | null }>} */
			const ops = {};
			for (const m of operating.keys()) {
				const st = operatingState(m);
				ops[m] = { operating: st.sum, operatingResetAt: st.resetAt };
			}
			return { bucketLevel: level, operating: ops };
		},
	};
}

module.exports = { createBitrix24Emulator };
