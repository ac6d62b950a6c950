import { z } from 'zod';
import { Errors } from '../errors.ts';
import { generateKey, hashSecret, parseToken } from './api-keys.ts';
import type { ApiKeyRecord, ApiKeyStore } from './key-store.ts';
import { KEY_SCOPES } from './scopes.ts';

export const CreateKeyBody = z
  .strictObject({
    name: z.string().min(1).max(100).describe('What the key is for, e.g. "ci-pipeline"'),
    scopes: z.array(z.enum(KEY_SCOPES)).min(1).describe('read, infer, write, deploy, admin'),
    models: z
      .array(z.string().regex(/^[a-z0-9*][a-z0-9._*-]*$/, 'a model name, optionally with * wildcards'))
      .min(1)
      .optional()
      .describe('Model name patterns the key is limited to, e.g. ["ids-*"]; omitted: every model'),
    rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.int().positive() }).optional(),
    budget: z.strictObject({ usd: z.number().nonnegative(), period: z.enum(['daily', 'monthly']) }).optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .refine((at) => Date.parse(at) > Date.now(), 'is in the past; a key that has already expired could never be used')
      // Kept in UTC, as every other time the server stores.
      .transform((at) => new Date(at).toISOString())
      .optional()
      .describe('When the key stops working, e.g. 2030-01-31T00:00:00Z or 2030-01-31T02:00:00+02:00; omitted: never'),
  })
  .meta({ id: 'CreateKey' });

export type CreateKeyInput = z.infer<typeof CreateKeyBody>;

/** A key as the API shows it: never the salt, hash or secret. */
export function publicKey(record: ApiKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    scopes: record.scopes,
    models: record.models,
    rateLimit: record.rateLimit,
    budget: record.budget ? { usd: (record.budget.microUsd / 1e6).toFixed(6), period: record.budget.period } : null,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
  };
}

export async function createKey(store: ApiKeyStore, input: CreateKeyInput): Promise<{ token: string; record: ApiKeyRecord }> {
  const key = generateKey();
  const record: ApiKeyRecord = {
    id: key.id,
    name: input.name,
    salt: key.salt,
    hash: key.hash,
    scopes: [...new Set(input.scopes)],
    models: input.models ?? null,
    rateLimit: input.rateLimit ?? null,
    budget: input.budget ? { microUsd: Math.round(input.budget.usd * 1e6), period: input.budget.period } : null,
    createdAt: new Date().toISOString(),
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
  };
  await store.insertKey(record);
  return { token: key.token, record };
}

/**
 * On a store with no active admin key, installs the configured bootstrap key, or makes one.
 * Returns the token only when it was generated here, so the caller can show it once.
 */
export async function bootstrapAdminKey(store: ApiKeyStore, configured: string | undefined): Promise<string | undefined> {
  if ((await store.countActiveAdminKeys()) > 0) return undefined;
  if (configured) {
    const parsed = parseToken(configured);
    if (!parsed) {
      throw new Errors.ConfigInvalid(
        'auth.adminKey is not a Modelplane API key (expected mp_<12 lowercase letters/digits>_<43 base64url characters>); ' +
          'leave it unset once to have the server generate one',
      );
    }
    const existing = await store.getKey(parsed.id);
    if (existing) return undefined; // revoked on purpose: never resurrect it
    await store.insertKey({
      id: parsed.id,
      name: 'bootstrap admin (from config)',
      ...hashSecret(parsed.secret),
      scopes: ['admin'],
      models: null,
      rateLimit: null,
      budget: null,
      createdAt: new Date().toISOString(),
      expiresAt: null,
      revokedAt: null,
    });
    return undefined;
  }
  const { token } = await createKey(store, { name: 'bootstrap admin (generated)', scopes: ['admin'] });
  return token;
}
