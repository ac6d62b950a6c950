import { posix } from 'node:path';
import type { ManifestFile } from '@modelplane/plugin-sdk';
import semver from 'semver';
import { Errors } from '../errors.ts';

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const ALIAS = /^[a-z][a-z0-9._-]{0,63}$/;

export function assertModelName(name: string): void {
  if (!MODEL_NAME.test(name)) {
    throw new Errors.InvalidName(
      `model name "${name}" is invalid: use 1–128 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}

export function assertAlias(alias: string): void {
  if (!ALIAS.test(alias) || semver.valid(alias)) {
    throw new Errors.InvalidName(
      `alias "${alias}" is invalid: use 1–64 lowercase letters, digits, ".", "_" or "-", starting with a letter (and not a version number)`,
    );
  }
}

/** Normalises a version to register to the canonical form (`v1.2.3` → `1.2.3`) or throws a 400 naming the input. */
export function canonicalVersion(version: string): string {
  const parsed = semver.parse(version);
  if (!parsed) {
    throw new Errors.InvalidVersion(`"${version}" is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.4.0 or 2.0.0-rc.1)`);
  }
  // Semver ignores build metadata when comparing, so 1.2.0+b.5 and 1.2.0+b.6 would be one version: refused rather
  // than silently dropped.
  if (parsed.build.length > 0) {
    throw new Errors.InvalidVersion(
      `"${version}": build metadata (+${parsed.build.join('.')}) does not make a distinct version; use a prerelease such as ${parsed.version}-${parsed.build.join('.')} or a new patch number`,
    );
  }
  return parsed.version;
}

/**
 * Manifest paths are relative POSIX paths inside the version: no `..`, no absolute paths, no backslashes, no
 * empty segments, no duplicates. Every problem is reported at once.
 */
/** `allowEmpty`: an LLM version points at a provider's model and may have no files of its own. */
export function checkManifestFiles(files: readonly ManifestFile[], options: { allowEmpty?: boolean } = {}): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (files.length === 0 && !options.allowEmpty) problems.push('files: a version needs at least one file (only a version with metadata.llm may have none)');
  files.forEach((file, i) => {
    const where = `files[${i}].path`;
    const path = file.path;
    if (path.includes('\\')) problems.push(`${where}: "${path}" contains a backslash; use "/"`);
    else if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) problems.push(`${where}: "${path}" is absolute; paths are relative to the version`);
    else if (path.split('/').some((segment) => segment === '..')) problems.push(`${where}: "${path}" leaves the version ("..")`);
    else if (path.split('/').some((segment) => segment === '' || segment === '.')) problems.push(`${where}: "${path}" has an empty or "." segment`);
    else if (posix.normalize(path) !== path) problems.push(`${where}: "${path}" is not normalised`);
    else if (path.includes('\0')) problems.push(`${where}: contains a NUL byte`);
    if (seen.has(path)) problems.push(`${where}: "${path}" is listed twice`);
    seen.add(path);
  });
  // "a" and "a/b" cannot both be files: no runtime could lay the version out on disk.
  files.forEach((file, i) => {
    const segments = file.path.split('/');
    const folder = segments.slice(0, -1).map((_, n) => segments.slice(0, n + 1).join('/')).find((prefix) => seen.has(prefix));
    if (folder !== undefined) problems.push(`files[${i}].path: "${file.path}" is inside "${folder}", which is listed as a file`);
  });
  if (problems.length > 0) {
    throw new Errors.InvalidManifest(`invalid manifest: ${problems.join('; ')}`, { details: problems });
  }
}
