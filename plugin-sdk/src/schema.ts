/**
 * Plugins validate their options with any Standard Schema (zod 4 implements it). The core talks to the
 * schema through this interface only, so a plugin that bundles its own copy of zod still works.
 * See https://standardschema.dev.
 */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output };
  };
}

export type InferOutput<S> = S extends StandardSchema<unknown, infer O> ? O : unknown;

/** Renders an issue path the way config errors name places: `plugins[2].options.threads`. */
export function formatPath(base: string, path: StandardSchemaIssue['path'] = []): string {
  let out = base;
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}
