import { buildProgram, report } from './program.ts';

try {
  await buildProgram().exitOverride().parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}
