/**
 * The command line, as a function of its arguments, environment and output streams (`runCli`):
 * `npm run cli -- <command>` (./main.ts, the `dripline` bin when installed) runs it with the
 * process's own; the tests run most commands through it in their process, and a few through the
 * real binary.
 *
 *   client create --tenant <id> --scope "<scopes>" [--name <n>] [--alg ES384|RS384] [--out <file>]
 *   client list [--tenant <id>]
 *   client disable <client_id>
 *   client rotate-key <client_id> [--alg ES384|RS384] [--out <file>]
 *   token --client <client.json> [--scope "<scopes>"]
 *   charges <bundle.json> [--setting <setting>] [--payer <payer>]
 *   tables import-cms <dir> [--out <tables dir>]
 *   authorizations <patient> [--tenant <id>]
 *   prior-auth <order> [--tenant <id>] [--cancel] [--wait <seconds>]
 *   eligibility <patient id> --client <client.json> [--url <base>] [--json]
 *   estimate <MedicationRequest/id|ServiceRequest/id|Encounter/id> --client <client.json> [--url <base>] [--json]
 *   remit [--tenant <id>] <file.835>...
 *   work-items list [--tenant <id>] [--queue <q>]... [--state <s>]... [--all]
 *   work-items assign|resolve <id> ...
 *   appeal open|outcome|list|sweep|packet ... [--tenant <id>]
 *   statements run|balance|pay ... [--tenant <id>]
 *   tables import-x12-codes <dir> [--out <codes dir>]
 *   tables import-opps-rates <dir> [--out <dir>]
 *   report [--tenant <id>] [--from <date>] [--to <date>] [--by payer|location|drug|code] [--json]
 *   what-if [--tenant <id>] (--encounter <id> | --month <YYYY-MM>) [--mix p:share,...] [--contract p:id,...] [--json]
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { RegisteredBackendClient } from '../auth/client-registration.ts';
import type { DriplineConfig } from '../config/config.ts';
import type { ClientRecord, Store } from '../store/port.ts';
import type { Clock } from '../time/clock.ts';
import {
  parseClientCreateArgs,
  parseClientDisableArgs,
  parseClientListArgs,
  parseClientRotateArgs,
  UsageError,
} from './client-command.ts';
import { checkSecretFileTarget, writeSecretFile } from './client-file.ts';

/** Where a run reads its configuration from and writes to: a process's env, stdout and stderr. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

// Every other module is imported by the command that needs it: the store, the configuration's
// schema, the FHIR definitions, the coding engine, jose and openid-client together cost a process
// about half a CPU-second to load, which a usage error, `--help` or a command that needs only some
// of them should not pay (the tests start a few hundred CLI processes).

/** The operator's configuration (loaded on demand: see above). */
async function loadConfig(io: CliIo): Promise<DriplineConfig> {
  const { loadConfig: load } = await import('../config/config.ts');
  return load(io.env);
}

/** The system clock with the configured offset (loaded on demand: see above). */
async function clockOf(config: DriplineConfig): Promise<Clock> {
  const { systemClock } = await import('../time/clock.ts');
  return systemClock(config.clockOffsetMs);
}

const USAGE = `Usage: npm run cli -- <command>

Commands:
  client create --tenant <id> --scope "<scopes>" [--name <name>] [--alg ES384|RS384] [--out <file>]
      Register a SMART Backend Services client; prints its client file (client_id, token_url,
      fhir_base_url and the private jwk), or writes it to a new 0600 file outside any git work tree.
  client list [--tenant <id>]
      List registered clients (never keys).
  client disable <client_id>
      Disable a client: no new tokens, and its unexpired access tokens stop working at once.
  client rotate-key <client_id> [--alg ES384|RS384] [--out <file>]
      Replace a client's key; prints the new client file. The old key and its tokens stop at once.
  token --client <client.json> [--scope "<scopes>"]
      Get an access token with a client file printed by "client create" (a standard SMART client flow).
  charges <bundle.json> [--setting office|hospital-outpatient|home] [--payer medicare|medicaid|commercial]
      Code one patient's infusion day offline (as POST /fhir/Encounter/$infusion-charges); prints the output Parameters.
  tables import-cms <dir> [--out <tables dir>]
      Build one quarter's drug table from the CMS files in <dir> (ASP pricing, NDC-HCPCS crosswalk, HCPCS,
      OPPS Addendum B, MUE); writes <tables dir>/cms/<quarter>.json (default: the shipped tables).
  authorizations <patient> [--tenant <id>]
      A patient's prior authorization ledger (as GET /api/coverage/authorizations?patient=): per
      authorization the units or visits authorized, used (by which charges, on which claims), left,
      and when it ends; infusions given without one; booked visits; open work items. Audited.
  prior-auth <MedicationRequest/id|ServiceRequest/id> [--tenant <id>] [--cancel] [--wait <seconds>]
      Ask the order's payer for prior authorization now (Da Vinci PAS), or cancel it; the running server
      sends it. With --wait, prints the payer's decision once it is in.
  eligibility <patient id> --client <client.json> [--url <base>] [--json]
      Check the patient's coverage with every payer now (POST /api/eligibility/check); prints what each said.
  remit [--tenant <id>] <file.835>...
      Receive and post payers' 835 remittance files (as POST /api/remittance/835); progress on stderr,
      a JSON summary per file on stdout; exit 4 when a file was rejected.
  work-items list [--tenant <id>] [--queue <q>]... [--state <s>]... [--all]
  work-items assign <id> <person or team> [--reason <text>] | resolve <id> <state> --reason <text>
      Remittance work items (denials, underpayments) as /api/remittance/work-items lists and changes
      them, audited; resolve closes a denial as upheld|written-off, an underpayment as
      recovered|accepted|written-off; exit 4 when refused.
  tables import-x12-codes <dir> [--out <codes dir>]
      Build the CARC and RARC tables from the public X12 code lists in <dir> and Dripline's notes
      (src/remittance/codes/*-notes.json); writes carc-table.json and rarc-table.json.
  appeal open|outcome|list|sweep|packet ... [--tenant <id>]
      Appeals of denied or underpaid claims (as /api/remittance/appeals); "appeal --help" for details.
  statements run|balance|pay ... [--tenant <id>]
      Patient statements: the cycle's run (PDFs under DATA_DIR/statements), a balance, a payment or
      adjustment (once per --key); "statements --help" for details.
  tables import-opps-rates <dir> [--out <dir>]
      Build the OPPS reference rates of the infusion administration and access codes (contracts priced
      as a percentage of OPPS) from the OPPS Addendum B file in <dir>; writes opps-<quarter>.json.
  report [--tenant <id>] [--from <date>] [--to <date>] [--by payer|location|drug|code] [--json]
      Revenue analytics of a tenant (as GET /api/analytics/{measure}): every measure over the range (the
      tenant's local dates, both included; default the last 30 days), as a table, or JSON. Audited.
  what-if [--tenant <id>] (--encounter <id> | --month <YYYY-MM>) [--mix payer:share,...] [--contract payer:contractId,...] [--json]
      What the claims of an encounter or a month would be allowed under another payer mix (shares
      summing to 1) or another contract of the tenant's contracts file, beside what they are now.`;

async function withStore<T>(config: DriplineConfig, run: (store: Store) => Promise<T>): Promise<T> {
  const { openStore } = await import('../store/open.ts');
  const store = await openStore(config);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** Prints the client file, or writes it where the operator said (./client-file.ts). */
function emitClientFile(client: RegisteredBackendClient, out: string | undefined, io: CliIo): number {
  const text = JSON.stringify(client, null, 2) + '\n';
  if (out === undefined) {
    io.stdout.write(text);
    return 0;
  }
  let file: string;
  try {
    file = writeSecretFile(out, text);
  } catch (err) {
    // The client is registered (or its key replaced) already: never lose the only copy of its key.
    io.stderr.write(
      `dripline: could not write ${out} (${err instanceof Error ? err.message : String(err)}); the client file follows on stdout\n`,
    );
    io.stdout.write(text);
    return 1;
  }
  io.stdout.write(
    JSON.stringify({ client_id: client.client_id, tenant: client.tenant, file }, null, 2) + '\n',
  );
  return 0;
}

/** A client as `client list` shows it: what it is and may do, and its key ids — no key material. */
function listed(client: ClientRecord): Record<string, unknown> {
  return {
    client_id: client.clientId,
    tenant: client.tenant,
    ...(client.name !== undefined ? { name: client.name } : {}),
    scope: client.scope,
    created_at: client.createdAt,
    disabled: client.disabled === true,
    keys: client.jwks.keys.map((k) => ({ kid: k['kid'], alg: k['alg'], kty: k['kty'] })),
  };
}

async function clientCommand(sub: string | undefined, argv: string[], io: CliIo): Promise<number> {
  if (sub === 'create') {
    const args = parseClientCreateArgs(argv);
    if (args.out !== undefined) {
      checkSecretFileTarget(args.out);
    }
    const config = await loadConfig(io);
    if (!config.tenants.some((t) => t.id === args.tenant)) {
      throw new UsageError(
        `unknown tenant "${args.tenant}"; configured tenants: ${config.tenants.map((t) => t.id).join(', ') || '(none)'}`,
      );
    }
    const { registerBackendClient } = await import('../auth/client-registration.ts');
    const client = await withStore(config, (store) =>
      registerBackendClient(store.auth, {
        tenant: args.tenant,
        scope: args.scope,
        alg: args.alg,
        now: new Date(),
        publicUrl: config.publicUrl,
        ...(args.name ? { name: args.name } : {}),
      }),
    );
    return emitClientFile(client, args.out, io);
  } else if (sub === 'list') {
    const args = parseClientListArgs(argv);
    const config = await loadConfig(io);
    const clients = await withStore(config, (store) => store.auth.listClients(args.tenant));
    io.stdout.write(JSON.stringify(clients.map(listed), null, 2) + '\n');
  } else if (sub === 'disable') {
    const args = parseClientDisableArgs(argv);
    const { disableClient } = await import('../auth/client-registration.ts');
    const client = await withStore(await loadConfig(io), (store) => disableClient(store.auth, args.clientId));
    io.stdout.write(JSON.stringify(listed(client), null, 2) + '\n');
  } else if (sub === 'rotate-key') {
    const args = parseClientRotateArgs(argv);
    if (args.out !== undefined) {
      checkSecretFileTarget(args.out);
    }
    const config = await loadConfig(io);
    const { rotateClientKey } = await import('../auth/client-registration.ts');
    const client = await withStore(config, (store) =>
      rotateClientKey(store.auth, args.clientId, { alg: args.alg, publicUrl: config.publicUrl }),
    );
    return emitClientFile(client, args.out, io);
  } else {
    throw new UsageError(`unknown command "client ${sub ?? ''}"`);
  }
  return 0;
}

async function token(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { client: { type: 'string' }, scope: { type: 'string' } },
    strict: true,
  });
  if (!values.client) {
    throw new UsageError('--client <client.json> is required');
  }
  const { requestBackendToken } = await import('./token-command.ts');
  const client = JSON.parse(readFileSync(values.client, 'utf8')) as Parameters<typeof requestBackendToken>[0];
  let result;
  try {
    result = await requestBackendToken(client, values.scope);
  } catch (err) {
    // openid-client's error for an OAuth error response carries the RFC 6749 error and description.
    const { error, error_description: description } = err as { error?: unknown; error_description?: unknown };
    if (typeof error === 'string') {
      throw new Error(
        `the token endpoint answered ${error}${typeof description === 'string' ? `: ${description}` : ''}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  io.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

async function remit(argv: string[], io: CliIo): Promise<number> {
  const { parseRemitArgs, runRemit } = await import('./remit-command.ts');
  const args = parseRemitArgs(argv);
  const config = await loadConfig(io);
  const { loadFhirDefinitions } = await import('../fhir/definitions.ts');
  loadFhirDefinitions();
  const { createLogger } = await import('../logger.ts');
  const logger = createLogger('warn', io.stderr);
  const summaries = await withStore(config, (store) =>
    runRemit(args, config, store, logger, (line) => io.stderr.write(`${line}\n`)),
  );
  io.stdout.write(JSON.stringify(summaries, null, 2) + '\n');
  return summaries.some((s) => s.outcome === 'rejected' || s.outcome === 'refused') ? 4 : 0;
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, sub, ...rest] = argv;
  // What follows the command: the argv of commands without subcommands.
  const afterCommand = argv.slice(1);
  if (command === 'client') {
    return await clientCommand(sub, rest, io);
  } else if (command === 'charges') {
    const { runCharges } = await import('./charges-command.ts');
    const output = await runCharges(afterCommand);
    io.stdout.write(JSON.stringify(output, null, 2) + '\n');
  } else if (command === 'tables' && sub === 'import-cms') {
    // Loaded on demand: the importer (CSV reader, parsers) is not needed by any other command.
    const { runImportCms } = await import('./tables-command.ts');
    const summary = runImportCms(rest, new Date());
    io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else if (command === 'authorizations') {
    const { parseAuthorizationsArgs, runAuthorizations } = await import('./authorizations-command.ts');
    const args = parseAuthorizationsArgs(afterCommand);
    const config = await loadConfig(io);
    const report = await withStore(config, (store) => runAuthorizations(args, config, store));
    io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else if (command === 'prior-auth') {
    const { runPriorAuth } = await import('./prior-auth-command.ts');
    const config = await loadConfig(io);
    const clock = await clockOf(config);
    const result = await withStore(config, (store) => runPriorAuth(config, store, afterCommand, clock));
    io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else if (command === 'eligibility') {
    const { runEligibility } = await import('./eligibility-command.ts');
    io.stdout.write((await runEligibility(afterCommand)) + '\n');
  } else if (command === 'report') {
    const { formatReport, parseReportArgs, runReport } = await import('./report-command.ts');
    const args = parseReportArgs(afterCommand);
    const config = await loadConfig(io);
    const clock = await clockOf(config);
    const results = await withStore(config, (store) => runReport(args, config, store, clock));
    const name = config.tenants.find((t) => args.tenant === undefined || t.id === args.tenant)?.name ?? '';
    io.stdout.write((args.json ? JSON.stringify(results, null, 2) : formatReport(name, results)) + '\n');
  } else if (command === 'what-if') {
    const { formatWhatIf, parseWhatIfArgs, runWhatIfCommand } = await import('./what-if-command.ts');
    const args = parseWhatIfArgs(afterCommand);
    const config = await loadConfig(io);
    const clock = await clockOf(config);
    const result = await withStore(config, (store) => runWhatIfCommand(args, config, store, clock));
    io.stdout.write((args.json ? JSON.stringify(result, null, 2) : formatWhatIf(result)) + '\n');
  } else if (command === 'estimate') {
    const { runEstimate } = await import('./estimate-command.ts');
    io.stdout.write((await runEstimate(afterCommand)) + '\n');
  } else if (command === 'remit') {
    return await remit(afterCommand, io);
  } else if (command === 'work-items') {
    const { parseWorkItemsArgs, runWorkItems } = await import('./work-items-command.ts');
    const args = parseWorkItemsArgs(afterCommand);
    const config = await loadConfig(io);
    const { loadFhirDefinitions } = await import('../fhir/definitions.ts');
    loadFhirDefinitions();
    const result = await withStore(config, (store) => runWorkItems(args, config, store));
    io.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if ('status' in result && result.status >= 400) {
      return 4;
    }
  } else if (command === 'tables' && sub === 'import-x12-codes') {
    const { runImportX12Codes } = await import('./remittance-tables-command.ts');
    io.stdout.write(JSON.stringify(runImportX12Codes(rest, new Date()), null, 2) + '\n');
  } else if (command === 'tables' && sub === 'import-opps-rates') {
    const { runImportOppsRates } = await import('./remittance-tables-command.ts');
    io.stdout.write(JSON.stringify(runImportOppsRates(rest, new Date()), null, 2) + '\n');
  } else if (command === 'appeal') {
    const { runAppeal } = await import('./appeal-command.ts');
    const config = await loadConfig(io);
    const clock = await clockOf(config);
    const result = await withStore(config, (store) => runAppeal(afterCommand, config, store, clock));
    io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else if (command === 'statements') {
    const { runStatementsCommand } = await import('./statements-command.ts');
    const config = await loadConfig(io);
    const clock = await clockOf(config);
    const result = await withStore(config, (store) =>
      runStatementsCommand(afterCommand, config, store, clock),
    );
    io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else if (command === 'token') {
    await token(afterCommand, io);
  } else if (command === undefined || command === 'help' || command === '--help') {
    io.stdout.write(USAGE + '\n');
  } else {
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  }
  return 0;
}

/**
 * Runs one command line; resolves to the exit code: 0 done, 1 failed, 2 usage (or input) error,
 * 4 refused (a rejected 835, a refused work item or appeal change), 78 bad configuration. Messages
 * go to `io.stderr`, results to `io.stdout`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch([...argv], io);
  } catch (err) {
    return failure(err, io);
  }
}

function failure(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr.write(err.help ? `${err.message}\n` : `dripline: ${err.message}\n\n${USAGE}\n`);
    return err.help ? 0 : 2;
  }
  if (err instanceof Error && err.name === 'AppealRefused') {
    io.stderr.write(`dripline: ${err.message}\n`);
    return 4;
  }
  // By name: the modules that define these errors are loaded only by the commands that throw them.
  if (
    err instanceof Error &&
    [
      'BundleError',
      'ClientFileError',
      'ClientRegistrationError',
      'CmsImportError',
      'PriorAuthUsageError',
      'CodeImportError',
      'ReferenceImportError',
    ].includes(err.name)
  ) {
    io.stderr.write(`dripline: ${err.message}\n`);
    return 2;
  }
  if (err instanceof Error && err.name === 'ConfigError') {
    io.stderr.write(`dripline: ${err.message}\n`);
    return 78;
  }
  io.stderr.write(`dripline: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
