#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, also run by `npm install` through the `prepare` script).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli.js');
if (!existsSync(entry)) {
  process.stderr.write(`costsim-guard is not built (${entry} is missing): run \`npm run build\` first\n`);
  process.exit(1);
}
require(entry);
