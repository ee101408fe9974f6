// Two projects: `unit` (fast, in-process: common layer, emulator-backed node runs through n8n's engine)
// and `e2e` (a real n8n server with the packed package installed).
// Type-checking is done once by `npm run typecheck`; ts-jest only transpiles (fast).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
module.exports = {
	projects: [
		{
			displayName: 'unit',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/**/*.test.ts'],
			testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
		{
			displayName: 'e2e',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
	],
};
