import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * amoCRM / Kommo long-lived token (a private integration's "долгосрочный токен"): a Bearer token valid up
 * to 5 years. The recommended credential: it has no refresh chain that could break.
 */
export class AmoCrmApi implements ICredentialType {
	name = 'amoCrmApi';

	displayName = 'amoCRM (Long-Lived Token) API';

	icon: Icon = { light: 'file:../nodes/AmoCrm/amocrm.svg', dark: 'file:../nodes/AmoCrm/amocrm.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/amocrm.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Account Domain',
			name: 'accountDomain',
			type: 'string',
			default: '',
			placeholder: 'yourcompany.amocrm.ru',
			description: 'Your account address: {subdomain}.amocrm.ru, {subdomain}.amocrm.com or {subdomain}.kommo.com',
			required: true,
		},
		{
			displayName: 'Long-Lived Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Settings → Integrations → your private integration → Keys and scopes → Long-lived token',
			required: true,
		},
		{
			displayName: 'Custom Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'http://127.0.0.1:8092',
			description: 'Only for a local emulator or a proxy in front of amoCRM; leave empty to use the account domain',
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

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl ? $credentials.baseUrl.replace(/\\/+$/, "") : "https://" + $credentials.accountDomain }}',
			url: '/api/v4/account',
		},
	};
}
