import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clamdInstalled, EICAR, type RunningClamd, startClamd } from '../../../test/support/clamd.ts';
import { requireService } from '../../../test/support/services.ts';
import { clamavScanner, scanStream } from '../src/index.ts';

const available = await requireService('clamd', clamdInstalled);

const target = (path: string, content: Buffer | string) => {
  const bytes = Buffer.from(content);
  return { path, size: bytes.length, open: () => Readable.from([bytes]) };
};

describe.runIf(available)('scanner-clamav against a real clamd', () => {
  let clamd: RunningClamd;
  beforeAll(async () => {
    clamd = await startClamd({ streamMaxLength: '1M' });
  }, 90_000);
  afterAll(() => clamd?.stop());

  const scanner = () => clamavScanner({ host: '127.0.0.1', port: clamd.port, timeoutMs: 10_000 });

  it('flags the EICAR test file with the signature clamd reports', async () => {
    const findings = await scanner().scan(target('weights/eicar.bin', EICAR));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'CRITICAL', file: 'weights/eicar.bin' });
    expect(findings[0]!.rule).toMatch(/^clamav:.+/);
  });

  it('passes a clean file', async () => {
    expect(await scanner().scan(target('model.onnx', Buffer.alloc(300_000, 7)))).toEqual([]);
  });

  it('finds a signature in the middle of a multi-chunk stream', async () => {
    const padding = Buffer.alloc(200_000, 1);
    const stream = Readable.from([padding, Buffer.from(clamd.marker), padding]);
    const verdict = await scanStream(stream, { address: { host: '127.0.0.1', port: clamd.port }, timeoutMs: 10_000, chunkSize: 8192 });
    expect(verdict).toEqual({ infected: true, signature: expect.stringContaining('Marker') });
  });

  it('reports a file beyond StreamMaxLength as not scanned, never as clean', async () => {
    const findings = await scanner().scan(target('huge.bin', Buffer.alloc(3 * 1024 * 1024, 3)));
    expect(findings).toEqual([expect.objectContaining({ severity: 'HIGH', rule: 'clamav-not-scanned' })]);
  });
});

describe('scanner-clamav without clamd', () => {
  it('throws a coded "unavailable" error the core maps to SKIPPED or FAILED', async () => {
    const scanner = clamavScanner({ host: '127.0.0.1', port: 9, timeoutMs: 2000 });
    await expect(scanner.scan(target('a.bin', 'x'))).rejects.toMatchObject({ code: 'MP_ERR_SCANNER_UNAVAILABLE' });
  });
});
