import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * SalesMan CRM API v2: the user's login (e-mail) and the account's API key, sent as `login` / `apikey`
 * headers with a JSON body, so the key never goes into a URL or a log line.
 */
export class SalesManApi implements ICredentialType {
	name = 'salesManApi';

	displayName = 'SalesMan CRM API';

	icon: Icon = { light: 'file:../nodes/SalesMan/salesman.svg', dark: 'file:../nodes/SalesMan/salesman.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/salesman.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://crm.example.com',
			description: 'Address of your SalesMan CRM, without /developer/v2',
			required: true,
		},
		{
			displayName: 'Login',
			name: 'login',
			type: 'string',
			default: '',
			placeholder: 'name@email.com',
			description: "The SalesMan user's login (e-mail)",
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Settings → API key in SalesMan',
			required: true,
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { login: '={{$credentials.login}}', apikey: '={{$credentials.apiKey}}' } },
	};

	// SalesMan answers HTTP 200 also for a wrong key: the test fails on its error envelope.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}',
			url: '/developer/v2/guides',
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: { action: 'category' },
			json: true,
		},
		rules: [{ type: 'responseSuccessBody', properties: { key: 'result', value: 'Error', message: 'SalesMan refused the login or the API key' } }],
	};
}
