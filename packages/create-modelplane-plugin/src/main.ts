import { parseArgs } from 'node:util';
import { createPlugin, nextSteps, ScaffoldError, TEMPLATES } from './index.ts';

const USAGE = `Usage: npm create modelplane-plugin@latest -- <name> --template <${TEMPLATES.join('|')}> [--dir <dir>]`;

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { template: { type: 'string', short: 't' }, dir: { type: 'string', short: 'd' }, help: { type: 'boolean', short: 'h' } },
  });
  const [name] = positionals;
  if (values.help || !name || !values.template) {
    process.stdout.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 1;
  } else {
    const created = createPlugin({ name, template: values.template, ...(values.dir ? { dir: values.dir } : {}) });
    process.stdout.write(`${nextSteps(created)}\n`);
  }
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n${error instanceof ScaffoldError ? '' : `${USAGE}\n`}`);
  process.exitCode = 1;
}
