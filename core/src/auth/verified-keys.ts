import type { Principal } from '../kernel/container.ts';

/** How long a verified key is trusted without reading the key store again. Revocation through the API is immediate. */
const TRUST_MS = 5000;
const MAX_ENTRIES = 10_000;

/**
 * Remembers tokens that passed verification (store lookup + salted hash), so a busy client does not pay for both on
 * every request. Entries end after TRUST_MS, at the key's expiry, or at once when the key is revoked through the API;
 * a key revoked by another process (a second server on the same store) stops working within TRUST_MS.
 */
export class VerifiedKeys<P extends Principal = Principal> {
  readonly #byToken = new Map<string, { principal: P; until: number }>();

  get(token: string, now = Date.now()): P | undefined {
    const entry = this.#byToken.get(token);
    if (!entry) return undefined;
    if (entry.until > now) return entry.principal;
    this.#byToken.delete(token);
    return undefined;
  }

  remember(token: string, principal: P, expiresAt: string | null, now = Date.now()): void {
    if (this.#byToken.size >= MAX_ENTRIES) this.#byToken.clear();
    const until = Math.min(now + TRUST_MS, expiresAt === null ? Infinity : Date.parse(expiresAt));
    this.#byToken.set(token, { principal, until });
  }

  forget(keyId: string): void {
    for (const [token, entry] of this.#byToken) if (entry.principal.id === keyId) this.#byToken.delete(token);
  }
}
