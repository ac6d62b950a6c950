import type { Command } from 'commander';
import { ApiClient } from './client.ts';
import { formatBytes } from './progress.ts';
import { push, readMetadataFile } from './push.ts';

interface Remote {
  url?: string;
  key?: string;
}

interface VersionView {
  version: string;
  status: string;
  scanStatus: string | null;
  files: Array<{ path: string; size: number }>;
  createdAt: string;
}

const remote = (command: Command) =>
  command
    .option('--url <url>', 'server URL (default: $MODELPLANE_URL or http://127.0.0.1:8080)')
    .option('--key <key>', 'API key (default: $MODELPLANE_API_KEY)');

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

export function addRegistryCommands(program: Command): void {
  remote(program.command('push <path>'))
    .description('upload a file or a directory as a new model version (streamed, with progress)')
    .requiredOption('-n, --name <model>', 'model name')
    .requiredOption('-V, --version <semver>', 'version to register, e.g. 1.2.0')
    .option('-m, --meta <file>', 'metadata (YAML or JSON): framework, architecture, training_data_description, performance_metrics, license …')
    .option('--status <status>', 'initial status: testing (default) or active')
    .option('--alias <alias>', 'point this alias at the new version, e.g. production')
    .action(async (root: string, opts: Remote & { name: string; version: string; meta?: string; status?: string; alias?: string }) => {
      const metadata = opts.meta ? await readMetadataFile(opts.meta) : {};
      out(await push(new ApiClient(opts), root, { name: opts.name, version: opts.version, metadata, status: opts.status, alias: opts.alias }));
    });

  const models = program.command('models').description('browse the registry');
  remote(models.command('list'))
    .description('list models')
    .option('--task <task>')
    .option('--framework <framework>')
    .option('--tag <tag>')
    .option('--json', 'print JSON')
    .action(async (opts: Remote & { task?: string; framework?: string; tag?: string; json?: boolean }) => {
      const query = new URLSearchParams(Object.entries({ task: opts.task, framework: opts.framework, tag: opts.tag }).filter((e): e is [string, string] => !!e[1]));
      const client = new ApiClient(opts);
      // Every page, not only the first 500 models.
      const list: Array<{ name: string; description: string; tags: string[] }> = [];
      let cursor: string | null = null;
      do {
        const page: { models: typeof list; nextCursor: string | null } = await client.request(
          'GET',
          `/api/v1/models?limit=500&${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        list.push(...page.models);
        cursor = page.nextCursor;
      } while (cursor);
      if (opts.json) return out(JSON.stringify(list, null, 2));
      if (list.length === 0) return out('no models');
      for (const m of list) out(`${m.name}${m.tags.length ? `  [${m.tags.join(', ')}]` : ''}${m.description ? `  ${m.description}` : ''}`);
    });
  remote(models.command('show <name>'))
    .description('show a model with its versions and aliases')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Remote & { json?: boolean }) => {
      const model = await new ApiClient(opts).request<{ name: string; description: string; owner: string | null; versions: VersionView[]; aliases: Record<string, string> }>(
        'GET',
        `/api/v1/models/${path(name)}`,
      );
      if (opts.json) return out(JSON.stringify(model, null, 2));
      out(`${model.name}  owner=${model.owner ?? '-'}${model.description ? `\n  ${model.description}` : ''}`);
      for (const [alias, version] of Object.entries(model.aliases)) out(`  @${alias} → ${version}`);
      for (const v of model.versions) out(`  ${formatVersion(v)}`);
    });

  const versions = program.command('versions').description('model versions');
  remote(versions.command('list <model>'))
    .description('list a model’s versions, newest first')
    .action(async (model: string, opts: Remote) => {
      const { versions: list } = await new ApiClient(opts).request<{ versions: VersionView[] }>('GET', `/api/v1/models/${path(model)}/versions`);
      for (const v of list) out(formatVersion(v));
    });

  const alias = program.command('alias').description('model aliases');
  remote(alias.command('set <model> <alias> <version>'))
    .description('point an alias at a version')
    .action(async (model: string, name: string, version: string, opts: Remote) => {
      const result = await new ApiClient(opts).request<{ version: string }>('PUT', `/api/v1/models/${path(model, 'aliases', name)}`, { version });
      out(`${model}@${name} → ${result.version}`);
    });

  const status = program.command('status').description('version status');
  remote(status.command('set <model> <version> <status>'))
    .description('move a version: testing → active → deprecated → retired')
    .action(async (model: string, version: string, value: string, opts: Remote) => {
      const result = await new ApiClient(opts).request<VersionView>('PUT', `/api/v1/models/${path(model, 'versions', version, 'status')}`, { status: value });
      out(`${model}@${result.version} is ${result.status}`);
    });

  remote(program.command('scan [model] [version]'))
    .description('scan one version now, or with --all every version whose scanners changed since its last scan')
    .option('--all', 'rescan every version that is not retired, not only stale ones')
    .option('--stale', 'rescan versions last scanned by other scanner versions (the default without a model)')
    .action(async (model: string | undefined, version: string | undefined, opts: Remote & { all?: boolean; stale?: boolean }) => {
      const client = new ApiClient(opts);
      if (model) {
        const report = await client.request<{ version: string; status: string; findings: Array<{ severity: string; rule: string; file: string }> }>(
          'POST',
          `/api/v1/models/${path(model, 'versions', version ?? 'default', 'scan')}`,
        );
        out(`${model}@${report.version}: ${report.status}`);
        for (const f of report.findings) out(`  ${f.severity.padEnd(8)} ${f.rule}  ${f.file}`);
        // A failed scan fails the command (here and for --all), so a CI step can gate on it.
        if (report.status === 'FAILED') process.exitCode = 1;
        return;
      }
      const result = await client.request<{ scanner: string; scanned: Array<{ model: string; version: string; status: string }> }>('POST', '/api/v1/scans', { all: opts.all === true });
      out(`scanners: ${result.scanner || 'none installed'}; rescanned ${result.scanned.length} version(s)`);
      for (const s of result.scanned) out(`  ${s.model}@${s.version}: ${s.status}`);
      if (result.scanned.some((s) => s.status === 'FAILED')) process.exitCode = 1;
    });

  remote(program.command('gc'))
    .description('delete stored files that no version references')
    .option('--dry-run', 'only report what would be removed')
    .option('--min-age <seconds>', 'spare unreferenced files younger than this (default 3600: uploads awaiting their manifest)', '3600')
    .action(async (opts: Remote & { dryRun?: boolean; minAge: string }) => {
      const result = await new ApiClient(opts).request<{ removed: string[]; bytes: number }>(
        'POST',
        `/api/v1/gc?dry_run=${opts.dryRun === true}&min_age_seconds=${encodeURIComponent(opts.minAge)}`,
      );
      out(`${opts.dryRun ? 'would remove' : 'removed'} ${result.removed.length} blob(s), ${formatBytes(result.bytes)}`);
    });
}

function formatVersion(v: VersionView): string {
  const size = v.files.reduce((sum, f) => sum + f.size, 0);
  return `${v.version.padEnd(12)} ${v.status.padEnd(10)} scan=${v.scanStatus ?? '-'}  ${v.files.length} file(s) ${formatBytes(size)}  ${v.createdAt}`;
}
