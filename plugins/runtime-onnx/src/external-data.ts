import { defineError } from '@modelplane/plugin-sdk';
import { posix } from 'node:path';

export const UnsafeExternalData = defineError('MP_ERR_UNSAFE_EXTERNAL_DATA', 422);

/** Paths onnxruntime would read are limited to plain relative paths: no root, drive, `..`, empty or NUL part. */
function unsafeReason(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return 'is absolute';
  if (path.split(/[\\/]/).includes('..')) return 'climbs out with ".."';
  return undefined;
}

/**
 * Resolves every external-data location an ONNX model names (relative to the model file, as onnxruntime does) to
 * one of the version's own files, and refuses the load otherwise — before onnxruntime opens anything (CVE-2022-25882,
 * CVE-2024-27318). Only the version's files are ever written where onnxruntime looks, as regular files, so a link
 * cannot point elsewhere either. Answers the distinct version paths the model needs besides itself.
 */
export function resolveExternalData(modelPath: string, locations: readonly string[], versionFiles: ReadonlySet<string>): string[] {
  const base = posix.dirname(modelPath);
  const needed = new Set<string>();
  for (const location of locations) {
    const unsafe = unsafeReason(location);
    if (unsafe) {
      throw new UnsafeExternalData(`${modelPath}: external data location ${JSON.stringify(location)} ${unsafe}; it must name a file of this version, so the model is refused`, {
        details: { modelFile: modelPath, location },
      });
    }
    const resolved = posix.normalize(posix.join(base, location));
    if (!versionFiles.has(resolved)) {
      throw new UnsafeExternalData(`${modelPath}: external data location ${JSON.stringify(location)} is not one of this version's files; upload it with the model`, {
        details: { modelFile: modelPath, location, files: [...versionFiles] },
      });
    }
    if (resolved !== modelPath) needed.add(resolved);
  }
  return [...needed];
}

/** A manifest path that is safe to recreate under a private folder. */
export function assertSafeFilePath(path: string): void {
  const unsafe = unsafeReason(path);
  if (unsafe) throw new UnsafeExternalData(`file path ${JSON.stringify(path)} ${unsafe}; refusing to write it`);
}
