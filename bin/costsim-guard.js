#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so there is no separate build step to forget.
require('tsx/cjs');
require('../src/cli.ts');
