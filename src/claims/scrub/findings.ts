/**
 * How checks report: a finding takes its severity, source and fix from the rule table (an
 * UNVERIFIED table entry only warns, and may be overridden), and the claim's lines as every check
 * reads them (code, modifiers, date, units, the drug behind a HCPCS code).
 */
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import { SYSTEMS } from '../../coding/fhir/extract.ts';
import { findDrug } from '../../coding/tables/find-drug.ts';
import type { CodingTables, DrugEntry, Verification } from '../../coding/tables/types.ts';
import type { ScrubFinding } from '../types.ts';
import type { ClaimRules, RuleId } from './rules.ts';
import { EXT_CLAIM_FREQUENCY } from '../../contract/canonical.ts';
import { DAY_MS } from '../../time/clock.ts';

export interface Line {
  readonly item: ClaimItem;
  readonly sequence: number;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly date: string;
  readonly units: number;
  readonly drug?: DrugEntry;
}

export function lineOf(item: ClaimItem, tables: CodingTables): Line {
  const code = item.productOrService.coding?.find((c) => c.code !== undefined)?.code ?? '';
  const isHcpcs = item.productOrService.coding?.some(
    (c) => c.system === SYSTEMS.hcpcs || c.system === SYSTEMS.hcpcsAlt,
  );
  const drug = isHcpcs ? findDrug(tables, { hcpcs: code })?.drug : undefined;
  return {
    item,
    sequence: item.sequence,
    code,
    modifiers: (item.modifier ?? []).flatMap((m) => (m.coding ?? []).map((c) => c.code ?? '')),
    date: (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10),
    units: item.quantity?.value ?? 0,
    ...(drug ? { drug } : {}),
  };
}

export function daysBetween(from: string, to: string): number {
  return Math.round(
    (Date.parse(`${to.slice(0, 10)}T00:00:00Z`) - Date.parse(`${from.slice(0, 10)}T00:00:00Z`)) / DAY_MS,
  );
}

export function idOf(reference: string | undefined, type: string): string | undefined {
  return reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined;
}

export function claimDiagnosisCodes(claim: Claim): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of claim.diagnosis ?? []) {
    const code = d.diagnosisCodeableConcept?.coding?.find((c) => c.system === SYSTEMS.icd10cm)?.code;
    if (code) {
      out.set(d.sequence, code);
    }
  }
  return out;
}

export function frequencyOf(claim: Claim): string {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode ?? '1';
}

export class Findings {
  readonly list: ScrubFinding[] = [];
  private readonly rules: ClaimRules;

  constructor(rules: ClaimRules) {
    this.rules = rules;
  }

  /** Findings of rules kept with another capability (eligibility: src/coverage/eligibility/rules.json). */
  include(findings: readonly ScrubFinding[]): void {
    this.list.push(...findings);
  }

  add(
    ruleId: RuleId,
    message: string,
    opts: {
      itemSequence?: number;
      verification?: Verification;
      source?: string;
      fix?: string;
      overridable?: boolean;
    } = {},
  ): void {
    const rule = this.rules.rules[ruleId];
    if (!rule) {
      return;
    }
    const unverified = opts.verification === 'UNVERIFIED';
    const severity = unverified && rule.severity === 'error' ? 'warning' : rule.severity;
    const source = [rule.source, opts.source, rule.carc ? `CARC ${rule.carc}` : undefined]
      .filter((s): s is string => s !== undefined)
      .join('; ');
    this.list.push({
      severity,
      ruleId,
      source,
      message: unverified ? `${message} (table entry UNVERIFIED: configurable, warning only)` : message,
      fix: opts.fix ?? rule.fix,
      ...(opts.itemSequence !== undefined ? { itemSequence: opts.itemSequence } : {}),
      overridable: unverified ? true : (opts.overridable ?? rule.overridable),
    });
  }
}
