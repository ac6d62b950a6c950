import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FormatsOptions, formatsScanner, scanPickle } from '../src/index.ts';

const corpus = fileURLToPath(new URL('../corpus/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as Array<{ file: string; class: string; expected: 'FAILED' | 'PASSED' }>;
const scanner = formatsScanner(FormatsOptions.parse({}));

async function scan(file: string, bytes = readFileSync(join(corpus, file))) {
  return scanner.scan({ path: file.split('/').pop()!, size: bytes.length, open: () => Readable.from([bytes]) });
}

describe('scanner-formats corpus', () => {
  it('has both kinds of sample', () => {
    expect(manifest.filter((s) => s.expected === 'FAILED').length).toBeGreaterThan(30);
    expect(manifest.filter((s) => s.expected === 'PASSED').length).toBeGreaterThan(10);
  });

  for (const sample of manifest) {
    it(`${sample.expected === 'FAILED' ? 'fails' : 'passes'} ${sample.file} (${sample.class})`, async () => {
      const findings = await scan(sample.file);
      const failing = findings.filter((f) => f.severity === 'CRITICAL' || f.severity === 'HIGH');
      if (sample.expected === 'FAILED') expect(failing.length, JSON.stringify(findings)).toBeGreaterThan(0);
      else expect(failing, JSON.stringify(findings)).toEqual([]);
    });
  }
});

describe('files outside the corpus', () => {
  const repoFixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

  it('passes raw weights named .bin: TF.js weight shards and ONNX external data', async () => {
    for (const file of ['tfjs/layers/weights.bin', 'tfjs/graph/weights.bin', 'onnx/external/weights.bin']) {
      expect(await scan(file, readFileSync(join(repoFixtures, file))), file).toEqual([]);
    }
  });

  it('keeps a gadget read before a parse error, whatever the file is named', async () => {
    // pickle.loads runs os.system at REDUCE, then fails on the junk: the gadget ran.
    const bytes = Buffer.concat([Buffer.from("cos\nsystem\n(S'id'\ntR"), Buffer.from([0xff, 0xfe])]);
    for (const name of ['weights.model', 'model.pkl', 'weights.bin']) {
      expect(await scan(name, bytes), name).toContainEqual(expect.objectContaining({ severity: 'CRITICAL', rule: 'pickle-global:os.system' }));
    }
  });

  it('reads a protocol 0 pickle that follows a protocol 2 one (legacy torch.load reads pickle after pickle)', async () => {
    const magic = Buffer.from('80028a0a6cfc9c46f9206aa850192e', 'hex'); // pickle.dumps(a long int, protocol=2)
    const bytes = Buffer.concat([magic, Buffer.from("cos\nsystem\n(S'id'\ntR.")]);
    expect(await scan('legacy.pt', bytes)).toContainEqual(expect.objectContaining({ severity: 'CRITICAL', rule: 'pickle-global:os.system' }));
  });
});

describe('pickle reader', () => {
  it('resolves a module name stored in the memo (memo confusion)', () => {
    const result = scanPickle(readFileSync(join(corpus, 'malicious/memo_confusion.pkl')), 'x');
    expect(result.globals.map((g) => g.ref)).toContain('posix.system');
    expect(result.findings).toContainEqual(expect.objectContaining({ severity: 'CRITICAL', rule: 'pickle-global:posix.system' }));
  });

  it('reads every pickle of a multi-pickle file and names the opcode and offset', () => {
    const result = scanPickle(readFileSync(join(corpus, 'malicious/second_pickle.pt')), 'x');
    expect(result.findings[0]!.detail).toMatch(/STACK_GLOBAL at byte \d+/);
  });

  it('passes protocol 0 through 5 state dicts with no globals beyond the allowlist', () => {
    for (let protocol = 0; protocol <= 5; protocol++) {
      const result = scanPickle(readFileSync(join(corpus, `benign/state_dict_p${protocol}.pkl`)), 'x');
      expect(result.findings).toEqual([]);
      expect(result.globals.every((g) => g.ref === 'collections.OrderedDict')).toBe(true);
    }
  });
});
