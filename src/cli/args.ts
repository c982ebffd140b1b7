/**
 * A subcommand's command line: its options plus `-h`/`--help`, and its positionals, parsed
 * strictly — the same for every command. `--help` prints the command's usage and exits 0; an
 * unknown option or a missing value is a usage error (exit 2).
 */
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from './client-command.ts';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  usage: string,
) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, ...HELP },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  // The generic options hide `help` from the type; it is always among them (HELP above).
  if ((parsed.values as { help?: boolean }).help === true) {
    throw new UsageError(usage, true);
  }
  return parsed;
}

/**
 * A command with subcommands (`appeal open …`, `statements pay …`): the command line as above, its
 * first positional the subcommand (none: the usage, exit 2) and the rest its operands.
 */
export function parseSubcommandLine<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  usage: string,
) {
  const { values, positionals } = parseCommandLine(argv, options, usage);
  const [command, ...operands] = positionals;
  if (command === undefined) {
    throw new UsageError(usage);
  }
  return { values, command, operands };
}

/** A command that takes options only (`report`, `what-if`): any positional is a usage error. */
export function parseOptionsOnly<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  usage: string,
  command: string,
) {
  const { values, positionals } = parseCommandLine(argv, options, usage);
  if (positionals.length > 0) {
    throw new UsageError(`${command} takes options only, not "${positionals.join(' ')}"`);
  }
  return values;
}
