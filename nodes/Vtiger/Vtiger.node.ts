import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { runPerItem } from '../common/execute';
import { vtigerProperties } from './description';
import { vtigerMethods } from './methods';
import { handlers } from './operations';
import { VtigerClient } from './transport';

export class Vtiger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Vtiger CRM',
		name: 'vtiger',
		icon: { light: 'file:vtiger.svg', dark: 'file:vtiger.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Create, read, update, delete and query Vtiger CRM records (open-source webservices)',
		defaults: { name: 'Vtiger CRM' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'vtigerApi', required: true, testedBy: 'vtigerApiTest' }],
		properties: vtigerProperties,
	};

	methods = vtigerMethods;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const resource = this.getNodeParameter('resource', 0) as string;
		const operation = this.getNodeParameter('operation', 0) as string;
		const handler = handlers[`${resource}.${operation}`];
		if (!handler) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
		const client = await VtigerClient.fromContext(this);
		return await runPerItem(this, async (itemIndex) => await handler(this, client, itemIndex));
	}
}
