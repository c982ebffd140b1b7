/**
 * `dripline statements <run|pay|balance> …`: patient statements from the command line, on the store
 * directly, with the same rules and AuditEvents as the HTTP API (src/remittance/statements/).
 * `run` writes the cycle's statement PDFs under `{DATA_DIR}/statements/{tenant}/{cycle}/`. A refused
 * payment exits 4 with the reason on stderr.
 */
import type { DriplineConfig } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import { recordPatientCredit } from '../remittance/statements/payments.ts';
import type { StatementDeps } from '../remittance/statements/run.ts';
import { patientBalances, runStatements } from '../remittance/statements/run.ts';
import { AppealRefused } from './appeal-command.ts';
import { UsageError } from './client-command.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseSubcommandLine } from './args.ts';

export const STATEMENTS_USAGE = `Usage: dripline statements <command> [--tenant <id>]
  run                                                           the statement run of the current cycle
  balance <Patient/id>                                          a patient's balance, aging and status
  pay <Patient/id> --amount <dollars> --key <idempotency key> [--adjustment] [--date YYYY-MM-DD]`;

export const CLI_STATEMENTS_ACTOR = 'cli:statements';

export async function runStatementsCommand(
  argv: string[],
  config: DriplineConfig,
  store: Store,
  now: () => Date,
): Promise<unknown> {
  const { values, command, operands } = parseSubcommandLine(
    argv,
    {
      tenant: { type: 'string' },
      amount: { type: 'string' },
      key: { type: 'string' },
      date: { type: 'string' },
      adjustment: { type: 'boolean' },
    },
    STATEMENTS_USAGE,
  );
  const [patient] = operands;
  const tenant = chosenTenant(config, values.tenant).id;
  const deps: StatementDeps = {
    store,
    publicUrl: config.publicUrl,
    now,
    tenants: () => config.tenants,
    dataDir: config.dataDir,
  };
  switch (command) {
    case 'run':
      return runStatements(deps, tenant, { clientId: CLI_STATEMENTS_ACTOR });
    case 'balance': {
      if (!patient) {
        throw new UsageError('statements balance needs Patient/{id}');
      }
      const [balance] = await patientBalances(deps, tenant, patient);
      if (!balance) {
        throw new AppealRefused(`404: ${patient} has no balance`);
      }
      return balance;
    }
    case 'pay': {
      const amount = Number(values.amount);
      if (!patient || !values.key || !Number.isFinite(amount)) {
        throw new UsageError('statements pay needs Patient/{id}, --amount and --key');
      }
      const result = await recordPatientCredit(
        deps,
        tenant,
        {
          patient,
          amount,
          kind: values.adjustment ? 'adjustment' : 'payment',
          key: values.key,
          ...(values.date ? { date: values.date } : {}),
        },
        { clientId: CLI_STATEMENTS_ACTOR },
      );
      if (result.status >= 400) {
        throw new AppealRefused(`${result.status}: ${result.message}`);
      }
      return result;
    }
    default:
      throw new UsageError(`unknown command "statements ${command}"`);
  }
}
