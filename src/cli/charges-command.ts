/**
 * `dripline charges <bundle.json> [--setting office|hospital-outpatient|home] [--payer medicare|medicaid|commercial]`
 *
 * Codes one patient's day (or home-infusion episode) offline, by the same code path as
 * `POST /fhir/Encounter/$infusion-charges`: reads a collection Bundle (or the operation's input
 * Parameters), runs `infusionCharges` with the rule tables, prints the output Parameters (claim,
 * chargeItem*, issues). No server, no store.
 */
import { readFileSync } from 'node:fs';
import type { Parameters } from '@medplum/fhirtypes';
import { UsageError } from './client-command.ts';
import { parseCommandLine } from './args.ts';

export const CHARGES_USAGE = `Usage: dripline charges <bundle.json> [--setting <setting>] [--payer <payer>]

Codes the infusion charges of one patient's day (or home-infusion episode) the way
POST /fhir/Encounter/$infusion-charges does, and prints the output Parameters (claim, chargeItem, issues).

  <bundle.json>      a collection Bundle, or a Parameters resource like the operation's input
  --setting <s>      office | hospital-outpatient | home (default: from Encounter.type)
  --payer <p>        medicare | medicaid | commercial (default: from the primary Coverage)`;

/** A bad bundle: print the OperationOutcome text and exit 2. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export interface ChargesArgs {
  readonly file: string;
  readonly setting?: string;
  readonly payer?: string;
}

export function parseChargesArgs(argv: string[]): ChargesArgs {
  const parsed = parseCommandLine(
    argv,
    {
      setting: { type: 'string' },
      payer: { type: 'string' },
    },
    CHARGES_USAGE,
  );
  const [file, ...extra] = parsed.positionals;
  if (!file) {
    throw new UsageError('a bundle file is required');
  }
  if (extra.length > 0) {
    throw new UsageError(`unexpected argument "${extra[0]}"`);
  }
  return {
    file,
    ...(parsed.values.setting !== undefined ? { setting: parsed.values.setting } : {}),
    ...(parsed.values.payer !== undefined ? { payer: parsed.values.payer } : {}),
  };
}

/** Builds the operation's input Parameters from the file's content and the flags. */
export function chargesParameters(content: unknown, args: Omit<ChargesArgs, 'file'>): Parameters {
  const resource = content as { resourceType?: unknown; parameter?: Parameters['parameter'] };
  let parameters: Parameters;
  if (resource?.resourceType === 'Parameters') {
    // Flags replace the same-named parameters of the file.
    const flagged = new Set(Object.keys(args));
    parameters = {
      resourceType: 'Parameters',
      parameter: (resource.parameter ?? []).filter((p) => !flagged.has(p.name ?? '')),
    };
  } else if (resource?.resourceType === 'Bundle') {
    parameters = { resourceType: 'Parameters', parameter: [{ name: 'bundle', resource: content as never }] };
  } else {
    throw new BundleError('the file must hold a collection Bundle or a Parameters resource');
  }
  return {
    ...parameters,
    parameter: [
      ...(args.setting !== undefined ? [{ name: 'setting', valueCode: args.setting }] : []),
      ...(args.payer !== undefined ? [{ name: 'payer', valueCode: args.payer }] : []),
      ...(parameters.parameter ?? []),
    ],
  };
}

/** Runs the command; returns the output Parameters (the caller prints them). */
export async function runCharges(argv: string[], now = new Date()): Promise<Parameters> {
  const args = parseChargesArgs(argv);
  let text: string;
  try {
    text = readFileSync(args.file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${args.file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { file: _file, ...flags } = args;
  const parameters = chargesParameters(content, flags);
  // The coding engine, its tables and @medplum/core (about a third of a CPU-second to load) only for
  // a file worth coding: a usage error or a file that is not even a Bundle answers without them.
  const [
    { normalizeOperationOutcome, operationOutcomeToString },
    { infusionCharges, parseInfusionChargesParameters },
    { loadCodingTables },
  ] = await Promise.all([
    import('@medplum/core'),
    import('../coding/operation.ts'),
    import('../coding/tables/load.ts'),
  ]);
  try {
    const request = parseInfusionChargesParameters(parameters);
    return infusionCharges(request, loadCodingTables(), now);
  } catch (err) {
    if (err instanceof BundleError) {
      throw err;
    }
    const outcome = normalizeOperationOutcome(err);
    if (outcome.issue?.some((i) => i.severity === 'error' || i.severity === 'fatal') && isClientError(err)) {
      throw new BundleError(operationOutcomeToString(outcome));
    }
    throw err;
  }
}

function isClientError(err: unknown): boolean {
  // OperationOutcomeError from the operation's validation (400); anything else is a bug → exit 1.
  return typeof err === 'object' && err !== null && 'outcome' in err;
}
