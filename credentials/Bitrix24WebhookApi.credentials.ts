import type { ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * A Bitrix24 inbound webhook (Developer resources → Other → Inbound webhook): its URL carries the user and a
 * secret code, and is the whole credential. nodes/Bitrix24/transport.ts validates its shape and sends
 * requests only under it.
 */
export class Bitrix24WebhookApi implements ICredentialType {
	name = 'bitrix24WebhookApi';

	displayName = 'Bitrix24 Webhook API';

	icon: Icon = { light: 'file:../nodes/Bitrix24/bitrix24.svg', dark: 'file:../nodes/Bitrix24/bitrix24.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/bitrix24.md';

	properties: INodeProperties[] = [
		// The URL carries the webhook's secret code: it must stay masked.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Webhook URL',
			name: 'webhookUrl',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'https://yourcompany.bitrix24.com/rest/1/abc123def456ghi7/',
			description:
				'The inbound webhook URL the portal shows (https://portal/rest/{user ID}/{code}/). The code in it is a secret.',
			required: true,
		},
		{
			displayName: 'Plan',
			name: 'plan',
			type: 'options',
			options: [
				{ name: 'Standard (2 Requests/s, Burst 50)', value: 'standard' },
				{ name: 'Enterprise (5 Requests/s, Burst 250)', value: 'enterprise' },
			],
			default: 'standard',
			description: "The portal's REST rate limit; the nodes stay under it, shared across all workflows in this n8n",
		},
		{
			displayName: 'n8n Processes Sharing This Account',
			name: 'processes',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1,
			description:
				'In queue mode, the number of n8n workers (and mains) that call this account: each keeps to its share of the rate limit, so together they stay under it',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.webhookUrl.replace(/\\/+$/, "") }}',
			url: '/profile.json',
			method: 'GET',
		},
	};
}
