import { ensurePythonEnv, isMpError, pythonEnvDir } from '@modelplane/plugin-sdk';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { closeOnSignals, startServer } from '../app.ts';
import { createKernel } from '../kernel/kernel.ts';
import { checkConfiguredPlugins, resolvePluginPackage } from '../kernel/plugin-loader.ts';
import { Errors } from '../errors.ts';
import { CORE_VERSION } from '../version.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigForCli } from './config-source.ts';
import { addDeploymentCommands } from './deployment-commands.ts';
import { addKeyCommands } from './keys-commands.ts';
import { addRegistryCommands } from './registry-commands.ts';
import { addPluginCommands } from './plugin-commands.ts';
import { formatPluginList, formatPluginTree } from './plugin-tree.ts';
import { createPlugin, nextSteps, ScaffoldError, TEMPLATES } from 'create-modelplane-plugin';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535');
  }
  return port;
}

const CONFIG_HELP = 'config file (default: ./modelplane.config.yaml if present, else the embedded defaults)';

export function buildProgram(): Command {
  const program = new Command('modelplane')
    .description('Model registry, inference server and LLM gateway')
    .version(CORE_VERSION, '-v, --version', 'print the version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true);

  program
    .command('serve')
    .description('start the server')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('-p, --port <port>', 'port to listen on (overrides server.port)', parsePort)
    .option('-H, --host <host>', 'address to bind (overrides server.host)')
    .action(async (opts: { config?: string; port?: number; host?: string }) => {
      const loaded = await loadConfigForCli(opts.config);
      const running = await startServer({ loaded, listen: { port: opts.port, host: opts.host } });
      const names = running.kernel.plugins.map((p) => p.name).join(', ') || 'none';
      process.stdout.write(
        `Modelplane ${CORE_VERSION} listening on ${running.url}\n` +
          `  config:  ${loaded.path ?? 'embedded defaults'}\n  data:    ${loaded.dataDir}\n  plugins: ${names}\n` +
          `  try:     curl ${running.url}/healthz   ·   API docs: ${running.url}/docs\n`,
      );
      for (const line of running.notices) process.stdout.write(`${line}\n`);
      closeOnSignals(running);
    });

  const config = program.command('config').description('work with config files');
  config
    .command('check')
    .description('validate a config file and report every problem with its path')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string }) => {
      const loaded = await loadConfigForCli(opts.config);
      const where = loaded.path ?? 'embedded defaults';
      const problems = await checkConfiguredPlugins(loaded.plugins, loaded.dir);
      if (problems.length > 0) {
        const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
        throw new Errors.ConfigInvalid(`${where} has ${problems.length} problem(s):\n${lines}`, { details: problems });
      }
      process.stdout.write(`${where}: OK (${loaded.plugins.length} plugin(s))\n`);
    });

  const plugins = program.command('plugins').description('install, remove, find and inspect plugins; set up their Python environments');
  plugins
    .command('list')
    .description('load the configured plugins and show what each registered')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--tree', 'print the load tree')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; tree?: boolean; json?: boolean }) => {
      const loaded = await loadConfigForCli(opts.config);
      const kernel = await createKernel({ loaded, logger: pino({ level: 'warn' }, pino.destination(2)) });
      try {
        if (opts.json) process.stdout.write(`${JSON.stringify(kernel.plugins, null, 2)}\n`);
        else if (opts.tree) process.stdout.write(`${formatPluginTree(kernel.plugins, loaded)}\n`);
        else process.stdout.write(`${formatPluginList(kernel.plugins)}\n`);
      } finally {
        await kernel.shutdown();
      }
    });

  addPluginCommands(plugins, CONFIG_HELP);

  program
    .command('create')
    .description('scaffold new things')
    .command('plugin <name>')
    .description('scaffold a plugin package from a template (the same as npm create modelplane-plugin)')
    .option('-t, --template <template>', `one of: ${TEMPLATES.join(', ')}`, 'runtime')
    .option('-d, --dir <dir>', 'target directory (default: the package name without scope)')
    .action((name: string, opts: { template: string; dir?: string }) => {
      try {
        process.stdout.write(`${nextSteps(createPlugin({ name, template: opts.template, ...(opts.dir ? { dir: opts.dir } : {}) }))}\n`);
      } catch (error) {
        // A bad name or template is the user's to fix: print the message, not a stack.
        if (!(error instanceof ScaffoldError)) throw error;
        process.stderr.write(`error: ${error.message}\n`);
        process.exitCode = 1;
      }
    });

  plugins
    .command('setup <plugin>')
    .description("build the Python environment a sidecar runtime plugin needs, from its pinned requirements (package.json modelplane.python)")
    .option('-c, --config <file>', `${CONFIG_HELP}; plugins are found from its folder`)
    .option('--python <interpreter>', 'the interpreter that creates the venv (then set the plugin option python to the path printed)', 'python3')
    .action(async (spec: string, opts: { config?: string; python: string }) => {
      const loaded = await loadConfigForCli(opts.config);
      const pkg = resolvePluginPackage(spec, loaded.dir);
      const requirements = (pkg.manifest as { python?: { requirements?: string } } | undefined)?.python?.requirements;
      if (!requirements) {
        // Not a failure of the tool: say so without a stack.
        process.stderr.write(`error: ${pkg.name} declares no Python requirements (package.json modelplane.python.requirements); it needs no setup\n`);
        process.exitCode = 1;
        return;
      }
      // Named after the package without its scope, as the plugin looks it up (see the SDK's pythonEnvDir).
      const env = { name: pkg.name.replace(/^@[^/]+\//, ''), requirements: join(pkg.dir, requirements), python: opts.python };
      const already = existsSync(join(pythonEnvDir(env), '.complete'));
      const started = Date.now();
      const dir = await ensurePythonEnv(env, (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`));
      process.stdout.write(`${pkg.name}: Python environment ${already ? 'already set up' : 'ready'} at ${dir}\n`);
      if (opts.python !== 'python3') process.stdout.write(`set the plugin option  python: ${join(dir, 'bin', 'python')}\n`);
    });

  addRegistryCommands(program);
  addKeyCommands(program);
  addDeploymentCommands(program);
  return program;
}

/** Prints an error as its code and message (plus the cause, which is where an import failure's reason lives). */
export function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (isMpError(error)) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    const cause = (error as Error).cause;
    if (process.env.MODELPLANE_DEBUG && cause instanceof Error && cause.stack) {
      process.stderr.write(`caused by: ${cause.stack}\n`);
    }
    return 1;
  }
  // A file or folder that is missing or unreadable (push <path>, --meta): the message names it; a stack adds nothing.
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string') {
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
