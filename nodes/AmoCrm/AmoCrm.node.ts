import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { amoCrmProperties } from './description';
import { amoCrmMethods } from './methods';
import { executeAmoCrm } from './operations';
import { AmoCrmClient } from './transport';

export class AmoCrm implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'amoCRM / Kommo',
		name: 'amoCrm',
		icon: { light: 'file:amocrm.svg', dark: 'file:amocrm.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Leads, contacts, companies, tasks, notes and more in amoCRM / Kommo, with bulk writes and typed custom fields',
		defaults: { name: 'amoCRM' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'amoCrmApi', required: true, displayOptions: { show: { authentication: ['longLivedToken'] } } },
			{ name: 'amoCrmOAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		properties: amoCrmProperties,
	};

	methods = amoCrmMethods;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeAmoCrm(this, await AmoCrmClient.fromContext(this));
	}
}
