import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ping } from '@modelplane/scanner-clamav';
import type { ServiceCheck } from './services.ts';
import { makeTempDir } from './tmp.ts';

const CLAMD = ['/usr/sbin/clamd', '/usr/bin/clamd'].find((path) => existsSync(path));

/** The EICAR test file: every antivirus must flag it; harmless by design. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export function clamdInstalled(): ServiceCheck {
  return CLAMD
    ? { available: true }
    : { available: false, reason: 'clamd is not installed (Debian: apt-get install clamav-daemon)' };
}

/**
 * freshclam cannot download signatures here, so tests build their own database: an extended (.ndb) body
 * signature for EICAR and one for a marker string, both named by us.
 */
export function writeSignatureDatabase(dir: string): { marker: string } {
  const marker = 'MODELPLANE-CLAMAV-TEST-MARKER-7d1f0c';
  const hex = (text: string) => Buffer.from(text).toString('hex');
  writeFileSync(
    join(dir, 'modelplane-test.ndb'),
    [`Modelplane.Test.Eicar:0:*:${hex(EICAR)}`, `Modelplane.Test.Marker:0:*:${hex(marker)}`].join('\n') + '\n',
  );
  return { marker };
}

export interface RunningClamd {
  port: number;
  marker: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts a private clamd on a loopback port with the test signature database; stops it on `stop()`. */
export async function startClamd(options: { streamMaxLength?: string } = {}): Promise<RunningClamd> {
  if (!CLAMD) throw new Error('clamd is not installed');
  const tmp = makeTempDir('clamd');
  const { marker } = writeSignatureDatabase(tmp.dir);
  const port = await freePort();
  const config = join(tmp.dir, 'clamd.conf');
  writeFileSync(
    config,
    [
      `DatabaseDirectory ${tmp.dir}`,
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      'Foreground yes',
      `StreamMaxLength ${options.streamMaxLength ?? '25M'}`,
      `LogFile ${join(tmp.dir, 'clamd.log')}`,
      'LogTime yes',
    ].join('\n') + '\n',
  );
  const check = spawnSync(CLAMD, ['--config-file', config, '--version']);
  if (check.status !== 0) throw new Error(`clamd --version failed: ${check.stderr}`);
  const child: ChildProcess = spawn(CLAMD, ['--config-file', config], { stdio: 'ignore' });
  const address = { address: { host: '127.0.0.1', port }, timeoutMs: 2000 };
  const deadline = Date.now() + 60_000;
  while (!(await ping(address))) {
    if (child.exitCode !== null) throw new Error(`clamd exited with ${child.exitCode}; see ${join(tmp.dir, 'clamd.log')}`);
    if (Date.now() > deadline) throw new Error('clamd did not answer PING within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    marker,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      tmp.remove();
    },
  };
}
