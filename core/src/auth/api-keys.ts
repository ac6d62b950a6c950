import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keys look like `mp_<id>_<secret>`: the id finds the record without scanning, the secret is 32 random bytes.
 * A fast salted SHA-256 is enough for secrets of that entropy (slow hashes defend guessable passwords, which these
 * are not) and keeps verification in microseconds on every request.
 */
const TOKEN = /^mp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedKey {
  id: string;
  token: string;
  salt: string;
  hash: string;
}

export function generateKey(): GeneratedKey {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12).padEnd(12, '0');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `mp_${id}_${secret}`, ...hashSecret(secret) };
}

export function parseToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function hashSecret(secret: string, salt = randomBytes(16).toString('hex')): { salt: string; hash: string } {
  return { salt, hash: createHash('sha256').update(salt).update(secret).digest('hex') };
}

export function secretMatches(secret: string, salt: string, hash: string): boolean {
  const candidate = Buffer.from(hashSecret(secret, salt).hash, 'hex');
  const expected = Buffer.from(hash, 'hex');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** For logs and errors: the id part only, never the secret. */
export function redactToken(token: string): string {
  const parsed = parseToken(token);
  return parsed ? `mp_${parsed.id}_…` : '(malformed key)';
}
