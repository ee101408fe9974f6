import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IDataObject,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodePropertyOptions,
	ResourceMapperField,
	ResourceMapperFields,
	FieldType,
} from 'n8n-workflow';
import { sendWithCredentialTest } from '../common/http';
import type { VtigerField } from './metadata';
import { describeModule } from './metadata';
import { VtigerClient, vtigerCredentials } from './transport';

/** Pickers and the resource mapper, loaded live from the CRM, and the credential test. */

const RESOURCE_MAPPER_TYPES: Record<string, FieldType> = {
	boolean: 'boolean',
	integer: 'number',
	double: 'number',
	currency: 'number',
	picklist: 'options',
	date: 'string',
	datetime: 'string',
};

function mapperField(field: VtigerField, mode: 'create' | 'update'): ResourceMapperField {
	const type = RESOURCE_MAPPER_TYPES[field.type.name] ?? 'string';
	const refersTo = field.type.refersTo?.length ? ` → ${field.type.refersTo.join('/')} ID like 11x123` : '';
	const hint = field.type.name === 'owner' ? ' → user ID like 19x1' : field.type.name === 'date' ? ' (YYYY-MM-DD)' : refersTo;
	return {
		id: field.name,
		displayName: `${field.label}${hint}`,
		required: mode === 'create' && field.mandatory && field.name !== 'assigned_user_id',
		defaultMatch: false,
		canBeUsedToMatch: false,
		display: true,
		type,
		options: type === 'options' ? (field.type.picklistValues ?? []).map((option) => ({ name: option.label, value: option.value })) : undefined,
	};
}

async function mapperFields(ctx: ILoadOptionsFunctions, mode: 'create' | 'update'): Promise<ResourceMapperFields> {
	const module = ctx.getNodeParameter('module', '') as string;
	if (!module) return { fields: [] };
	const described = await describeModule(await VtigerClient.fromContext(ctx), module);
	return { fields: described.fields.filter((field) => field.editable).map((field) => mapperField(field, mode)) };
}

export const vtigerMethods = {
	loadOptions: {
		async getModules(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const client = await VtigerClient.fromContext(this);
			const { types = [], information = {} } = await client.call<{ types?: string[]; information?: Record<string, IDataObject> }>('listtypes');
			return types
				.filter((name) => information[name]?.isEntity !== false)
				.map((name) => ({ name: `${String(information[name]?.label ?? name)} (${name})`, value: name }))
				.sort((a, b) => a.name.localeCompare(b.name));
		},

		async getFieldNames(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const module = this.getNodeParameter('module', '') as string;
			if (!module) return [];
			const described = await describeModule(await VtigerClient.fromContext(this), module);
			return described.fields.map((field) => ({ name: `${field.label} (${field.name})`, value: field.name }));
		},
	},

	resourceMapping: {
		async getCreateFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
			return await mapperFields(this, 'create');
		},
		async getUpdateFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
			return await mapperFields(this, 'update');
		},
	},

	credentialTest: {
		/** A real getchallenge + login, never a cached session. */
		async vtigerApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
			try {
				const credentials = vtigerCredentials(credential.data ?? {});
				const client = new VtigerClient(sendWithCredentialTest(this), credentials, {
					id: 'credential-test',
					name: 'Vtiger credential test',
					type: 'vtiger',
					typeVersion: 1,
					position: [0, 0],
					parameters: {},
				});
				const session = await client.login();
				return { status: 'OK', message: `Logged in as user ${session.userId}` };
			} catch (error) {
				return { status: 'Error', message: (error as Error).message };
			}
		},
	},
};
