import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Vtiger CRM (open source) webservices: challenge/response login with the user's access key.
 * The login is a two-step handshake that a declarative credential cannot express, so the session is
 * obtained and renewed by nodes/Vtiger/transport.ts; the credential test (getchallenge + login) is the
 * node's `vtigerApiTest` method.
 */
export class VtigerApi implements ICredentialType {
	name = 'vtigerApi';

	displayName = 'Vtiger API';

	icon: Icon = { light: 'file:../nodes/Vtiger/vtiger.svg', dark: 'file:../nodes/Vtiger/vtiger.dark.svg' };

	documentationUrl = 'https://github.com/n8n-crm-suite/n8n-nodes-crm-suite/blob/main/docs/vtiger.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://crm.example.com',
			description: 'Address of your Vtiger installation, without /webservice.php',
			required: true,
		},
		{
			displayName: 'User Name',
			name: 'username',
			type: 'string',
			default: '',
			placeholder: 'admin',
			description: "The Vtiger user's login name",
			required: true,
		},
		// The access key is the secret of the login handshake (md5(challenge + key)); it must stay masked.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Access Key',
			name: 'accessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: "Found in Vtiger under My Preferences → User Advanced Options → Access Key (it is not the user's password)",
			required: true,
		},
	];
}
