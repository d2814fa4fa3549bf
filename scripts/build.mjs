#!/usr/bin/env node
// Builds everything committed that is derived from source, so CI can check it is not stale:
//   dist/index.js (+ package.json)  one ncc bundle of src/main.ts shared by the CLI and every action
//   dist/cli.js, dist/actions/*.js  tiny generated entry files (the CLI bin and one per action)
//   action.yml, actions/<name>/action.yml   generated from each command's one input definition
//   actions/stateful-apply/action.yml       the composite: steps from src/commands/stateful-apply.ts
//   schema/module.schema.md         generated from schema/module.schema.json
//   README.md input/output tables   between <!-- generated:NAME --> markers
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commandActionYaml, compositeActionYaml, readmeWithTables, rootActionYaml, schemaMarkdown } from './generate.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

function write(rel, text) {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

// 1. The bundle, built into a scratch directory and swapped in whole: dist/ never holds a file
// that is no longer built, and a concurrent reader never sees a half-written bundle.
const scratch = path.join(root, `.dist-build-${process.pid}`);
rmSync(scratch, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'), 'build', 'src/main.ts', '-o', scratch, '--target', 'es2022', '--quiet'], {
  cwd: root,
  stdio: 'inherit',
});
rmSync(dist, { recursive: true, force: true });
renameSync(scratch, dist);

// 2. Entry files.
write('dist/cli.js', "#!/usr/bin/env node\n// Generated: the stateguard CLI.\nimport { cliMain } from './index.js';\nawait cliMain();\n");
chmodSync(path.join(dist, 'cli.js'), 0o755);

const { COMMANDS, COMPOSITES, FAILURE_REASONS } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const names = Object.keys(COMMANDS);
for (const name of names) {
  write(`dist/actions/${name}.js`, `// Generated: entry of actions/${name}.\nimport { actionMain } from '../index.js';\nawait actionMain(${JSON.stringify(name)});\n`);
}
write('dist/actions/root.js', "// Generated: entry of the root action (input `command`).\nimport { actionMain } from '../index.js';\nawait actionMain();\n");

// 3. action.yml files, the schema reference and the README tables, from the one definition.
for (const name of names) write(`actions/${name}/action.yml`, commandActionYaml(name, COMMANDS[name]));
for (const [name, composite] of Object.entries(COMPOSITES)) write(`actions/${name}/action.yml`, compositeActionYaml(composite, COMMANDS));
write('action.yml', rootActionYaml(COMMANDS));
write('schema/module.schema.md', schemaMarkdown(JSON.parse(readFileSync(path.join(root, 'schema/module.schema.json'), 'utf8'))));
const readmePath = path.join(root, 'README.md');
if (existsSync(readmePath)) writeFileSync(readmePath, readmeWithTables(readFileSync(readmePath, 'utf8'), COMMANDS, FAILURE_REASONS, COMPOSITES));
console.log(`built dist/ (${names.length} actions + ${Object.keys(COMPOSITES).length} composite), action.yml files, schema/module.schema.md, README tables`);
