import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A fresh directory inside the repository (under .test-tmp/), so packages written there resolve the
 * workspace's own node_modules (`@modelplane/plugin-sdk`) the way an installed plugin would.
 */
export function makeTempDir(prefix: string): { dir: string; remove(): void } {
  const base = join(repoRoot, '.test-tmp');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
