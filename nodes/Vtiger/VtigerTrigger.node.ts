import type { IDataObject, INodeExecutionData, INodeType, INodeTypeDescription, IPollFunctions } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { collect, offsetPages } from '../common/paging';
import { describeModule } from './metadata';
import { vtigerMethods } from './methods';
import { VtigerClient } from './transport';
import type { VtqlCondition } from './vtql';
import { buildSelect, VTQL_PAGE_SIZE } from './vtql';

type TriggerEvent = 'created' | 'updated' | 'createdOrUpdated';

/**
 * Where the last poll stopped: the newest timestamp emitted and the IDs emitted at exactly that second.
 * Vtiger timestamps have one-second resolution, so the boundary second is re-read every poll and records
 * already emitted in it are skipped; records changed later in the same second are still caught.
 */
interface Cursor {
	module: string;
	event: TriggerEvent;
	time: string;
	ids: string[];
}

const EPOCH = '1970-01-01 00:00:00';

const recordNumber = (id: unknown) => Number(String(id ?? '').split('x')[1] ?? 0);

export class VtigerTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Vtiger CRM Trigger',
		name: 'vtigerTrigger',
		icon: { light: 'file:vtiger.svg', dark: 'file:vtiger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["event"] + ": " + $parameter["module"]}}',
		description: 'Starts the workflow when Vtiger records are created or updated (polls; open-source Vtiger cannot push)',
		defaults: { name: 'Vtiger CRM Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'vtigerApi', required: true, testedBy: 'vtigerApiTest' }],
		properties: [
			{
				displayName: 'Module Name or ID',
				name: 'module',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getModules' },
				required: true,
				default: '',
				description:
					'The module to watch. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Event',
				name: 'event',
				type: 'options',
				options: [
					{ name: 'Record Created', value: 'created', description: 'A new record (by createdtime)' },
					{
						name: 'Record Updated',
						value: 'updated',
						description: 'An existing record was changed (by modifiedtime; new records are left out)',
					},
					{ name: 'Record Created or Updated', value: 'createdOrUpdated', description: 'Any change (by modifiedtime)' },
				],
				default: 'created',
			},
		],
	};

	methods = { loadOptions: vtigerMethods.loadOptions, credentialTest: vtigerMethods.credentialTest };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const module = this.getNodeParameter('module') as string;
		const event = this.getNodeParameter('event') as TriggerEvent;
		const client = await VtigerClient.fromContext(this);
		const described = await describeModule(client, module);
		const column = event === 'created' ? 'createdtime' : 'modifiedtime';
		const query = async (conditions: VtqlCondition[], orderBy: string, direction: 'ASC' | 'DESC', offset: number, limit: number) =>
			await client.call<IDataObject[]>('query', {
				query: buildSelect({ module: described.name, conditions, orderBy, direction, offset, limit }),
			});
		const allAt = async (time: string) =>
			await collect(
				offsetPages<IDataObject>(VTQL_PAGE_SIZE, Infinity, async ({ offset, size }) =>
					await query([{ field: column, operator: '=', value: time }], 'id', 'ASC', offset, size),
				),
			);
		const newest = async () => (await query([], column, 'DESC', 0, 1))[0];

		if (this.getMode() === 'manual') {
			const sample = await newest();
			return sample ? [this.helpers.returnJsonArray([sample])] : null;
		}

		const staticData = this.getWorkflowStaticData('node');
		let cursor = staticData.cursor as Cursor | undefined;
		if (!cursor || cursor.module !== described.name || cursor.event !== event) {
			// First poll after activation (or after the module/event changed): start from what exists now.
			const latest = await newest();
			const time = latest ? String(latest[column]) : EPOCH;
			const ids = latest ? (await allAt(time)).map((row) => String(row.id)) : [];
			staticData.cursor = { module: described.name, event, time, ids } satisfies Cursor;
			return null;
		}

		const found: IDataObject[] = [];
		// A loop, not push(...rows): one second of a mass import can hold more rows than a call's arguments.
		const add = (rows: IDataObject[]) => {
			for (const row of rows) found.push(row);
		};
		const seen = new Set(cursor.ids);
		// 1. The boundary second: records stamped with the cursor's time that were not emitted yet.
		if (cursor.time !== EPOCH) add((await allAt(cursor.time)).filter((row) => !seen.has(String(row.id))));
		// 2. Everything later, in time order. A full page may cut a second in two: finish that second
		//    by ID (a stable order) before moving past it, so records sharing a timestamp are never skipped.
		// A big backlog (a mass update, downtime) is read in parts: stop after a complete second once most of
		// the poll's time budget is spent, emit that, and leave the rest to the next poll.
		const started = Date.now();
		const budgetMs = this.getPollBudgetMs() * 0.8;
		let after = cursor.time;
		for (;;) {
			const page = await query([{ field: column, operator: '>', value: after }], column, 'ASC', 0, VTQL_PAGE_SIZE);
			if (page.length < VTQL_PAGE_SIZE) {
				add(page);
				break;
			}
			const last = String(page[page.length - 1][column]);
			add(page.filter((row) => String(row[column]) < last));
			add(await allAt(last));
			after = last;
			if (Date.now() - started > budgetMs) break;
		}

		const unique = new Map<string, IDataObject>();
		for (const row of found) unique.set(String(row.id), row);
		const changes = [...unique.values()].sort(
			(a, b) => String(a[column]).localeCompare(String(b[column])) || recordNumber(a.id) - recordNumber(b.id),
		);
		if (!changes.length) return null;

		const newestTime = String(changes[changes.length - 1][column]);
		const idsAtNewest = changes.filter((row) => String(row[column]) === newestTime).map((row) => String(row.id));
		staticData.cursor = {
			module: described.name,
			event,
			time: newestTime,
			ids: newestTime === cursor.time ? [...cursor.ids, ...idsAtNewest] : idsAtNewest,
		} satisfies Cursor;

		const emitted = event === 'updated' ? changes.filter((row) => row.createdtime !== row.modifiedtime) : changes;
		return emitted.length ? [this.helpers.returnJsonArray(emitted)] : null;
	}
}
