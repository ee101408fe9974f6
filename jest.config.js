// Projects: `unit` (fast, in-process: common layer, emulator-backed node runs through n8n's engine),
// `e2e` (a real n8n server with the packed package installed), `queue` (n8n in queue mode: main + 2 workers) and
// `real` (the real Vtiger 8 and SalesMan servers of ../shared/real-crm, started by scripts/test-real.sh).
// Type-checking is done once by `npm run typecheck`; ts-jest only transpiles (fast).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
module.exports = {
	projects: [
		{
			displayName: 'unit',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/**/*.test.ts'],
			testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/e2e-queue/', '<rootDir>/test/real/'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
		{
			displayName: 'e2e',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
		{
			// n8n in queue mode: main + 2 workers, Redis and Postgres from scripts/queue-services.sh (`npm run test:queue`).
			displayName: 'queue',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/e2e-queue/**/*.e2e.test.ts'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
		{
			// The real CRMs (`npm run test:real`): the in-process node runs and a real n8n, against real servers.
			displayName: 'real',
			testEnvironment: 'node',
			transform: { '^.+\\.ts$': tsJest },
			testMatch: ['<rootDir>/test/real/**/*.real.test.ts'],
			setupFiles: ['<rootDir>/test/harness/env.js'],
		},
	],
};
