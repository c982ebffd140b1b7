#!/usr/bin/env node
/**
 * `npm run cli -- <command>` (the `dripline` bin when installed): the command line of ./run.ts
 * with this process's arguments, environment and streams. The process ends once the command's
 * output is written (an exit code set, not `process.exit`, which would cut a long output piped
 * to another program).
 */
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
