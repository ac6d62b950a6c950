/**
 * Detection and speed of @modelplane/scanner-formats against picklescan and modelscan (PyPI), on the corpus in
 * plugins/scanner-formats/corpus, then MB/s on a 1 GiB benign PyTorch-layout checkpoint.
 *   node bench/scan.ts        (BENCH_SCAN_MB=1024; builds the cached env of python/requirements-scan-bench.txt)
 */
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { FormatsOptions, formatsScanner } from '@modelplane/scanner-formats';
import { repoRoot, table } from './support.ts';

const venv = execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-scan-bench.txt')], { encoding: 'utf8' }).trim();
const corpus = join(repoRoot, 'plugins/scanner-formats/corpus');
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as Array<{ file: string; class: string; expected: string }>;
const scanner = formatsScanner(FormatsOptions.parse({}));

/** Exit status 1 means "found something" for both tools; 0 clean; 2/3 error or nothing they can read. */
const picklescan = (file: string) => spawnSync(join(venv, 'bin/picklescan'), ['--path', file], { encoding: 'utf8' }).status === 1;
const modelscan = (file: string) => spawnSync(join(venv, 'bin/modelscan'), ['-p', file], { encoding: 'utf8' }).status === 1;
async function ours(file: string): Promise<boolean> {
  const bytes = readFileSync(file);
  const findings = await scanner.scan({ path: file.split('/').pop()!, size: bytes.length, open: () => Readable.from([bytes]) });
  return findings.some((f) => f.severity === 'CRITICAL' || f.severity === 'HIGH');
}

const rows: Array<Record<string, string>> = [];
const counts = { picklescan: { tp: 0, fp: 0 }, modelscan: { tp: 0, fp: 0 }, modelplane: { tp: 0, fp: 0 } };
const missedByUs: string[] = [];
for (const sample of manifest) {
  const path = join(corpus, sample.file);
  const result = { picklescan: picklescan(path), modelscan: modelscan(path), modelplane: await ours(path) };
  const malicious = sample.expected === 'FAILED';
  for (const tool of ['picklescan', 'modelscan', 'modelplane'] as const) {
    if (result[tool]) counts[tool][malicious ? 'tp' : 'fp']++;
  }
  if ((result.picklescan || result.modelscan) && malicious && !result.modelplane) missedByUs.push(sample.file);
  const mark = (v: boolean) => (malicious ? (v ? 'caught' : '—') : v ? 'FALSE ALARM' : 'ok');
  rows.push({ sample: sample.file, class: sample.class, picklescan: mark(result.picklescan), modelscan: mark(result.modelscan), modelplane: mark(result.modelplane) });
}
const malicious = manifest.filter((s) => s.expected === 'FAILED').length;
const benign = manifest.length - malicious;
console.log(table(rows));
console.log(`\n${table((['picklescan', 'modelscan', 'modelplane'] as const).map((tool) => ({ scanner: tool, [`malicious caught (of ${malicious})`]: String(counts[tool].tp), [`false alarms (of ${benign})`]: String(counts[tool].fp) })))}`);
console.log(`\nsuperset check: ${missedByUs.length === 0 ? 'every sample picklescan or modelscan catches, Modelplane catches' : `MISSED by Modelplane: ${missedByUs.join(', ')}`}`);

// Throughput on a large benign checkpoint: torch.save's zip layout with one big stored tensor entry.
const megabytes = Number(process.env.BENCH_SCAN_MB ?? 1024);
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
const checkpoint = join(dir, 'big.pt');
writeFileSync(checkpoint, storedZip([
  ['archive/data.pkl', readFileSync(join(corpus, 'benign/state_dict_p2.pkl'))],
  ['archive/data/0', Buffer.alloc(megabytes * 1024 * 1024, 0x3f)],
]));
const size = statSync(checkpoint).size;
const time = (run: () => unknown) => {
  const started = performance.now();
  run();
  return (performance.now() - started) / 1000;
};
const psSeconds = time(() => picklescan(checkpoint));
const started = performance.now();
const bigFindings = await scanner.scan({ path: 'big.pt', size, open: () => Readable.from([readFileSync(checkpoint)]) });
const mpSeconds = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });
console.log(`\n${megabytes} MiB benign checkpoint (findings: ${bigFindings.length}):`);
console.log(table([
  { scanner: 'picklescan (process, reads the pickle entries only)', seconds: psSeconds.toFixed(2), 'MB/s': (size / 1e6 / psSeconds).toFixed(0) },
  { scanner: 'modelplane scanner-formats (reads and CRC-checks every entry)', seconds: mpSeconds.toFixed(2), 'MB/s': (size / 1e6 / mpSeconds).toFixed(0) },
]));

/** A zip with stored (uncompressed) entries, written directly so a 1 GiB file costs no Python. */
function storedZip(entries: Array<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBytes.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0); header.writeUInt16LE(20, 4); header.writeUInt16LE(20, 6); header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.length, 20); header.writeUInt32LE(data.length, 24); header.writeUInt16LE(nameBytes.length, 28); header.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, data);
    central.push(header, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}
