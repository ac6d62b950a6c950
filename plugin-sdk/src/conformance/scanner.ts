/**
 * The scanner conformance kit: checks any scanner plugin against the scanner contract, from any test runner
 * (`for (const check of scannerConformance(scanner, fixtures)) it(check.name, check.run)`).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Finding, ScannerPlugin, ScanTarget, Severity } from '../scanner.ts';
import type { ConformanceCheck } from './runtime.ts';

export interface ScannerFixture {
  /** The file's path in the version, e.g. `model.pkl`; scanners may look at the extension. */
  path: string;
  content: Uint8Array | string;
  /** `clean`: no findings; otherwise the scanner must report at least one finding, with each listed rule among them. */
  expect: 'clean' | { rules?: string[] };
}

const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];

/** A scan target over bytes in memory, counting how often the scanner opened it. */
export function scanTargetFromBytes(path: string, content: Uint8Array | string): ScanTarget & { opened: number } {
  const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  const target = {
    path,
    size: bytes.length,
    opened: 0,
    open: () => {
      target.opened++;
      return Readable.from([bytes]);
    },
  };
  return target;
}

function checkFindings(findings: unknown, path: string): Finding[] {
  ok(Array.isArray(findings), `scan must resolve to an array of findings, got ${typeof findings}`);
  for (const finding of findings as Finding[]) {
    ok(SEVERITIES.includes(finding.severity), `severity must be one of ${SEVERITIES.join(', ')}, got ${String(finding.severity)}`);
    strictEqual(finding.file, path, 'a finding names the file it was found in');
    ok(typeof finding.rule === 'string' && finding.rule.length > 0, 'a finding needs a rule id');
    ok(typeof finding.detail === 'string' && finding.detail.length > 0, `finding ${finding.rule} needs a detail saying what was found`);
  }
  return findings as Finding[];
}

const byRule = (findings: Finding[]) => [...findings].sort((a, b) => `${a.rule}${a.detail}`.localeCompare(`${b.rule}${b.detail}`));

export function scannerConformance(scanner: ScannerPlugin, fixtures: readonly ScannerFixture[]): ConformanceCheck[] {
  const scan = async (fixture: Pick<ScannerFixture, 'path' | 'content'>) => {
    const target = scanTargetFromBytes(fixture.path, fixture.content);
    const findings = checkFindings(await scanner.scan(target), fixture.path);
    return { findings, target };
  };
  const checks: ConformanceCheck[] = [
    {
      name: 'declares an id and a version',
      run: async () => {
        ok(typeof scanner.id === 'string' && scanner.id.length > 0, 'id must be a non-empty string');
        // The core rescans versions whose scanners changed version, so it must be set.
        ok(typeof scanner.version === 'string' && scanner.version.length > 0, 'version must be a non-empty string');
        strictEqual(typeof scanner.scan, 'function', 'scan must be a function');
      },
    },
    {
      name: 'scans an empty file without throwing',
      run: async () => {
        await scan({ path: 'empty.bin', content: new Uint8Array(0) });
      },
    },
    {
      name: 'needs at least one clean and one flagged fixture',
      run: async () => {
        ok(fixtures.some((f) => f.expect === 'clean'), 'give a clean fixture, so a scanner that flags everything fails');
        ok(fixtures.some((f) => f.expect !== 'clean'), 'give a flagged fixture, so a scanner that flags nothing fails');
      },
    },
  ];
  for (const fixture of fixtures) {
    checks.push(
      {
        name: `${fixture.path}: ${fixture.expect === 'clean' ? 'reports no findings' : 'reports the expected findings'}, well-formed`,
        run: async () => {
          const { findings, target } = await scan(fixture);
          ok(target.opened <= 1, `the scanner opened the file ${target.opened} times; read it once (files can be gigabytes)`);
          if (fixture.expect === 'clean') {
            deepStrictEqual(findings, [], `a clean file got findings: ${findings.map((f) => f.rule).join(', ')}`);
            return;
          }
          ok(findings.length > 0, 'a flagged file got no findings');
          for (const rule of fixture.expect.rules ?? []) {
            ok(findings.some((f) => f.rule === rule), `expected a finding with rule "${rule}", got: ${findings.map((f) => f.rule).join(', ')}`);
          }
        },
      },
      {
        name: `${fixture.path}: gives the same findings every time, also when scans run at once`,
        run: async () => {
          const first = byRule((await scan(fixture)).findings);
          const concurrent = await Promise.all(Array.from({ length: 4 }, () => scan(fixture)));
          for (const { findings } of concurrent) deepStrictEqual(byRule(findings), first);
        },
      },
    );
  }
  return checks;
}
