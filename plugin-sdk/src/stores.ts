/** Store extension points: metadata and artifact stores. The embedded defaults are SQLite and the filesystem. */
import type { Readable } from 'node:stream';
import type { Contribution } from './contribution.ts';

export interface StoreContext {
  dataDir: string;
}

// ── artifacts ───────────────────────────────────────────────────────────────────────────────────────────────

export interface PutOptions {
  /** `sha256:<hex>`; a mismatch stores nothing and fails with MP_ERR_DIGEST_MISMATCH (400). */
  expectedDigest?: string;
  /** Refuse (MP_ERR_BLOB_TOO_LARGE, 413) past this many bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface PutResult {
  digest: string;
  size: number;
  /** false when the store already held these bytes. */
  created: boolean;
}

/** Content-addressed, immutable blobs named `sha256:<hex>`. */
export interface ArtifactStore {
  /** Streams bytes in, hashing as they arrive; never buffers a whole blob. Partial writes are never visible. */
  put(stream: Readable, options?: PutOptions): Promise<PutResult>;
  /** Streams a blob out, verifying its digest; the stream errors if the stored bytes do not match. */
  open(digest: string): Readable;
  /** Size, and when the blob was written (garbage collection spares recent uploads not yet in a manifest). */
  stat(digest: string): Promise<{ size: number; storedAt?: Date } | undefined>;
  list(): AsyncIterable<string>;
  delete(digest: string): Promise<void>;
  close(): Promise<void>;
}

// ── metadata ────────────────────────────────────────────────────────────────────────────────────────────────

export interface ManifestFile {
  /** Relative POSIX path inside the version, e.g. `model.onnx` or `weights/shard-1.bin`. */
  path: string;
  digest: string;
  size: number;
}

export type VersionStatus = 'testing' | 'active' | 'deprecated' | 'retired';
export type ScanStatus = 'SCANNING' | 'PASSED' | 'FAILED' | 'SKIPPED';

export interface ModelRecord {
  name: string;
  description: string;
  tasks: string[];
  tags: string[];
  owner: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  model: string;
  version: string;
  files: ManifestFile[];
  /** sha256 over the canonical manifest and metadata: equal digests mean an identical version. */
  manifestDigest: string;
  metadata: Record<string, unknown>;
  status: VersionStatus;
  scanStatus: ScanStatus | null;
  /** The scanners (`id@version`, sorted, comma-separated) of the last completed scan; a rescan is due when they change. */
  scannedWith: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface StoredFinding {
  scanner: string;
  scannerVersion: string;
  severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';
  file: string;
  rule: string;
  detail: string;
  scannedAt: string;
}

export interface AuditRecord {
  id: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  beforeDigest: string | null;
  afterDigest: string | null;
  details: unknown;
}

export type NewAuditRecord = Omit<AuditRecord, 'id' | 'time' | 'beforeDigest' | 'afterDigest' | 'details'> &
  Partial<Pick<AuditRecord, 'beforeDigest' | 'afterDigest' | 'details'>>;

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ModelQuery {
  task?: string;
  tag?: string;
  framework?: string;
  architecture?: string;
  license?: string;
  status?: VersionStatus;
  maxParams?: number;
  cursor?: string;
  limit: number;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  salt: string;
  hash: string;
  scopes: Array<'read' | 'infer' | 'write' | 'deploy' | 'admin'>;
  /** Model name patterns (`ids-*`); null: every model. */
  models: string[] | null;
  rateLimit: { perSecond: number; burst: number } | null;
  /** Gateway spend limit in integer micro-dollars per period. */
  budget: { microUsd: number; period: 'daily' | 'monthly' } | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/**
 * Everything the registry persists. Writes that must be atomic together run inside `transaction`.
 * `insertVersion` is the immutability point: it inserts, or returns the version already stored under that name.
 */
export interface MetadataStore {
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  getModel(name: string): Promise<ModelRecord | undefined>;
  /** Inserts or replaces the model row. */
  putModel(model: ModelRecord): Promise<void>;
  listModels(query: ModelQuery): Promise<Page<ModelRecord>>;

  getVersion(model: string, version: string): Promise<VersionRecord | undefined>;
  insertVersion(record: VersionRecord): Promise<{ inserted: true } | { inserted: false; existing: VersionRecord }>;
  listVersions(model: string): Promise<VersionRecord[]>;
  updateVersion(model: string, version: string, changes: Partial<Pick<VersionRecord, 'status' | 'scanStatus' | 'scannedWith'>>): Promise<void>;

  getAlias(model: string, alias: string): Promise<string | undefined>;
  setAlias(model: string, alias: string, version: string): Promise<void>;
  deleteAlias(model: string, alias: string): Promise<boolean>;
  listAliases(model: string): Promise<Record<string, string>>;

  /** Replaces a version's scan findings (one scan's complete result). */
  replaceFindings(model: string, version: string, findings: StoredFinding[]): Promise<void>;
  listFindings(model: string, version: string): Promise<StoredFinding[]>;
  /** Versions whose scan status is this (e.g. SCANNING left by a crash). */
  listVersionsByScanStatus(status: ScanStatus): Promise<VersionRecord[]>;

  appendAudit(entry: NewAuditRecord): Promise<void>;
  listAudit(query: { actor?: string; action?: string; target?: string; cursor?: string; limit: number }): Promise<Page<AuditRecord>>;

  /** Every digest some version's manifest references (garbage collection keeps these). */
  referencedDigests(): Promise<Set<string>>;

  insertKey(record: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  listKeys(): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at: string): Promise<ApiKeyRecord | undefined>;
  countActiveAdminKeys(): Promise<number>;

  close(): Promise<void>;
}

export interface MetadataStoreProvider extends Contribution {
  open(context: StoreContext): Promise<MetadataStore>;
}

export interface ArtifactStoreProvider extends Contribution {
  open(context: StoreContext): Promise<ArtifactStore>;
}
