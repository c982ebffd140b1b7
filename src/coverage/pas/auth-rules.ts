/**
 * Which services need prior authorization, per payer and date of service: one table
 * (src/coverage/rules/prior-auth.json), read here by the prior authorization trigger and by the claim
 * scrubber alike, so an order that needs a PAS request and a claim that needs an authorization
 * number are the same rule. Pure once loaded.
 *
 * The table: defaults per payer kind (`payers`, in force from the table's `effective`), and entries
 * for one payer (`byPayer`: its payer id as on claims, its own `effective` and optional `until`),
 * which replace the kind's default while in force. Several entries in force: the one with the latest
 * `effective` wins. Sources: the table's `sources` (../shared/research/market.md §2, pas.md).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verification } from '../../coding/tables/types.ts';
import type { PayerKind } from '../../coding/types.ts';

export interface PriorAuthRule {
  readonly therapyClasses: readonly string[];
  readonly hcpcs: readonly string[];
  readonly exempt: readonly string[];
  readonly verification: Verification;
}

/** A rule for one payer, in force from `effective` (YYYY-MM-DD) to `until` (inclusive, open when absent). */
export interface PayerPriorAuthRule extends PriorAuthRule {
  readonly payerId: string;
  readonly effective: string;
  readonly until?: string;
  readonly source?: string;
}

export interface PriorAuthTable {
  /** Kind defaults are in force from this date. */
  readonly effective: string;
  readonly payers: Readonly<Record<PayerKind, PriorAuthRule>>;
  readonly byPayer: readonly PayerPriorAuthRule[];
}

/** The rule that decided, with where it came from (for findings and the request's record). */
export interface RuleInForce extends PriorAuthRule {
  /** "prior-auth.json commercial [UNVERIFIED]" or "prior-auth.json SBX-COMMERCIAL from 2026-01-01 [...]". */
  readonly source: string;
}

const TABLE_FILE = join(dirname(fileURLToPath(import.meta.url)), '../rules/prior-auth.json');
const KINDS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`prior-auth.json: ${where} must be a list of strings`);
  }
  return value;
}

function ruleOf(value: unknown, where: string): PriorAuthRule {
  const raw = (value ?? {}) as Record<string, unknown>;
  const verification = raw['verification'];
  if (verification !== 'V' && verification !== 'C' && verification !== 'UNVERIFIED') {
    throw new Error(`prior-auth.json: ${where}.verification must be V, C or UNVERIFIED`);
  }
  return {
    therapyClasses: stringList(raw['therapyClasses'], `${where}.therapyClasses`),
    hcpcs: stringList(raw['hcpcs'], `${where}.hcpcs`).map((c) => c.toUpperCase()),
    exempt: stringList(raw['exempt'] ?? [], `${where}.exempt`).map((c) => c.toUpperCase()),
    verification,
  };
}

/** Checks and types a table as read from JSON (throws naming the bad field). */
export function parsePriorAuthTable(raw: unknown): PriorAuthTable {
  const table = (raw ?? {}) as Record<string, unknown>;
  const effective = table['effective'];
  if (typeof effective !== 'string' || !DATE.test(effective)) {
    throw new Error('prior-auth.json: effective must be a date (YYYY-MM-DD)');
  }
  const payers = (table['payers'] ?? {}) as Record<string, unknown>;
  const byKind = Object.fromEntries(
    KINDS.map((kind) => {
      if (!payers[kind]) {
        throw new Error(`prior-auth.json: payer kind ${kind} is missing`);
      }
      return [kind, ruleOf(payers[kind], `payers.${kind}`)];
    }),
  ) as Record<PayerKind, PriorAuthRule>;
  const byPayer = stringlessArray(table['byPayer']).map((entry, i): PayerPriorAuthRule => {
    const where = `byPayer[${i}]`;
    const e = entry as Record<string, unknown>;
    const payerId = e['payerId'];
    const from = e['effective'];
    const until = e['until'];
    if (typeof payerId !== 'string' || payerId === '') {
      throw new Error(`prior-auth.json: ${where}.payerId is required`);
    }
    if (
      typeof from !== 'string' ||
      !DATE.test(from) ||
      (until !== undefined && (typeof until !== 'string' || !DATE.test(until)))
    ) {
      throw new Error(`prior-auth.json: ${where}.effective (and until) must be dates (YYYY-MM-DD)`);
    }
    return {
      ...ruleOf(e, where),
      payerId,
      effective: from,
      ...(typeof until === 'string' ? { until } : {}),
      ...(typeof e['source'] === 'string' ? { source: e['source'] } : {}),
    };
  });
  return { effective, payers: byKind, byPayer };
}

function stringlessArray(value: unknown): unknown[] {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new Error('prior-auth.json: byPayer must be a list');
  }
  return value;
}

let cached: PriorAuthTable | undefined;

/** The shipped table, read and checked once per process. */
export function loadPriorAuthTable(): PriorAuthTable {
  cached ??= parsePriorAuthTable(JSON.parse(readFileSync(TABLE_FILE, 'utf8')));
  return cached;
}

const NOTHING_REQUIRED: PriorAuthRule = {
  therapyClasses: [],
  hcpcs: [],
  exempt: [],
  verification: 'UNVERIFIED',
};

/**
 * The rule in force for a payer on a date (YYYY-MM-DD): the latest-effective entry for its payer id
 * in force then, else its kind's default (from the table's effective date), else nothing required.
 */
export function authorizationRuleFor(
  table: PriorAuthTable,
  payer: { readonly payerId: string; readonly kind: PayerKind },
  date: string,
): RuleInForce {
  const own = table.byPayer
    .filter(
      (r) => r.payerId === payer.payerId && r.effective <= date && (r.until === undefined || date <= r.until),
    )
    .sort((a, b) => b.effective.localeCompare(a.effective))[0];
  if (own) {
    return {
      ...own,
      source: `prior-auth.json ${own.payerId} from ${own.effective}${own.source ? ` (${own.source})` : ''} [${own.verification}]`,
    };
  }
  if (date < table.effective) {
    return { ...NOTHING_REQUIRED, source: `prior-auth.json: no rule in force on ${date}` };
  }
  const rule = table.payers[payer.kind];
  return { ...rule, source: `prior-auth.json ${payer.kind} [${rule.verification}]` };
}

/** Whether a drug code (with its therapy class, when the catalog knows it) needs authorization under a rule. */
export function requiresAuthorization(
  rule: PriorAuthRule,
  code: string,
  therapyClass: string | undefined,
): boolean {
  const upper = code.toUpperCase();
  return (
    !rule.exempt.includes(upper) &&
    (rule.hcpcs.includes(upper) || (therapyClass !== undefined && rule.therapyClasses.includes(therapyClass)))
  );
}
