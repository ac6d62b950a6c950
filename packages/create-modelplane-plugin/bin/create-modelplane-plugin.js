#!/usr/bin/env node
// Plain JavaScript: a published copy runs its built dist/ (Node does not strip types under node_modules); in this
// repository, where nothing is built, it runs the TypeScript source.
import { existsSync } from 'node:fs';

/* global URL */

const built = new URL('../dist/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/main.ts', import.meta.url).href);
