/**
 * Every subcommand reads its command line the same way (src/cli/args.ts): `--help` is its usage
 * (exit 0), an unknown option a usage error (exit 2) — never a stray TypeError (exit 1).
 */
import { describe, expect, test } from '@jest/globals';
import { parseAuthorizationsArgs } from '../../src/cli/authorizations-command.ts';
import { parseChargesArgs } from '../../src/cli/charges-command.ts';
import { UsageError } from '../../src/cli/client-command.ts';
import { runEligibility } from '../../src/cli/eligibility-command.ts';
import { runEstimate } from '../../src/cli/estimate-command.ts';
import { parseRemitArgs } from '../../src/cli/remit-command.ts';
import { runImportOppsRates, runImportX12Codes } from '../../src/cli/remittance-tables-command.ts';
import { parseReportArgs } from '../../src/cli/report-command.ts';
import { runImportCms } from '../../src/cli/tables-command.ts';
import { parseWhatIfArgs } from '../../src/cli/what-if-command.ts';
import { parseWorkItemsArgs } from '../../src/cli/work-items-command.ts';

const NOW = new Date('2026-12-04T12:00:00Z');
const commands: [string, (argv: string[]) => unknown][] = [
  ['authorizations', parseAuthorizationsArgs],
  ['charges', parseChargesArgs],
  ['eligibility', runEligibility],
  ['estimate', runEstimate],
  ['remit', parseRemitArgs],
  ['tables import-x12-codes', (argv) => runImportX12Codes(argv, NOW)],
  ['tables import-opps-rates', (argv) => runImportOppsRates(argv, NOW)],
  ['tables import-cms', (argv) => runImportCms(argv, NOW)],
  ['report', parseReportArgs],
  ['what-if', parseWhatIfArgs],
  ['work-items', parseWorkItemsArgs],
];

/** What the command throws (sync or async) for `argv`. */
async function thrownBy(run: (argv: string[]) => unknown, argv: string[]): Promise<unknown> {
  try {
    await run(argv);
  } catch (err) {
    return err;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe.each(commands)('%s', (name, run) => {
  test('--help is its usage (exit 0)', async () => {
    const err = await thrownBy(run, ['--help']);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).help).toBe(true);
    expect((err as UsageError).message).toMatch(new RegExp(`^Usage: .*${name.split(' ').at(-1)!}`));
  });
  test('an unknown option is a usage error naming it (exit 2)', async () => {
    const err = await thrownBy(run, ['x', '--no-such-option']);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).help).toBe(false);
    expect((err as UsageError).message).toContain('--no-such-option');
  });
});
