import type { Command } from 'commander';
import { pino } from 'pino';
import { createKey } from '../auth/keys-service.ts';
import { createKernel } from '../kernel/kernel.ts';
import { openCoreServices } from '../services.ts';
import { ApiClient } from './client.ts';
import { loadConfigForCli } from './config-source.ts';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  models: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  token?: string;
}

const remote = (command: Command) =>
  command
    .option('--url <url>', 'server URL (default: $MODELPLANE_URL or http://127.0.0.1:8080)')
    .option('--key <key>', 'admin API key (default: $MODELPLANE_API_KEY)');

export function addKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys on a running server (needs an admin key)');

  keys
    .command('recover-admin')
    .description('mint a new admin key directly in the data directory (for a lost bootstrap key; needs file access, not a key)')
    .option('-c, --config <file>', 'config file whose storage to open')
    .action(async (opts: { config?: string }) => {
      const loaded = await loadConfigForCli(opts.config);
      const kernel = await createKernel({ loaded, logger: pino({ level: 'warn' }, pino.destination(2)) });
      const services = await openCoreServices(kernel);
      try {
        const { token, record } = await createKey(services.keys, { name: `recovered admin ${new Date().toISOString()}`, scopes: ['admin'] });
        await services.audit({ actor: 'system', action: 'key.recover-admin', target: `key:${record.id}` });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`created admin key ${record.id} in ${loaded.dataDir}; shown only once. Revoke the lost one with: modelplane keys revoke <id>\n`);
      } finally {
        await services.close();
        await kernel.shutdown();
      }
    });

  remote(keys.command('create'))
    .description('create a key; its token is printed once')
    .requiredOption('-n, --name <name>', 'what the key is for')
    .requiredOption('-s, --scopes <list>', 'comma-separated: read,infer,write,deploy,admin')
    .option('-m, --models <list>', 'comma-separated model patterns, e.g. ids-*')
    .option('--rate <perSecond:burst>', 'rate limit, e.g. 10:20')
    .option('--budget <usd:period>', 'LLM gateway budget, e.g. 25:monthly or 1.50:daily')
    .option('--expires <time>', 'when the key stops working, e.g. 2030-01-31T00:00:00Z')
    .action(async (opts: { name: string; scopes: string; models?: string; rate?: string; budget?: string; expires?: string; url?: string; key?: string }) => {
      const [perSecond, burst] = (opts.rate ?? '').split(':').map(Number);
      const [usd, period] = (opts.budget ?? '').split(':');
      const created = await new ApiClient(opts).request<KeyView>('POST', '/api/v1/keys', {
        name: opts.name,
        scopes: opts.scopes.split(',').map((s) => s.trim()),
        ...(opts.models ? { models: opts.models.split(',').map((s) => s.trim()) } : {}),
        ...(opts.rate ? { rateLimit: { perSecond, burst } } : {}),
        // The server validates both parts and names the one that is wrong.
        ...(opts.budget ? { budget: { usd: Number(usd), period } } : {}),
        ...(opts.expires ? { expiresAt: opts.expires } : {}),
      });
      process.stdout.write(`created key ${created.id} (${created.scopes.join(', ')})\n${created.token}\n`);
      process.stderr.write('This token is shown only once; store it now.\n');
    });

  remote(keys.command('list'))
    .description('list keys (never their secrets)')
    .action(async (opts: { url?: string; key?: string }) => {
      const { keys: list } = await new ApiClient(opts).request<{ keys: KeyView[] }>('GET', '/api/v1/keys');
      for (const k of list) {
        const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now();
        const state = k.revokedAt ? `revoked ${k.revokedAt}` : expired ? `expired ${k.expiresAt}` : `active${k.expiresAt ? ` until ${k.expiresAt}` : ''}`;
        process.stdout.write(`${k.id}  ${k.name}  [${k.scopes.join(',')}]  models=${k.models?.join(',') ?? '*'}  ${state}\n`);
      }
    });

  remote(keys.command('revoke <id>'))
    .description('revoke a key; it stops working on its next request')
    .action(async (id: string, opts: { url?: string; key?: string }) => {
      const revoked = await new ApiClient(opts).request<KeyView>('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
      process.stdout.write(`revoked ${revoked.id} at ${revoked.revokedAt}\n`);
    });
}
