/**
 * The chargemaster file format: its JSON Schema, the issues a file can have, and reading and
 * validating one. In config because a tenant's chargemaster is named in the configuration and a
 * bad file must stop the boot with a message naming it; pricing from the validated data is the
 * claims' business (src/claims/chargemaster.ts).
 *
 * A bad file throws a `ChargemasterError` naming the file and the JSON path of every problem.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
// The schema (./file-schemas.ts) compiled ahead of time (./standalone-validators.ts).
import { chargemaster as validator } from './file-validators.js';
import { describeSchemaError } from './schema-issues.ts';

export interface ChargemasterEntry {
  /** CPT (5 digits, or 4 digits + letter) or HCPCS Level II (letter + 4 digits). */
  readonly code: string;
  readonly label: string;
  readonly kind: 'administration' | 'drug' | 'supply' | 'per-diem' | 'other';
  /** What one unit is: `service`, or a drug's HCPCS billing unit such as `10 mg`. */
  readonly per: string;
  /** Gross charge per unit, USD, at most 2 decimals. */
  readonly price: number;
}

export interface ChargemasterFile {
  readonly title: string;
  readonly sources: readonly string[];
  readonly effective: string;
  readonly notes?: string;
  readonly currency: 'USD';
  /** Price per unit for codes the file does not list. */
  readonly default: { readonly price: number; readonly notes?: string };
  readonly charges: readonly ChargemasterEntry[];
}

export interface ChargemasterIssue {
  /** JSONPath into the file, e.g. `$.charges[3].price`. */
  readonly path: string;
  readonly message: string;
}

/** The chargemaster failed to read, parse or validate. The message names the file and every path. */
export class ChargemasterError extends Error {
  readonly file: string;
  readonly issues: readonly ChargemasterIssue[];
  constructor(file: string, issues: readonly ChargemasterIssue[]) {
    super(
      `Invalid chargemaster ${file} (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n  ${issues
        .map((i) => `${i.path}: ${i.message}`)
        .join('\n  ')}`,
    );
    this.name = 'ChargemasterError';
    this.file = file;
    this.issues = issues;
  }
}

function validate(data: unknown): readonly ErrorObject[] {
  return validator(data) ? [] : (validator.errors ?? []);
}

function isCents(value: number): boolean {
  return Math.abs(value * 100 - Math.round(value * 100)) < 1e-7;
}

/** Validates parsed chargemaster data; returns every issue found (empty when valid). */
export function chargemasterIssues(data: unknown): ChargemasterIssue[] {
  const schemaErrors = validate(data);
  if (schemaErrors.length > 0) {
    return schemaErrors.map(describeSchemaError);
  }
  const file = data as ChargemasterFile;
  const issues: ChargemasterIssue[] = [];
  if (!isCents(file.default.price)) {
    issues.push({ path: '$.default.price', message: 'must have at most 2 decimals' });
  }
  const seen = new Map<string, number>();
  file.charges.forEach((entry, i) => {
    if (!isCents(entry.price)) {
      issues.push({ path: `$.charges[${i}].price`, message: 'must have at most 2 decimals' });
    }
    const first = seen.get(entry.code);
    if (first !== undefined) {
      issues.push({
        path: `$.charges[${i}].code`,
        message: `duplicates ${entry.code} of $.charges[${first}]`,
      });
    } else {
      seen.set(entry.code, i);
    }
  });
  return issues;
}

const cache = new Map<string, ChargemasterFile>();

/**
 * Reads and validates a chargemaster file. Cached per resolved path for the life of the process
 * (what the boot validated is what claims are priced with); throws `ChargemasterError` naming the
 * file and each bad JSON path.
 */
export function readChargemasterFile(file: string): {
  readonly path: string;
  readonly data: ChargemasterFile;
} {
  const path = resolve(file);
  const cached = cache.get(path);
  if (cached) {
    return { path, data: cached };
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ChargemasterError(path, [
      {
        path: '$',
        message: code === 'ENOENT' ? 'file not found' : `cannot be read or parsed: ${(err as Error).message}`,
      },
    ]);
  }
  const issues = chargemasterIssues(data);
  if (issues.length > 0) {
    throw new ChargemasterError(path, issues);
  }
  cache.set(path, data as ChargemasterFile);
  return { path, data: data as ChargemasterFile };
}
