import { buildProgram, report } from './program.ts';

// `modelplane models list | head`: the reader has gone, so stop quietly as other command-line tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

try {
  await buildProgram().exitOverride().parseAsync(process.argv);
} catch (error) {
  // Exit now rather than when the event loop empties: a plugin whose setup timed out may still be running, holding
  // the process open long after the error was printed.
  process.exit(report(error));
}
