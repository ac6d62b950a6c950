#!/usr/bin/env node
// Plain JavaScript so that an old Node gets a readable message instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `modelplane needs Node.js >= 22.18 (it runs TypeScript sources directly); this is ${process.version}.\n` +
      'Run it through npm (npx modelplane / npm start), which uses the Node 24 the project installs.',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
