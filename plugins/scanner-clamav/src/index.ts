import { definePlugin, type Finding, type ScannerPlugin, z } from '@modelplane/plugin-sdk';
import { type ClamdOptions, scanStream } from './clamd.ts';

export { type ClamdAddress, type ClamdOptions, type ClamdVerdict, ping, scanStream, ScannerUnavailable, version } from './clamd.ts';

const PLUGIN_VERSION = '0.1.0';

const Options = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.int().min(1).max(65535).default(3310),
    /** A unix socket path; when set, host and port are ignored. */
    socket: z.string().optional(),
    timeoutMs: z.int().positive().default(60_000),
  })
  .strict();

export function clamavScanner(options: z.infer<typeof Options>): ScannerPlugin {
  const clamd: ClamdOptions = {
    address: options.socket ? { socket: options.socket } : { host: options.host, port: options.port },
    timeoutMs: options.timeoutMs,
  };
  return {
    id: 'clamav',
    version: PLUGIN_VERSION,
    async scan(target): Promise<Finding[]> {
      const verdict = await scanStream(target.open(), clamd);
      if (verdict.infected === false) return [];
      if (verdict.infected === null) {
        return [{ severity: 'HIGH', file: target.path, rule: 'clamav-not-scanned', detail: verdict.reason }];
      }
      return [{ severity: 'CRITICAL', file: target.path, rule: `clamav:${verdict.signature}`, detail: `ClamAV signature ${verdict.signature} matched` }];
    },
  };
}

export default definePlugin({
  name: '@modelplane/scanner-clamav',
  version: PLUGIN_VERSION,
  apiVersion: '^1',
  description: 'Scans artifacts with clamd (INSTREAM)',
  optionsSchema: Options,
  setup(ctx) {
    ctx.register.scanner(clamavScanner(ctx.options));
  },
});
