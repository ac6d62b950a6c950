/** Source extension point: where the update manager discovers new versions, and downloads the ones it takes. */
import type { Contribution } from './contribution.ts';

export interface SourceFile {
  path: string;
  size: number;
  /** `sha256:<hex>` when the source knows it; the download is checked against it. */
  digest?: string;
  open(): Promise<NodeJS.ReadableStream>;
}

export interface ModelSource extends Contribution {
  /** Lists versions the source offers for a model it knows; `metadata` carries `performance_metrics` when known. */
  listVersions(model: string): Promise<Array<{ version: string; metadata?: Record<string, unknown>; [field: string]: unknown }>>;
  /** Fetches one version's metadata and files, so it can be scanned and registered locally. */
  fetchVersion?(model: string, version: string): Promise<{ metadata: Record<string, unknown>; files: SourceFile[] }>;
}
