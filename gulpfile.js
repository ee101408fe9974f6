// Copies node icons next to the compiled nodes, where n8n looks for them (credentials point at the same files).
const path = require('path');
const { task, src, dest } = require('gulp');

task('build:icons', function copyIcons() {
	return src(path.resolve('nodes', '**', '*.{png,svg}'), { encoding: false }).pipe(dest(path.resolve('dist', 'nodes')));
});
