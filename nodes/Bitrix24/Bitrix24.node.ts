import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { bitrix24Properties } from './description';
import { bitrix24Methods } from './methods';
import { executeBitrix24 } from './operations';
import { Bitrix24Client } from './transport';

export class Bitrix24 implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Bitrix24',
		name: 'bitrix24',
		icon: { light: 'file:bitrix24.svg', dark: 'file:bitrix24.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Leads, deals, contacts, companies, smart processes, activities, tasks and users in Bitrix24, with batch writes and fast Return All',
		defaults: { name: 'Bitrix24' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'bitrix24WebhookApi', required: true, displayOptions: { show: { authentication: ['webhook'] } } },
			{ name: 'bitrix24OAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		properties: bitrix24Properties,
	};

	methods = bitrix24Methods;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeBitrix24(this, await Bitrix24Client.fromContext(this));
	}
}
