import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * A Bitrix24 OAuth 2 application (local or Marketplace app). n8n core runs the authorization and refreshes
 * the token (one refresh at a time per credential; Bitrix24 rotates the refresh token on every refresh, so it
 * must never be used twice). Needed for the trigger's automatic event.bind.
 */
export class Bitrix24OAuth2Api implements ICredentialType {
	name = 'bitrix24OAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Bitrix24 OAuth2 API';

	icon: Icon = { light: 'file:../nodes/Bitrix24/bitrix24.svg', dark: 'file:../nodes/Bitrix24/bitrix24.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/bitrix24.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'authorizationCode',
		},
		{
			displayName: 'Portal URL',
			name: 'portalUrl',
			type: 'string',
			default: '',
			placeholder: 'https://yourcompany.bitrix24.com',
			description: 'Address of your Bitrix24 portal; API requests go only there',
			required: true,
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: '={{ $self["portalUrl"].replace(/\\/+$/, "") }}/oauth/authorize/',
		},
		{
			displayName: 'OAuth Server Token URL',
			name: 'accessTokenUrl',
			type: 'string',
			default: 'https://oauth.bitrix.info/oauth/token/',
			description: "Bitrix24's OAuth server; change it only for a self-hosted Bitrix24 box or a local emulator",
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'hidden',
			default: 'body',
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
}
