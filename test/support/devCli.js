#!/usr/bin/env node
// The CLI from its TypeScript sources (through tsx), for tests: they run on a fresh clone without a build.
// .ci/run exercises the built bin (bin/costsim-guard.js → dist/) separately.
require('tsx/cjs');
require('../../src/cli.ts');
