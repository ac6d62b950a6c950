#!/usr/bin/env node
// Plain JavaScript so that an old Node gets a readable message instead of a syntax error. A published copy runs its
// built dist/ (Node does not strip types under node_modules); in this repository, where nothing is built, it runs
// the TypeScript source.
import { existsSync } from 'node:fs';

/* global URL */

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `modelplane needs Node.js >= 22.18; this is ${process.version}.\n` +
      'Run it through npm (npx modelplane / npm start), which uses the Node 24 the project installs.',
  );
  process.exit(1);
}
const built = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
