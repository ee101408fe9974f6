import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * amoCRM / Kommo OAuth 2 (an external integration). Access tokens live 24 h; refresh tokens are single-use
 * and rotate: n8n core refreshes one at a time per credential, and a broken chain needs a reconnect (the
 * node says so). Prefer the long-lived token credential where you can.
 */
export class AmoCrmOAuth2Api implements ICredentialType {
	name = 'amoCrmOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'amoCRM OAuth2 API';

	icon: Icon = { light: 'file:../nodes/AmoCrm/amocrm.svg', dark: 'file:../nodes/AmoCrm/amocrm.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/amocrm.md';

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
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
			displayName: 'Custom Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			description: 'Only for a local emulator or a proxy in front of amoCRM; leave empty to use the account domain',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default:
				'={{ $self["baseUrl"] ? $self["baseUrl"].replace(/\\/+$/, "") + "/oauth" : ($self["accountDomain"].endsWith("kommo.com") ? "https://www.kommo.com/oauth" : "https://www.amocrm.ru/oauth") }}',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{ ($self["baseUrl"] ? $self["baseUrl"].replace(/\\/+$/, "") : "https://" + $self["accountDomain"]) + "/oauth2/access_token" }}',
		},
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: '' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: 'mode=popup' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
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
}
