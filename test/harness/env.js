// n8n's node contexts write settings into the user folder and report every node error with a stack:
// keep both out of the developer's home and out of the test output.
const os = require('os');
const path = require('path');
const fs = require('fs');
if (!process.env.N8N_USER_FOLDER) {
	const dir = path.join(os.tmpdir(), `n8n-crm-suite-test-${process.pid}`);
	fs.mkdirSync(dir, { recursive: true });
	process.env.N8N_USER_FOLDER = dir;
}
process.env.N8N_LOG_LEVEL = process.env.N8N_LOG_LEVEL || 'silent';
