import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clamdInstalled, EICAR, type RunningClamd, startClamd } from './support/clamd.ts';
import { pushVersion } from './support/registry-client.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { requireService } from './support/services.ts';
import { repoRoot } from './support/tmp.ts';

const available = await requireService('clamd', clamdInstalled);
const onnx = readFileSync(join(repoRoot, 'test/fixtures/onnx/ids-mlp.onnx'));
const meta = { framework: 'onnx', architecture: 'mlp', training_data_description: 'fixture', performance_metrics: { accuracy: 1 }, license: { id: 'MIT' } };

async function scanOf(server: TestServer, model: string, version: string) {
  for (let i = 0; i < 100; i++) {
    const report = (await (await server.call(`/api/v1/models/${model}/versions/${version}/scan`)).json()) as {
      status: string | null;
      findings: Array<{ scanner: string; severity: string; rule: string; file: string }>;
    };
    if (report.status !== 'SCANNING' && report.status !== null) return report;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('scan did not finish');
}

describe.runIf(available)('security scanning with a real clamd', () => {
  let clamd: RunningClamd;
  let server: TestServer;
  beforeAll(async () => {
    clamd = await startClamd();
    server = await startTestServer({
      plugins: [{ package: '@modelplane/scanner-clamav', options: { port: clamd.port } }, '@modelplane/runtime-onnx'],
    });
  }, 90_000);
  afterAll(async () => {
    await server?.close();
    await clamd?.stop();
  });

  it('marks a version with an infected file FAILED, refuses to load it, and loads it with an audited override', async () => {
    const pushed = await pushVersion(server, 'tainted', '1.0.0', { 'model.onnx': onnx, 'docs/readme.txt': EICAR }, meta);
    expect(pushed.status).toBe(201);
    expect(((await pushed.json()) as { scanStatus: string }).scanStatus).toBe('SCANNING');
    const report = await scanOf(server, 'tainted', '1.0.0');
    expect(report.status).toBe('FAILED');
    expect(report.findings).toEqual([expect.objectContaining({ scanner: 'clamav', severity: 'CRITICAL', file: 'docs/readme.txt', rule: expect.stringMatching(/^clamav:/) })]);

    const refused = await server.call('/v2/repository/models/tainted/load', { method: 'POST', json: {} });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(/failed its security scan \(CRITICAL clamav:\S+ in docs\/readme\.txt\)/);

    const override = await server.call('/v2/repository/models/tainted/load', {
      method: 'POST',
      json: { parameters: { override_scan: { reason: 'EICAR is a test string in the docs, ticket SEC-7' } } },
    });
    expect(override.status).toBe(200);
    const audit = (await (await server.call('/api/v1/audit?action=scan.override')).json()) as { entries: Array<{ actor: string; target: string; details: { reason: string } }> };
    expect(audit.entries[0]).toMatchObject({ actor: server.adminKey.split('_')[1], target: 'model:tainted@1.0.0', details: { reason: 'EICAR is a test string in the docs, ticket SEC-7' } });
  });

  it('passes a clean version, which then loads', async () => {
    await pushVersion(server, 'clean', '1.0.0', { 'model.onnx': onnx }, meta);
    expect((await scanOf(server, 'clean', '1.0.0')).status).toBe('PASSED');
    expect((await server.call('/v2/repository/models/clean/load', { method: 'POST', json: {} })).status).toBe(200);
  });

  it('rescans on demand', async () => {
    const response = await server.call('/api/v1/models/clean/versions/1.0.0/scan', { method: 'POST' });
    expect(await response.json()).toMatchObject({ version: '1.0.0', status: 'PASSED', findings: [] });
  });
});

describe('when the scanner cannot run', () => {
  it.each([
    ['skip', 'SKIPPED'],
    ['fail', 'FAILED'],
  ] as const)('onUnavailable: %s gives %s', async (onUnavailable, expected) => {
    const server = await startTestServer({
      scanning: { onUnavailable },
      plugins: [{ package: '@modelplane/scanner-clamav', options: { port: 9, timeoutMs: 2000 } }],
    });
    try {
      await pushVersion(server, 'm', '1.0.0', { 'w.bin': 'weights' }, meta);
      const report = await scanOf(server, 'm', '1.0.0');
      expect(report.status).toBe(expected);
      expect(report.findings).toEqual([expect.objectContaining({ rule: 'scanner-unavailable' })]);
    } finally {
      await server.close();
    }
  });
});

describe('scanner-formats through the API', () => {
  it('fails a malicious pickle on upload and refuses to load it, with the findings', async () => {
    const server = await startTestServer({ plugins: ['@modelplane/scanner-formats', '@modelplane/runtime-onnx'] });
    try {
      const payload = readFileSync(join(repoRoot, 'plugins/scanner-formats/corpus/malicious/torch_zip_payload.pt'));
      await pushVersion(server, 'pickled', '1.0.0', { 'model.onnx': onnx, 'extra/weights.pt': payload }, meta);
      const report = await scanOf(server, 'pickled', '1.0.0');
      expect(report.status).toBe('FAILED');
      expect(report.findings).toContainEqual(expect.objectContaining({ scanner: 'formats', severity: 'CRITICAL', rule: 'pickle-global:os.system', file: 'extra/weights.pt!archive/data.pkl' }));
      const refused = await server.call('/v2/repository/models/pickled/load', { method: 'POST', json: {} });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { error: string }).error).toContain('CRITICAL pickle-global:os.system in extra/weights.pt!archive/data.pkl');
      await pushVersion(server, 'pickled', '1.1.0', { 'model.onnx': onnx }, meta);
      expect((await scanOf(server, 'pickled', '1.1.0')).status).toBe('PASSED');
      const version = (await (await server.call('/api/v1/models/pickled/versions/1.1.0')).json()) as { scannedWith: string };
      expect(version.scannedWith).toBe('formats@0.1.0');

      // Nothing is stale: the same scanners scanned everything. --all rescans every version.
      // The body is optional: a bare POST (curl -X POST) rescans what is stale.
      const stale = (await (await server.call('/api/v1/scans', { method: 'POST' })).json()) as { scanned: unknown[] };
      expect(stale.scanned).toEqual([]);
      const all = (await (await server.call('/api/v1/scans', { method: 'POST', json: { all: true } })).json()) as { scanned: Array<{ version: string; status: string }> };
      expect(all.scanned.map((s) => `${s.version}:${s.status}`).sort()).toEqual(['1.0.0:FAILED', '1.1.0:PASSED']);
      const model = (await (await server.call('/api/v1/models/pickled/scan', { method: 'POST' })).json()) as { reports: Array<{ version: string; status: string }> };
      expect(model.reports.map((r) => `${r.version}:${r.status}`).sort()).toEqual(['1.0.0:FAILED', '1.1.0:PASSED']);
    } finally {
      await server.close();
    }
  });
});
