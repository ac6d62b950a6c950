import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errors } from '../errors.ts';

/**
 * One process at a time on a data directory: the embedded stores keep state in memory (budget spend, rollouts in
 * progress) and the artifact store clears `blobs/tmp/` when it opens, which would break another process's uploads.
 * `<dataDir>/modelplane.pid` holds the owner's pid; a file whose process is gone (a crash) is taken over.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const file = join(dataDir, 'modelplane.pid');
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new Errors.DataDirLocked(
        `data directory ${dataDir} is in use by process ${owner}; stop it first, or give this server another storage.dataDir ` +
          `(if no Modelplane runs as ${owner}, delete ${file})`,
      );
    }
    // Left by a process that is gone (or by this one): take it over.
    rmSync(file, { force: true });
  }
  return {
    release() {
      try {
        if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
