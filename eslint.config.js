// Lint with the design card's eslint-plugin-n8n-nodes-base (community, credentials and nodes rule sets)
// and, alongside it, n8n's newer verification rules (@n8n/eslint-plugin-community-nodes, Cloud-compatible
// `recommended` set), so the package would pass n8n's community-node verification.
const tsParser = require('@typescript-eslint/parser');
const n8nNodesBase = require('eslint-plugin-n8n-nodes-base');
const { n8nCommunityNodesPlugin } = require('@n8n/eslint-plugin-community-nodes');

const tsFiles = { languageOptions: { parser: tsParser, parserOptions: { sourceType: 'module' } } };

module.exports = [
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'scripts/**', '*.js', '.sandbox/**'] },
	{
		files: ['package.json'],
		languageOptions: { parser: tsParser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: n8nNodesBase.configs.community.rules,
	},
	{
		files: ['credentials/**/*.ts'],
		...tsFiles,
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// "Only applicable to nodes in the main repository" (the rule's own docs): a community credential
			// must link a full documentation URL, which n8n's verification rule requires.
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		...tsFiles,
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			// These two want inputs/outputs as the literal 'main'; n8n's newer verification rule
			// (node-connection-type-literal) wants NodeConnectionTypes.Main. The two conflict: the newer one wins.
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		...tsFiles,
		...n8nCommunityNodesPlugin.configs.recommended,
		languageOptions: tsFiles.languageOptions,
	},
];
