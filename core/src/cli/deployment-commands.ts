import type { Command } from 'commander';
import { readMetadataFile } from './push.ts';
import { ApiClient } from './client.ts';

interface Remote {
  url?: string;
  key?: string;
}

interface DeploymentView {
  spec: { name: string; model: string };
  status: {
    traffic: Array<{ version: string; weight: number }>;
    rollout: { candidate: string; percent: number } | null;
    lastRollout: { candidate: string; status: string; reason: string } | null;
  };
}

const remote = (command: Command) =>
  command.option('--url <url>', 'server URL (default: $MODELPLANE_URL or http://127.0.0.1:8080)').option('--key <key>', 'API key (default: $MODELPLANE_API_KEY)');
const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const at = (name: string, ...rest: string[]) => ['/api/v1/deployments', encodeURIComponent(name), ...rest].join('/');

function line(view: DeploymentView): string {
  const traffic = view.status.traffic.map((t) => `${t.version} ${t.weight}%`).join(', ');
  const rollout = view.status.rollout ? `  rolling out ${view.status.rollout.candidate} (${view.status.rollout.percent}%)` : '';
  const last = view.status.lastRollout ? `  last: ${view.status.lastRollout.candidate} ${view.status.lastRollout.status}` : '';
  return `${view.spec.name}  ${view.spec.model}  [${traffic}]${rollout}${last}`;
}

/** `modelplane deployments …`: the REST API of /api/v1/deployments from the shell. */
export function addDeploymentCommands(program: Command): void {
  const deployments = program.command('deployments').description('serve versions under a name: traffic splits, swaps, canary rollouts, updates');
  const print = (json: boolean | undefined, view: DeploymentView) => out(json ? JSON.stringify(view, null, 2) : line(view));

  remote(deployments.command('list'))
    .option('--json', 'print JSON')
    .action(async (opts: Remote & { json?: boolean }) => {
      const { deployments: list } = await new ApiClient(opts).request<{ deployments: DeploymentView[] }>('GET', '/api/v1/deployments');
      out(opts.json ? JSON.stringify(list, null, 2) : list.map(line).join('\n') || '(no deployments)');
    });
  remote(deployments.command('get <name>'))
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Remote & { json?: boolean }) => print(opts.json, await new ApiClient(opts).request('GET', at(name))));
  remote(deployments.command('create <file>'))
    .description('create a deployment from a YAML or JSON spec (name, model, traffic, rollout, validation, …)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: Remote & { json?: boolean }) => print(opts.json, await new ApiClient(opts).request('POST', '/api/v1/deployments', await readMetadataFile(file))));
  remote(deployments.command('update <name> <file>'))
    .description('merge a YAML or JSON patch into the spec (null removes a key)')
    .option('--json', 'print JSON')
    .action(async (name: string, file: string, opts: Remote & { json?: boolean }) => print(opts.json, await new ApiClient(opts).request('PATCH', at(name), await readMetadataFile(file))));
  remote(deployments.command('delete <name>')).action(async (name: string, opts: Remote) => {
    await new ApiClient(opts).request('DELETE', at(name));
    out(`deleted ${name}`);
  });
  remote(deployments.command('rollout <name> <version>'))
    .description('load, warm up and validate <version>, then swap or start canary steps')
    .option('--strategy <strategy>', 'canary or swap (default: the deployment policy)')
    .option('--json', 'print JSON')
    .action(async (name: string, version: string, opts: Remote & { strategy?: string; json?: boolean }) =>
      print(opts.json, await new ApiClient(opts).request('POST', at(name, 'rollout'), { version, ...(opts.strategy ? { strategy: opts.strategy } : {}) })),
    );
  remote(deployments.command('promote <name>')).action(async (name: string, opts: Remote) => print(false, await new ApiClient(opts).request('POST', at(name, 'promote'))));
  remote(deployments.command('abort <name>'))
    .option('--reason <reason>')
    .action(async (name: string, opts: Remote & { reason?: string }) => print(false, await new ApiClient(opts).request('POST', at(name, 'abort'), opts.reason ? { reason: opts.reason } : {})));
  remote(deployments.command('decisions <name>'))
    .option('--limit <n>', 'how many', '20')
    .action(async (name: string, opts: Remote & { limit: string }) => {
      const { decisions } = await new ApiClient(opts).request<{ decisions: Array<{ time: string; action: string; details: Record<string, unknown> }> }>('GET', `${at(name, 'decisions')}?limit=${Number(opts.limit)}`);
      out(decisions.map((d) => `${d.time}  ${d.action}  ${JSON.stringify(d.details)}`).join('\n'));
    });

  remote(program.command('updates').description('the update manager').command('check'))
    .description('ask every update source for newer versions now and print each decision')
    .action(async (opts: Remote) => {
      const { decisions } = await new ApiClient(opts).request<{ decisions: Array<{ deployment: string; version: string; outcome: string; reason: string }> }>('POST', '/api/v1/updates/check');
      out(decisions.map((d) => `${d.deployment}  ${d.version}  ${d.outcome}  ${d.reason}`).join('\n') || '(nothing newer)');
    });
}
