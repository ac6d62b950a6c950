import type { RateLimit } from './rate-limit.ts';
import type { KeyScope } from './scopes.ts';

export interface ApiKeyRecord {
  id: string;
  name: string;
  salt: string;
  hash: string;
  scopes: KeyScope[];
  /** Model name patterns (`ids-*`) the key may read, infer or deploy; null: every model. */
  models: string[] | null;
  rateLimit: RateLimit | null;
  /** Gateway spend limit in integer micro-dollars per period; null: none. */
  budget: { microUsd: number; period: 'daily' | 'monthly' } | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** Where keys live; looked up on every request, so a revocation takes effect at once. */
export interface ApiKeyStore {
  insert(record: ApiKeyRecord): Promise<void>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; returns the record, or undefined when no such key exists. */
  revoke(id: string, at: string): Promise<ApiKeyRecord | undefined>;
  countActiveAdmins(): Promise<number>;
}
