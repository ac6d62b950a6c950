import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';

export interface LocalFile {
  path: string;
  absolute: string;
  size: number;
}

/** Every regular file under `root` (or `root` itself), with POSIX paths relative to it; dot-directories are skipped. */
export async function collectFiles(root: string): Promise<LocalFile[]> {
  const info = await stat(root);
  if (info.isFile()) return [{ path: basename(root), absolute: root, size: info.size }];
  const files: LocalFile[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const absolute = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) await walk(absolute);
      } else if (entry.isFile()) {
        files.push({ path: relative(root, absolute).split(sep).join('/'), absolute, size: (await stat(absolute)).size });
      }
    }
  };
  await walk(root);
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

