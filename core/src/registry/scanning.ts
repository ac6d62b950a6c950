import type { ScanStatus, StoredFinding, VersionRecord } from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import type { Contributions } from '../kernel/contributions.ts';
import type { Registry } from './registry.ts';

export interface ScanPolicy {
  /** Severities that make a version FAILED. */
  failOn: ReadonlyArray<StoredFinding['severity']>;
  /** A scanner that cannot run (e.g. clamd down): `skip` → SKIPPED unless something else failed; `fail` → FAILED. */
  onUnavailable: 'skip' | 'fail';
}

export interface ScanResult {
  status: ScanStatus;
  findings: StoredFinding[];
}

const UNAVAILABLE = 'MP_ERR_SCANNER_UNAVAILABLE';

/**
 * Runs every registered scanner over every file of a version, stores the findings and the status, and audits the
 * outcome. A scanner that throws is a HIGH finding, never a silent pass.
 */
export class Scanning {
  readonly #deps: { registry: Registry; contributions: Contributions; policy: ScanPolicy; logger: Logger };
  readonly #running = new Map<string, Promise<ScanResult>>();

  constructor(deps: { registry: Registry; contributions: Contributions; policy: ScanPolicy; logger: Logger }) {
    this.#deps = deps;
  }

  /** Scans once per version at a time: concurrent callers share the run in progress. */
  scan(version: VersionRecord, actor: string): Promise<ScanResult> {
    const key = `${version.model}@${version.version}`;
    const running = this.#running.get(key);
    if (running) return running;
    const run = this.#scan(version, actor).finally(() => this.#running.delete(key));
    this.#running.set(key, run);
    return run;
  }

  async #scan(version: VersionRecord, actor: string): Promise<ScanResult> {
    const { registry, contributions, policy } = this.#deps;
    const scanners = contributions.scanner.list().map((c) => c.contribution);
    await registry.metadata.updateVersion(version.model, version.version, { scanStatus: 'SCANNING' });
    const findings: StoredFinding[] = [];
    let unavailable = false;
    for (const scanner of scanners) {
      for (const file of version.files) {
        const scannedAt = new Date().toISOString();
        try {
          const found = await scanner.scan({ path: file.path, size: file.size, open: () => registry.artifacts.open(file.digest) });
          findings.push(...found.map((f) => ({ ...f, scanner: scanner.id, scannerVersion: scanner.version, scannedAt })));
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === UNAVAILABLE) unavailable = true;
          findings.push({
            scanner: scanner.id,
            scannerVersion: scanner.version,
            severity: code === UNAVAILABLE && policy.onUnavailable === 'skip' ? 'LOW' : 'HIGH',
            file: file.path,
            rule: code === UNAVAILABLE ? 'scanner-unavailable' : 'scanner-error',
            detail: (error as Error).message,
            scannedAt,
          });
        }
      }
    }
    const failed = findings.some((f) => policy.failOn.includes(f.severity));
    const status: ScanStatus = failed ? 'FAILED' : scanners.length === 0 || unavailable ? 'SKIPPED' : 'PASSED';
    await registry.metadata.transaction(async () => {
      await registry.metadata.replaceFindings(version.model, version.version, findings);
      await registry.metadata.updateVersion(version.model, version.version, { scanStatus: status, scannedWith: this.scannerSet() });
      await registry.metadata.appendAudit({
        actor,
        action: 'version.scan',
        target: `model:${version.model}@${version.version}`,
        details: { status, scanners: scanners.map((s) => `${s.id}@${s.version}`), findings: findings.length },
      });
    });
    this.#deps.logger.info({ model: version.model, version: version.version, status, findings: findings.length }, 'scan finished');
    return { status, findings };
  }

  /** The installed scanners as stored in `scannedWith`. */
  scannerSet(): string {
    return this.#deps.contributions.scanner
      .list()
      .map((c) => `${c.contribution.id}@${c.contribution.version}`)
      .sort()
      .join(',');
  }

  /**
   * Rescans every version that is not retired — all of them, or only those last scanned by other scanners
   * (a scanner was added, removed or upgraded).
   */
  async rescan(options: { all: boolean }, actor: string): Promise<Array<{ model: string; version: string; status: ScanStatus }>> {
    const { registry } = this.#deps;
    const current = this.scannerSet();
    const results: Array<{ model: string; version: string; status: ScanStatus }> = [];
    let cursor: string | undefined;
    do {
      const page = await registry.metadata.listModels({ limit: 200, ...(cursor ? { cursor } : {}) });
      for (const model of page.items) {
        for (const version of await registry.metadata.listVersions(model.name)) {
          if (version.status === 'retired') continue;
          if (!options.all && version.scannedWith === current && version.scanStatus !== 'SCANNING') continue;
          const { status } = await this.scan(version, actor);
          results.push({ model: model.name, version: version.version, status });
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return results;
  }

  /** Versions a crash left in SCANNING are scanned again. */
  async resumeInterrupted(): Promise<void> {
    for (const version of await this.#deps.registry.metadata.listVersionsByScanStatus('SCANNING')) {
      await this.scan(version, 'system');
    }
  }
}
