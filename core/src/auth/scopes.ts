/**
 * What a key may do. `public` is only for route declarations (health, API description); keys never hold it.
 * `admin` grants everything; `write` and `deploy` include `read` because changing what you cannot see is useless.
 */
export const KEY_SCOPES = ['read', 'infer', 'write', 'deploy', 'admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];
export type RouteScope = KeyScope | 'public';

const IMPLIED: Record<KeyScope, readonly KeyScope[]> = {
  read: ['read'],
  infer: ['infer'],
  write: ['write', 'read'],
  deploy: ['deploy', 'read'],
  admin: KEY_SCOPES,
};

export function grants(held: readonly KeyScope[], required: RouteScope): boolean {
  if (required === 'public') return true;
  return held.some((scope) => IMPLIED[scope].includes(required));
}

/** `ids@production` and `ids@1.2.0` are checked as `ids`. */
export function referencedModel(reference: string): string {
  const at = reference.indexOf('@');
  return at > 0 ? reference.slice(0, at) : reference;
}

/** `ids-*` → matches `ids-mlp`, `ids-snn`; `*` alone matches every model; no other wildcard syntax. */
export function modelAllowed(patterns: readonly string[] | null, model: string): boolean {
  if (patterns === null) return true;
  return patterns.some((pattern) => {
    const parts = pattern.split('*');
    if (parts.length === 1) return pattern === model;
    let position = 0;
    for (const [i, part] of parts.entries()) {
      if (i === 0) {
        if (!model.startsWith(part)) return false;
        position = part.length;
      } else if (i === parts.length - 1) {
        return model.length - part.length >= position && model.endsWith(part);
      } else {
        const found = model.indexOf(part, position);
        if (found < 0) return false;
        position = found + part.length;
      }
    }
    return true;
  });
}
