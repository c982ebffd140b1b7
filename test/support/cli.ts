/**
 * Dripline's command line run in the test's own process, through the entry function the `dripline`
 * binary runs (src/cli/run.ts) with the given environment and streams that collect what it
 * writes. A CLI child process reloads Dripline's modules, about half a CPU-second each; a few
 * tests still run the real binary (`runCli` in ./child.ts) for what only a process shows: its
 * exit status, its output through pipes.
 */
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/run.ts';
import type { CliRun } from './child.ts';

/** A stream keeping what is written to it, as text. */
class Collected extends Writable {
  text = '';
  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    done();
  }
}

/** `npm run cli -- <args>` with `env` as its whole environment, run in this process. */
export async function cliInProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const stdout = new Collected({ decodeStrings: false });
  const stderr = new Collected({ decodeStrings: false });
  const code = await runCli(args, { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
