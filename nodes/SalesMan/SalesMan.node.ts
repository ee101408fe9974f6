import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { salesManProperties } from './description';
import { salesManMethods } from './methods';
import { executeSalesMan } from './operations';
import { SalesManClient } from './transport';

export class SalesMan implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'SalesMan CRM',
		name: 'salesMan',
		icon: { light: 'file:salesman.svg', dark: 'file:salesman.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Clients, persons, deals, leads, tasks and history in SalesMan CRM (API v2)',
		defaults: { name: 'SalesMan CRM' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'salesManApi', required: true }],
		properties: salesManProperties,
	};

	methods = salesManMethods;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeSalesMan(this, await SalesManClient.fromContext(this));
	}
}
