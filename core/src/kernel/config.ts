import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { formatPath } from '@modelplane/plugin-sdk';
import YAML from 'yaml';
import { z } from 'zod';
import { Errors } from '../errors.ts';
import { BatchingSchema, DeploymentSpecSchema } from '../serving/deployments/spec.ts';

/** A duration Node's timers can wait: past 2^31-1 ms they fire after 1 ms instead (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const timerMs = () => z.int().max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node.js supports`);

const PluginEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    package: z.string().min(1, 'package name is required'),
    options: z.unknown().optional(),
    enabled: z.boolean().default(true),
  }),
]);

export const ConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.int().min(0).max(65535).default(8080),
      /** Largest JSON body accepted by default; artifact uploads are streamed and not bound by it. */
      bodyLimit: z
        .int()
        .positive()
        .default(8 * 1024 * 1024),
      requestTimeoutMs: z.int().min(0).default(120_000),
      /** How long shutdown waits for in-flight requests before closing connections. */
      shutdownTimeoutMs: timerMs().positive().default(15_000),
      pluginSetupTimeoutMs: timerMs().positive().default(30_000),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /**
       * Log each inference call (V2 infer, chat completions) on arrival and completion, as every other request is.
       * Off by default: at thousands of calls a second those two lines cost more CPU than the call itself. Failed
       * and rejected calls are logged either way; metrics and cost events count every call.
       */
      logInferenceRequests: z.boolean().default(false),
      /** Let Prometheus scrape /metrics without an API key. */
      metricsPublic: z.boolean().default(false),
      /** Serve HTTPS directly (PEM files, relative to the config file); behind a TLS-terminating proxy, leave unset. */
      https: z.strictObject({ keyFile: z.string().min(1), certFile: z.string().min(1) }).optional(),
    })
    .prefault({}),
  storage: z
    .strictObject({
      /** Relative to the config file's directory. */
      dataDir: z.string().min(1).default('.modelplane'),
      /** Which registered metadata store to use (`sqlite` is built in; plugins add others). */
      metadata: z.string().min(1).default('sqlite'),
      /** Which registered artifact store to use (`filesystem` is built in). */
      artifacts: z.string().min(1).default('filesystem'),
      /** Largest single uploaded file. */
      maxBlobBytes: z.int().positive().default(64 * 1024 ** 3),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** `none` turns access control off: local development only; the server warns loudly at start. */
      mode: z.enum(['apiKey', 'none']).default('apiKey'),
      /** Installed as the admin key on a data directory without one; unset: the server generates one and prints it once. */
      adminKey: z
        .string()
        .optional()
        .transform((v) => (v === '' ? undefined : v)),
      /** Per key, unless the key carries its own. */
      rateLimit: z
        .strictObject({ perSecond: z.number().positive().default(100), burst: z.int().positive().default(200) })
        .prefault({}),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /** How the models will be used; each version's license is checked against it (allowed / warning / blocked). */
      licensePolicy: z
        .strictObject({
          commercialUse: z.boolean().default(true),
          derivatives: z.boolean().default(false),
          expectedMau: z.int().positive().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  scanning: z
    .strictObject({
      /** Scan every new version in the background as soon as it is registered (and always before it is served). */
      onRegister: z.boolean().default(true),
      /** A scanner that cannot run: `skip` → SKIPPED; `fail` → FAILED (fail closed). */
      onUnavailable: z.enum(['skip', 'fail']).default('skip'),
      failOn: z.array(z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'])).default(['CRITICAL', 'HIGH']),
    })
    .prefault({}),
  serving: z
    .strictObject({
      /** Largest inference request body (JSON or binary tensors). */
      inferBodyLimit: z.int().positive().default(64 * 1024 * 1024),
    })
    .prefault({}),
  /** Models to serve at start; each can be registered from local files first (idempotent). */
  models: z
    .array(
      z.strictObject({
        /** The name clients call (V2 model name). */
        name: z.string().min(1),
        /** Registry reference (`name`, `name@alias`, `name@1.2.3`); default: `name`. */
        reference: z.string().min(1).optional(),
        /** Register these local files as a version before loading (relative to the config file). */
        register: z
          .strictObject({
            path: z.string().min(1),
            version: z.string().min(1),
            metadata: z.record(z.string(), z.unknown()),
            status: z.enum(['testing', 'active']).default('active'),
          })
          .optional(),
        /** false: only register (e.g. versions a deployment serves), do not load under this name. */
        load: z.boolean().default(true),
        runtime: z.string().min(1).optional(),
        options: z.record(z.string(), z.unknown()).default({}),
        batching: BatchingSchema.optional(),
      }),
    )
    .default([]),
  /** The OpenAI-compatible LLM gateway (`/v1/chat/completions`). */
  gateway: z
    .strictObject({
      /** Strategy for `model: "auto"` and for routes that name none. */
      defaultStrategy: z.string().min(1).default('balanced'),
      /** Output tokens reserved and requested when a call sets no max_tokens. */
      defaultMaxTokens: z.int().positive().default(1024),
      /** How many other models a route may fall back to after a 429 / 5xx / timeout before the first token. */
      maxFallbacks: z.int().min(0).default(2),
      /** An upstream that has not produced its first token (or whole answer, non-streaming) by then is abandoned. */
      firstTokenTimeoutMs: timerMs().positive().default(30_000),
      /** A provider's moderation endpoint handed to the guards (guard-pii's input check calls it). */
      moderation: z.strictObject({ provider: z.string().min(1) }).optional(),
      /** Audit `allow` guard decisions too (one entry per guard and stage of every call), not only redactions and blocks. */
      auditAllowDecisions: z.boolean().default(true),
      /** LLM versions to register at start (idempotent); an LLM version has no files, only metadata with `llm`. */
      models: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            version: z.string().min(1),
            metadata: z.record(z.string(), z.unknown()),
            status: z.enum(['testing', 'active']).default('active'),
          }),
        )
        .default([]),
      /** Names clients may put in `model`, each a strategy over a set of models and constraints. */
      routes: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            strategy: z.string().min(1).optional(),
            taskType: z.string().min(1).optional(),
            /** Only these registered models (all LLMs when absent). */
            models: z.array(z.string().min(1)).optional(),
            constraints: z
              .strictObject({
                maxCostPer1kTokens: z.number().positive().optional(),
                safetyRequired: z.boolean().optional(),
                minContextLength: z.int().positive().optional(),
                requiredTags: z.array(z.string().min(1)).optional(),
                maxErrorRate: z.number().min(0).max(1).optional(),
              })
              .optional(),
            weights: z.strictObject({ quality: z.number().min(0), cost: z.number().min(0), latency: z.number().min(0), safety: z.number().min(0) }).partial().optional(),
          }),
        )
        .default([]),
      budgets: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            scope: z.enum(['global', 'key', 'model']),
            /** One API key id or model name; without it a key / model budget applies to each one apart. */
            subject: z.string().min(1).optional(),
            period: z.enum(['daily', 'monthly']),
            limitUsd: z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d{1,6})?$/, 'a USD amount with at most 6 decimals')]),
          }),
        )
        .default([]),
    })
    .prefault({}),
  /** Events (model calls, budget thresholds) on `/api/v1/events` and to webhooks. */
  events: z
    .strictObject({
      webhooks: z
        .array(z.strictObject({ url: z.url(), events: z.array(z.string().min(1)).optional(), secret: z.string().min(1).optional() }))
        .default([]),
    })
    .prefault({}),
  /** Deployments to create at start (see docs/deployments.md); a stored deployment keeps its live traffic and rollout. */
  deployments: z.array(DeploymentSpecSchema).default([]),
  /** The update manager: polls sources for newer versions of deployed models. */
  updates: z
    .strictObject({
      /** How often to check; 0 = only when asked (`POST /api/v1/updates/check`). */
      intervalMs: timerMs().min(0).default(0),
      /** Other Modelplane servers to pull versions from; each is the source `remote:<name>`. */
      remotes: z
        .array(z.strictObject({ name: z.string().min(1), url: z.url(), apiKey: z.string().min(1).optional() }))
        .default([]),
    })
    .prefault({}),
  plugins: z.array(PluginEntrySchema).default([]),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export interface PluginEntry {
  package: string;
  options: unknown;
  /** Position in the config's `plugins` list, for error paths such as `plugins[2].options`. */
  index: number;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file, or null for the embedded defaults / a config built in code. */
  path: string | null;
  /** Where relative paths (plugins, dataDir) are resolved from. */
  dir: string;
  dataDir: string;
  plugins: PluginEntry[];
}

export interface ConfigProblem {
  path: string;
  message: string;
}

/** Reads, interpolates and validates a config file; throws one error listing every problem. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new Errors.ConfigNotFound(`cannot read config file ${absolute}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const raw = parseConfigText(text, absolute);
  return resolveConfig(raw, { path: absolute, env });
}

/** Parses a config file's text (JSON by extension, else YAML); syntax errors are coded and name the file. */
export function parseConfigText(text: string, file: string): unknown {
  if (extname(file) === '.json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Errors.ConfigSyntax(`${file}: invalid JSON: ${(error as Error).message}`);
    }
  }
  const document = YAML.parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((e) => `  ${e.message.split('\n')[0]}`);
    throw new Errors.ConfigSyntax(`${file}: invalid YAML:\n${problems.join('\n')}`, {
      details: document.errors.map((e) => ({ message: e.message, line: e.linePos?.[0]?.line })),
    });
  }
  return document.toJS() ?? {};
}

/** Validates a config given as a value (from a file or built in code). */
export function resolveConfig(
  raw: unknown,
  { path = null, dir, env = process.env }: { path?: string | null; dir?: string; env?: NodeJS.ProcessEnv } = {},
): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const interpolated = interpolateEnv(raw, env, '', problems);
  const parsed = ConfigSchema.safeParse(interpolated);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ path: formatPath('', issue.path), message: describeIssue(issue) });
    }
  }
  const where = path ?? 'config';
  if (problems.length > 0 || !parsed.success) {
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    throw new Errors.ConfigInvalid(`${where} has ${problems.length} problem(s):\n${lines}`, { details: problems });
  }
  const config = parsed.data;
  const baseDir = dir ?? (path ? dirname(path) : process.cwd());
  return {
    config,
    path,
    dir: baseDir,
    dataDir: resolve(baseDir, config.storage.dataDir),
    plugins: config.plugins.flatMap((entry, index) => {
      if (typeof entry === 'string') return [{ package: entry, options: undefined, index }];
      return entry.enabled ? [{ package: entry.package, options: entry.options, index }] : [];
    }),
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_union' && issue.path.length > 0 && issue.path[0] === 'plugins') {
    return 'expected a package name or { package, options?, enabled? }';
  }
  return issue.message;
}

const ENV_REFERENCE = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string; `$${VAR}` stays literal `${VAR}`.
 * A string that is exactly one reference takes the type its value reads as (so `port: ${PORT:-8080}` is a number).
 */
function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: ConfigProblem[]): unknown {
  if (typeof value === 'string') {
    const substituted = value.replace(ENV_REFERENCE, (match, escaped, name: string, fallback?: string) => {
      if (escaped) return match.slice(1);
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({
        path: path || '(root)',
        message: `environment variable ${name} is not set (use \${${name}:-default})`,
      });
      return '';
    });
    if (WHOLE_REFERENCE.test(value)) {
      const scalar = YAML.parse(substituted) as unknown;
      if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
    }
    return substituted;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => interpolateEnv(item, env, `${path}[${i}]`, problems));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        interpolateEnv(item, env, path ? `${path}.${key}` : key, problems),
      ]),
    );
  }
  return value;
}
