import { readFileSync } from 'node:fs';
import { scannerConformance } from '@modelplane/plugin-sdk';
import { describe, it } from 'vitest';
import { FormatsOptions, formatsScanner } from '../src/index.ts';

const corpus = (path: string) => readFileSync(new URL(`../corpus/${path}`, import.meta.url));

describe('the formats scanner passes the scanner conformance kit', () => {
  const fixtures = [
    { path: 'floats.npy', content: corpus('benign/floats.npy'), expect: 'clean' as const },
    { path: 'os_system_p0.pkl', content: corpus('malicious/os_system_p0.pkl'), expect: {} },
  ];
  for (const check of scannerConformance(formatsScanner(FormatsOptions.parse({})), fixtures)) it(check.name, check.run);
});
