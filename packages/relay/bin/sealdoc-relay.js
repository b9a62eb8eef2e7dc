#!/usr/bin/env node
// The command's entry: a file that exists before the TypeScript is built, so that npm links
// it on a fresh clone's first install (the root's `prepare` then builds dist/).
import '../dist/cli.js';
