/**
 * The payer contracts file format: its JSON Schema, reading and validating one (and the fee
 * schedule CSV files it names). In config because a tenant's contracts are named in the
 * configuration (`tenants[].contracts.file`) and a bad file must stop the boot with a message
 * naming it; what a contract expects a line to be paid is the remittance capability's business
 * (src/remittance/contracts/).
 *
 * A file holds contracts per payer, each with effective dates and an ordered list of terms; the
 * first term that applies to a line prices it, carve-outs before everything else:
 * - `fee-schedule`: code → allowed amount per unit (inline `rates`, or a `ratesFile` CSV
 *   `code,rate` beside the contracts file);
 * - `percent-of-reference`: a percentage of a reference schedule per unit — `medicare-asp` (the
 *   drug's ASP: CMS's payment limit is ASP + 6 %, so "ASP + 6 %" is 106), `opps` (OPPS national
 *   rates), `medicare-physician` (physician fee schedule, seeded UNVERIFIED);
 * - `percent-of-billed`: a percentage of the line's charge.
 * `match` narrows a term to codes (single codes or ranges `96360-96549`), to drugs (HCPCS J/Q
 * codes and codes the CMS drug table prices) or to lines with a modifier.
 *
 * A bad file throws `ContractsFileError` naming the file and every problem's JSON path.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
// The schema (./file-schemas.ts) compiled ahead of time (./standalone-validators.ts).
import { contracts as validator } from './file-validators.js';
import { CODE } from './file-schemas.ts';
import { describeSchemaError } from './schema-issues.ts';

/** Schedules a `percent-of-reference` term can name (src/remittance/contracts/references.ts). */
export type ReferenceScheduleId = 'medicare-asp' | 'opps' | 'medicare-physician';

export interface TermMatch {
  /** Codes and ranges (`96360-96549`, inclusive, compared as text of the same length). */
  readonly codes?: readonly string[];
  /** Drugs only (true) or everything but drugs (false). */
  readonly drugs?: boolean;
  /** Lines carrying one of these modifiers. */
  readonly modifiers?: readonly string[];
}

interface TermBase {
  readonly id: string;
  /** A drug carve-out (or any term) priced apart from the rest: evaluated before other terms. */
  readonly carveOut?: boolean;
  readonly match?: TermMatch;
  /** Where in the contract the term is written (section, exhibit, amendment). */
  readonly note?: string;
}

export type ContractTerm =
  | (TermBase & {
      readonly kind: 'fee-schedule';
      /** Code → allowed USD per unit of the code (rates and ratesFile merged; rates win). */
      readonly rates: Readonly<Record<string, number>>;
      /** The CSV it was read from, absolute, when it came from one. */
      readonly ratesFile?: string;
    })
  | (TermBase & {
      readonly kind: 'percent-of-reference';
      readonly reference: ReferenceScheduleId;
      /** Percent of the reference rate, e.g. 106 for "ASP + 6 %". */
      readonly percent: number;
    })
  | (TermBase & { readonly kind: 'percent-of-billed'; readonly percent: number });

export interface Contract {
  readonly id: string;
  /** The tenant payer (config `payers[].id`) it is with. */
  readonly payer: string;
  readonly name: string;
  /** First and (optional) last date of service it covers, YYYY-MM-DD. */
  readonly effective: string;
  readonly through?: string;
  /** Where the contract's figures come from (document, section, signature date): the evidence. */
  readonly source: string;
  /**
   * Percent of the payment the payer withholds by statute (Medicare sequestration, CARC 253); default
   * 2 for Medicare payers, 0 otherwise. A CARC 253 reduction up to this share is expected, never an
   * underpayment.
   */
  readonly sequestrationPercent?: number;
  readonly terms: readonly ContractTerm[];
}

export interface ContractsFile {
  readonly title: string;
  readonly contracts: readonly Contract[];
  /** Absolute path it was read from. */
  readonly file?: string;
}

export interface ContractsIssue {
  readonly path: string;
  readonly message: string;
}

export class ContractsFileError extends Error {
  readonly file: string;
  readonly issues: readonly ContractsIssue[];
  constructor(file: string, issues: readonly ContractsIssue[]) {
    super(
      `Invalid contracts file ${file} (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n  ${issues
        .map((i) => `${i.path}: ${i.message}`)
        .join('\n  ')}`,
    );
    this.name = 'ContractsFileError';
    this.file = file;
    this.issues = issues;
  }
}

function validate(data: unknown): readonly ErrorObject[] {
  return validator(data) ? [] : (validator.errors ?? []);
}

/** A fee schedule CSV: header `code,rate`, then one code per line (USD per unit). */
export function parseRatesCsv(text: string): { rates: Record<string, number>; issues: string[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const issues: string[] = [];
  const rates: Record<string, number> = {};
  if ((lines[0] ?? '').trim().toLowerCase().replace(/\s/g, '') !== 'code,rate') {
    issues.push('line 1: the header must be "code,rate"');
    return { rates, issues };
  }
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') {
      return;
    }
    const [code = '', rate = '', ...rest] = line.split(',').map((c) => c.trim());
    const value = Number(rate);
    if (
      rest.length > 0 ||
      !new RegExp(CODE).test(code) ||
      rate === '' ||
      !Number.isFinite(value) ||
      value < 0
    ) {
      issues.push(`line ${i + 2}: expected <code>,<rate in USD>, got "${line.slice(0, 60)}"`);
    } else if (code in rates) {
      issues.push(`line ${i + 2}: ${code} is listed twice`);
    } else {
      rates[code] = value;
    }
  });
  return { rates, issues };
}

/** Validates parsed contracts (and reads their rates files, relative to `dir`); every issue found. */
export function contractsIssues(
  data: unknown,
  dir: string,
): { issues: ContractsIssue[]; contracts?: ContractsFile } {
  const schemaErrors = validate(data);
  if (schemaErrors.length > 0) {
    return { issues: schemaErrors.map(describeSchemaError) };
  }
  const raw = data as ContractsFile;
  const issues: ContractsIssue[] = [];
  const ids = new Set<string>();
  const contracts = raw.contracts.map((contract, c): Contract => {
    if (ids.has(contract.id)) {
      issues.push({ path: `$.contracts[${c}].id`, message: `"${contract.id}" is used twice` });
    }
    ids.add(contract.id);
    if (contract.through !== undefined && contract.through < contract.effective) {
      issues.push({ path: `$.contracts[${c}].through`, message: 'is before effective' });
    }
    const termIds = new Set<string>();
    const terms = contract.terms.map((term, t): ContractTerm => {
      const path = `$.contracts[${c}].terms[${t}]`;
      if (termIds.has(term.id)) {
        issues.push({ path: `${path}.id`, message: `"${term.id}" is used twice in the contract` });
      }
      termIds.add(term.id);
      if (term.kind === 'fee-schedule' && term.ratesFile === undefined && term.rates === undefined) {
        issues.push({ path, message: 'a fee-schedule term needs rates or a ratesFile' });
      }
      for (const range of term.match?.codes ?? []) {
        const [from, to] = range.split('-');
        if (to !== undefined && (from === undefined || from.length !== to.length || from > to)) {
          issues.push({
            path: `${path}.match.codes`,
            message: `"${range}" is not a range of codes of one form`,
          });
        }
      }
      if (term.kind !== 'fee-schedule' || term.ratesFile === undefined) {
        return term.kind === 'fee-schedule' ? { ...term, rates: term.rates ?? {} } : term;
      }
      const file = resolve(dir, term.ratesFile);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        issues.push({ path: `${path}.ratesFile`, message: `cannot read ${file}: ${(err as Error).message}` });
        return term;
      }
      const parsed = parseRatesCsv(text);
      parsed.issues.forEach((message) => issues.push({ path: `${path}.ratesFile (${file})`, message }));
      return { ...term, ratesFile: file, rates: { ...parsed.rates, ...(term.rates ?? {}) } };
    });
    // Overlapping contracts of one payer would make "the contract in force" ambiguous.
    return { ...contract, terms };
  });
  contracts.forEach((a, i) => {
    contracts.slice(i + 1).forEach((b, j) => {
      const overlap =
        a.payer === b.payer &&
        a.effective <= (b.through ?? '9999-12-31') &&
        b.effective <= (a.through ?? '9999-12-31');
      if (overlap) {
        issues.push({
          path: `$.contracts[${i + j + 1}]`,
          message: `its dates overlap contract "${a.id}" with the same payer: one contract per payer per date`,
        });
      }
    });
  });
  return issues.length > 0 ? { issues } : { issues, contracts: { title: raw.title, contracts } };
}

/** Reads and validates a contracts file; throws ContractsFileError naming it and every problem. */
export function readContractsFile(path: string): ContractsFile {
  const file = resolve(path);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ContractsFileError(file, [{ path: '$', message: (err as Error).message }]);
  }
  const { issues, contracts } = contractsIssues(data, dirname(file));
  if (!contracts) {
    throw new ContractsFileError(file, issues);
  }
  return { ...contracts, file };
}
