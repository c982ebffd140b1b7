/**
 * Claim scrubber: every check a claim passes before it leaves, each finding with its severity, rule
 * id, source and fix. Pure: the clock is `ctx.today`, the rule data is loaded once (rules/*.json) and
 * may be passed in.
 *
 * Rules (ids and defaults in rules/scrub-rules.json): the claim valid FHIR for its profile; coverage present, active, covering the dates,
 * with a member id and a subscriber the claim can name (./subscriber.ts), the patient's name, birth
 * date and address; an institutional claim's attending (./attending.ts); NCCI PTP pairs and MUE units (src/coding/tables; UNVERIFIED entries only warn);
 * documentation completeness of the administrations behind each charge (status, start, stop for
 * timed codes, dose, site, order, performer); medical necessity (rules/medical-necessity.json);
 * prior authorization (rules/prior-auth.json); timely filing (payer.timelyFilingDays); payer rules
 * (NDC required, refused codes, JW/JZ as src/coding/engine/waste-modifiers.ts reads them); duplicate claims; place of
 * service; diagnosis pointers; units.
 */
import { readFileSync } from 'node:fs';
import { normalizeErrorString, validateResource } from '@medplum/core';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Claim, ClaimItem, Coverage, MedicationAdministration, Practitioner } from '@medplum/fhirtypes';
import { SYSTEMS } from '../coding/fhir/extract.ts';
import { getOwnProfile, loadFhirDefinitions } from '../fhir/definitions.ts';
import { findDrug } from '../coding/tables/load.ts';
import { checkWasteModifiers } from '../coding/engine/waste-modifiers.ts';
import { isPackagedOn } from '../coding/engine/payment.ts';
import { EXT_RATIONALE } from '../coding/fhir/emit.ts';
import type { CodingTables, DrugEntry, Verification } from '../coding/tables/types.ts';
import { CLAIM_SYSTEMS, EXT_CHARGE_ITEM, EXT_CLAIM_FREQUENCY, PLACE_OF_SERVICE } from './build.ts';
import { EXT_CLAIM_REPLACED_BY } from '../charges/reconcile.ts';
import { servicesFor, withinDates } from './authorizations.ts';
import { readSubscriber } from './subscriber.ts';
import {
  authorizationRuleFor,
  parsePriorAuthTable,
  requiresAuthorization,
} from '../coverage/pas/auth-rules.ts';
import type { PriorAuthTable, RuleInForce } from '../coverage/pas/auth-rules.ts';
import { npi } from './x12/encode.ts';
import type { ClaimContext, ScrubFinding } from './types.ts';
import { EXT_CLAIM_STATE } from './types.ts';

export const RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'rules');

export interface RuleDefault {
  readonly severity: ScrubFinding['severity'];
  readonly overridable: boolean;
  readonly carc?: string;
  readonly source: string;
  readonly fix: string;
}

export interface MedicalNecessityEntry {
  readonly name: string;
  readonly hcpcs: readonly string[];
  /** ICD-10-CM prefixes (category or subcategory, with the dot). */
  readonly covered: readonly string[];
  readonly verification: Verification;
  readonly source: string;
  readonly notes?: string;
}

export interface ClaimRules {
  readonly rules: Readonly<Record<string, RuleDefault>>;
  readonly medicalNecessity: readonly MedicalNecessityEntry[];
  /** Which drugs need prior authorization, per payer and date (read with authorizationRuleFor). */
  readonly priorAuth: PriorAuthTable;
}

let cached: ClaimRules | undefined;

function readRuleFile(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(RULES_DIR, file), 'utf8')) as Record<string, unknown>;
}

/** Loads rules/*.json once per process (a structural check throws on a bad file). */
export function loadClaimRules(): ClaimRules {
  if (!cached) {
    const rules = readRuleFile('scrub-rules.json')['rules'] as ClaimRules['rules'] | undefined;
    const medicalNecessity = readRuleFile('medical-necessity.json')['drugs'] as
      ClaimRules['medicalNecessity'] | undefined;
    const priorAuth = parsePriorAuthTable(readRuleFile('prior-auth.json'));
    if (!rules || !Array.isArray(medicalNecessity)) {
      throw new Error(`claim rules in ${RULES_DIR} are incomplete`);
    }
    for (const id of RULE_IDS) {
      if (!rules[id]) {
        throw new Error(`scrub-rules.json: rule ${id} is missing`);
      }
    }
    cached = { rules, medicalNecessity, priorAuth };
  }
  return cached;
}

/** Every rule id the scrubber can report. */
export const RULE_IDS = [
  'claim-invalid',
  'coverage-missing',
  'coverage-inactive',
  'coverage-period',
  'member-id-missing',
  'subscriber-missing',
  'patient-data-missing',
  'attending-missing',
  'ncci-ptp',
  'mue',
  'doc-administration-missing',
  'doc-status',
  'doc-start-time',
  'doc-stop-time',
  'doc-dose',
  'doc-site',
  'doc-order',
  'doc-signature',
  'med-necessity',
  'prior-auth',
  'prior-auth-service',
  'prior-auth-dates',
  'prior-auth-units',
  'timely-filing',
  'timely-filing-near',
  'payer-ndc-required',
  'payer-refused-code',
  'payer-jw-jz',
  'duplicate-claim',
  'place-of-service',
  'diagnosis-missing',
  'units-invalid',
  'charge-held',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

/** Distinct-service modifiers that bypass an NCCI indicator-1 edit (R13.3). */
const NCCI_BYPASS = new Set(['59', 'XE', 'XS', 'XP', 'XU']);
/** Administration roles whose code depends on duration: they need a stop time. */
const TIMED_ROLES = new Set([
  'initial',
  'additional-hour',
  'sequential',
  'concurrent',
  'prolonged-pump',
  'home-visit',
  'home-visit-additional-hour',
]);
const NEAR_FILING_LIMIT_DAYS = 30;
const DAY_MS = 86_400_000;

interface Line {
  readonly item: ClaimItem;
  readonly sequence: number;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly date: string;
  readonly units: number;
  readonly drug?: DrugEntry;
}

function lineOf(item: ClaimItem, tables: CodingTables): Line {
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

function daysBetween(from: string, to: string): number {
  return Math.round(
    (Date.parse(`${to.slice(0, 10)}T00:00:00Z`) - Date.parse(`${from.slice(0, 10)}T00:00:00Z`)) / DAY_MS,
  );
}

function idOf(reference: string | undefined, type: string): string | undefined {
  return reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined;
}

function claimDiagnosisCodes(claim: Claim): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of claim.diagnosis ?? []) {
    const code = d.diagnosisCodeableConcept?.coding?.find((c) => c.system === SYSTEMS.icd10cm)?.code;
    if (code) {
      out.set(d.sequence, code);
    }
  }
  return out;
}

function frequencyOf(claim: Claim): string {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode ?? '1';
}

class Findings {
  readonly list: ScrubFinding[] = [];
  private readonly rules: ClaimRules;

  constructor(rules: ClaimRules) {
    this.rules = rules;
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

function checkCoverage(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const insurance = ctx.claim.insurance ?? [];
  if (ctx.coverages.length === 0 || insurance.length === 0) {
    f.add('coverage-missing', 'The claim has no coverage.');
    return;
  }
  const dates = lines
    .map((l) => l.date)
    .filter((d) => d !== '')
    .sort();
  const first = dates[0];
  const last = dates[dates.length - 1];
  ctx.coverages.forEach((coverage: Coverage, i) => {
    const label = `Coverage ${coverage.id ?? `#${i + 1}`} (sequence ${i + 1})`;
    if (coverage.status !== 'active') {
      f.add('coverage-inactive', `${label} has status ${coverage.status}, not active.`);
    }
    const start = coverage.period?.start?.slice(0, 10);
    const end = coverage.period?.end?.slice(0, 10);
    if (first && last && ((start && first < start) || (end && last > end))) {
      f.add(
        'coverage-period',
        `${label} covers ${start ?? '…'} to ${end ?? '…'}, not the dates of service ${first} to ${last}.`,
      );
    }
    const memberId = coverage.subscriberId ?? coverage.identifier?.find((id) => id.value)?.value;
    if (!memberId || memberId.trim() === '') {
      f.add('member-id-missing', `${label} has no member id (subscriberId or identifier).`);
    }
  });
  const focal = insurance.find((ins) => ins.focal);
  const primary = ctx.coverages[0];
  if (!focal || (primary?.id && idOf(focal.coverage.reference, 'Coverage') !== primary.id)) {
    f.add('coverage-missing', 'The focal insurance of the claim is not the primary coverage.');
  }
  if (primary) {
    // Who the insured is, as the 837 writer reads it (src/claims/subscriber.ts).
    const reading = readSubscriber(primary, ctx.patient, ctx.subscriber);
    if (!reading.ok) {
      const label = `Coverage ${primary.id ?? '#1'}`;
      const of = (party: 'subscriber' | 'patient'): string[] =>
        reading.missing.filter((g) => g.party === party).map((g) => g.text);
      if (of('subscriber').length > 0) {
        f.add('subscriber-missing', `${label}: missing ${of('subscriber').join('; ')}.`);
      }
      if (of('patient').length > 0) {
        f.add('patient-data-missing', `Missing ${of('patient').join('; ')}.`);
      }
    }
  }
}

/** An institutional claim names its attending (837I loop 2310A): a Practitioner with an NPI and a family name. */
function checkAttending(ctx: ClaimContext, f: Findings): void {
  const institutional = ctx.claim.type?.coding?.some((c) => c.code === 'institutional') === true;
  if (!institutional) {
    return;
  }
  const member = ctx.claim.careTeam?.find((m) => m.role?.coding?.some((c) => c.code === 'attending'));
  const practitioner = ctx.claim.contained?.find(
    (r): r is Practitioner =>
      r.resourceType === 'Practitioner' && `#${r.id ?? ''}` === member?.provider.reference,
  );
  const npiValue = practitioner?.identifier?.find((i) => i.system === CLAIM_SYSTEMS.npi)?.value;
  const family = practitioner?.name?.find((n) => n.family?.trim())?.family;
  let validNpi = false;
  try {
    npi(npiValue, 'attending NPI');
    validNpi = true;
  } catch {
    // named below
  }
  if (!practitioner) {
    f.add(
      'attending-missing',
      'The institutional claim names no attending provider: the encounter has no ATND participant, and no order of its administrations names a practitioner on file.',
    );
  } else if (!validNpi || !family) {
    f.add(
      'attending-missing',
      `The attending provider has ${!family ? 'no family name' : `no valid NPI (${npiValue ?? 'none'})`}.`,
    );
  }
}

function checkLines(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const expectedPos = PLACE_OF_SERVICE[ctx.setting];
  for (const line of lines) {
    if (!(line.units > 0)) {
      f.add('units-invalid', `Line ${line.sequence} (${line.code}) has ${line.units} units.`, {
        itemSequence: line.sequence,
      });
    }
    const pos = line.item.locationCodeableConcept?.coding?.find(
      (c) => c.system === CLAIM_SYSTEMS.placeOfService,
    )?.code;
    if (pos !== undefined && pos !== expectedPos) {
      f.add(
        'place-of-service',
        `Line ${line.sequence} (${line.code}) has place of service ${pos}; a ${ctx.setting} claim needs ${expectedPos}.`,
        { itemSequence: line.sequence },
      );
    }
  }
}

function checkDiagnoses(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const codes = claimDiagnosisCodes(ctx.claim);
  if (codes.size === 0) {
    f.add('diagnosis-missing', 'The claim has no ICD-10-CM diagnosis.');
    return;
  }
  for (const line of lines) {
    const pointers = line.item.diagnosisSequence ?? [];
    if (pointers.length === 0 || pointers.some((p) => !codes.has(p))) {
      f.add('diagnosis-missing', `Line ${line.sequence} (${line.code}) has no valid diagnosis pointer.`, {
        itemSequence: line.sequence,
      });
    }
  }
}

function checkNcci(tables: CodingTables, lines: readonly Line[], f: Findings): void {
  for (const pair of tables.ncci.pairs) {
    if (pair.modifierIndicator === '9') {
      continue;
    }
    for (const c1 of lines.filter((l) => l.code === pair.column1)) {
      for (const c2 of lines.filter((l) => l.code === pair.column2 && l.date === c1.date)) {
        const bypassed = c2.modifiers.some((m) => NCCI_BYPASS.has(m));
        if (pair.modifierIndicator === '1' && bypassed) {
          continue;
        }
        f.add(
          'ncci-ptp',
          pair.modifierIndicator === '0'
            ? `${c2.code} (line ${c2.sequence}) is bundled into ${c1.code} (line ${c1.sequence}) on ${c1.date}; modifier indicator 0: no modifier allows it.`
            : `${c2.code} (line ${c2.sequence}) is bundled into ${c1.code} (line ${c1.sequence}) on ${c1.date} without a distinct-service modifier (indicator 1).`,
          {
            itemSequence: c2.sequence,
            verification: pair.verification,
            ...(pair.rule ? { source: `coding-rules ${pair.rule}` } : {}),
            ...(pair.modifierIndicator === '0'
              ? {
                  overridable: false,
                  fix: `Remove ${c2.code}: it is never payable with ${c1.code} on the same date.`,
                }
              : {}),
          },
        );
      }
    }
  }
}

function checkMue(ctx: ClaimContext, tables: CodingTables, lines: readonly Line[], f: Findings): void {
  const setting = ctx.setting === 'hospital-outpatient' ? 'outpatient-hospital' : 'practitioner';
  for (const entry of tables.mue.entries.filter((e) => e.setting === setting)) {
    const matching = lines.filter((l) => l.code === entry.code);
    if (matching.length === 0) {
      continue;
    }
    const groups =
      entry.mai === 1
        ? matching.map((l) => ({ key: `line ${l.sequence}`, lines: [l] }))
        : [...new Set(matching.map((l) => l.date))].sort().map((date) => ({
            key: date,
            lines: matching.filter((l) => l.date === date),
          }));
    for (const group of groups) {
      const units = group.lines.reduce((sum, l) => sum + l.units, 0);
      if (units > entry.units) {
        const first = group.lines[0] as Line;
        f.add(
          'mue',
          `${entry.code}: ${units} units on ${entry.mai === 1 ? group.key : `date of service ${group.key}`} exceed the MUE of ${entry.units} (MAI ${entry.mai}).`,
          {
            itemSequence: first.sequence,
            verification: entry.verification,
            ...(entry.source ? { source: entry.source } : {}),
            ...(entry.mai === 2 ? { overridable: false } : {}),
          },
        );
      }
    }
  }
}

function checkDocumentation(
  ctx: ClaimContext,
  tables: CodingTables,
  lines: readonly Line[],
  f: Findings,
): void {
  const chargeItems = new Map(ctx.chargeItems.map((c) => [c.id ?? '', c]));
  const administrations = new Map(ctx.administrations.map((a) => [a.id ?? '', a]));
  const adminCodes = new Map(tables.administrationCodes.codes.map((c) => [c.code, c]));
  for (const line of lines) {
    const chargeRef = line.item.extension?.find((e) => e.url === EXT_CHARGE_ITEM)?.valueReference?.reference;
    const charge = chargeItems.get(idOf(chargeRef, 'ChargeItem') ?? '');
    if (!charge) {
      continue;
    }
    const adminCode = adminCodes.get(line.code);
    const timed = adminCode !== undefined && TIMED_ROLES.has(adminCode.role);
    const isDrug = line.drug !== undefined;
    const seen = new Set<string>();
    for (const service of charge.service ?? []) {
      const id = idOf(service.reference, 'MedicationAdministration');
      if (id === undefined || seen.has(id)) {
        continue;
      }
      seen.add(id);
      const ma: MedicationAdministration | undefined = administrations.get(id);
      const at = { itemSequence: line.sequence };
      if (!ma) {
        f.add(
          'doc-administration-missing',
          `Line ${line.sequence} (${line.code}): administration ${id} is not on file.`,
          at,
        );
        continue;
      }
      const what = `Line ${line.sequence} (${line.code}), administration ${id}`;
      if (ma.status !== 'completed') {
        f.add('doc-status', `${what} has status ${ma.status}.`, at);
      }
      const start = ma.effectivePeriod?.start ?? ma.effectiveDateTime;
      if (!start) {
        f.add('doc-start-time', `${what} has no start time.`, at);
      }
      if (timed && !ma.effectivePeriod?.end) {
        f.add('doc-stop-time', `${what} has no stop time; ${line.code} is time-based.`, at);
      }
      if (isDrug && ma.dosage?.dose?.value === undefined) {
        f.add('doc-dose', `${what} has no documented dose.`, at);
      }
      if (adminCode !== undefined && !ma.dosage?.site) {
        f.add('doc-site', `${what} has no documented site.`, at);
      }
      if (!ma.request?.reference) {
        f.add('doc-order', `${what} is not linked to an order.`, at);
      }
      if ((ma.performer ?? []).length === 0) {
        f.add('doc-signature', `${what} has no performer (signature).`, at);
      }
    }
  }
}

function checkMedicalNecessity(
  ctx: ClaimContext,
  rules: ClaimRules,
  lines: readonly Line[],
  f: Findings,
): void {
  const codes = claimDiagnosisCodes(ctx.claim);
  const all = [...codes.values()];
  for (const line of lines) {
    const entry = rules.medicalNecessity.find((e) => e.hcpcs.includes(line.code));
    if (!entry) {
      continue;
    }
    const lineCodes = (line.item.diagnosisSequence ?? [])
      .map((p) => codes.get(p))
      .filter((c) => c !== undefined);
    const supports = (c: string): boolean => entry.covered.some((prefix) => c.startsWith(prefix));
    if (lineCodes.some(supports)) {
      continue;
    }
    const onClaim = all.find(supports);
    f.add(
      'med-necessity',
      onClaim
        ? `Line ${line.sequence} (${line.code}, ${entry.name}) does not point at ${onClaim}, the claim diagnosis that supports it.`
        : `No claim diagnosis (${all.join(', ') || 'none'}) supports ${line.code} (${entry.name}); covered: ${entry.covered.join(', ')}.`,
      { itemSequence: line.sequence, source: `${entry.source} [${entry.verification}]` },
    );
  }
}

/**
 * Prior authorization required, present, and covering these services, dates and units. The
 * coverage checks run against the authorizations on file (ctx.authorizations) whose numbers the
 * claim carries; a number not on file cannot be checked here (the payer checks it).
 */
function checkPriorAuth(ctx: ClaimContext, rules: ClaimRules, lines: readonly Line[], f: Findings): void {
  const focal = (ctx.claim.insurance ?? []).find((i) => i.focal);
  const numbers = new Set((focal?.preAuthRef ?? []).map((r) => r.trim()).filter((r) => r !== ''));
  // The rule in force on each line's date for this payer (src/coverage/pas/auth-rules.ts).
  const ruleOn = (date: string): RuleInForce =>
    authorizationRuleFor(rules.priorAuth, ctx.payer, date || ctx.today);
  const required = lines.filter(
    (line) =>
      line.drug !== undefined && requiresAuthorization(ruleOn(line.date), line.code, line.drug.therapyClass),
  );
  if (numbers.size === 0) {
    const reported = new Set<string>();
    for (const line of required) {
      if (!reported.has(line.code)) {
        reported.add(line.code);
        f.add(
          'prior-auth',
          `${line.code} (${line.drug?.name ?? ''}) needs prior authorization for ${ctx.payer.name} (${ctx.payer.kind}); the claim carries none.`,
          { itemSequence: line.sequence, source: ruleOn(line.date).source },
        );
      }
    }
    return;
  }
  const onFile = (ctx.authorizations ?? []).filter(
    (a) => numbers.has(a.number) && (a.payerId === undefined || a.payerId === ctx.payer.payerId),
  );
  if (onFile.length === 0) {
    return;
  }
  const used = unitsBilledUnder(ctx, numbers);
  const reportedUnits = new Set<string>();
  for (const line of required) {
    const services = onFile.flatMap((a) => servicesFor(a, line.code).map((s) => ({ auth: a, service: s })));
    const numbersText = onFile.map((a) => a.number).join(', ');
    if (services.length === 0) {
      f.add(
        'prior-auth-service',
        `Line ${line.sequence} bills ${line.code}; authorization ${numbersText} does not cover it.`,
        { itemSequence: line.sequence, source: onFile.map((a) => a.source).join(', ') },
      );
      continue;
    }
    const covering = services.filter((s) => withinDates(line.date, s.service));
    if (covering.length === 0) {
      const ranges = services.map((s) => `${s.service.start ?? '…'} to ${s.service.end ?? '…'}`).join('; ');
      f.add(
        'prior-auth-dates',
        `Line ${line.sequence} (${line.code}) on ${line.date} is outside the authorized dates (${ranges}) of ${numbersText}.`,
        { itemSequence: line.sequence, source: onFile.map((a) => a.source).join(', ') },
      );
      continue;
    }
    if (covering.some((s) => s.service.units === undefined) || reportedUnits.has(line.code)) {
      continue;
    }
    const authorized = covering.reduce((sum, s) => sum + (s.service.units ?? 0), 0);
    const thisClaim = required.filter((l) => l.code === line.code).reduce((sum, l) => sum + l.units, 0);
    const earlier = used.get(line.code) ?? 0;
    if (thisClaim + earlier > authorized) {
      reportedUnits.add(line.code);
      f.add(
        'prior-auth-units',
        `${line.code}: ${thisClaim} unit(s) on this claim + ${earlier} billed before under ${numbersText} = ${thisClaim + earlier}; ${authorized} authorized.`,
        { itemSequence: line.sequence, source: covering.map((s) => s.auth.source).join(', ') },
      );
    }
  }
}

/**
 * Units per code already billed under these authorization numbers on the patient's other claims
 * that stand: sent (active), not rejected, not replaced or voided, not voids themselves, and not
 * the claim this one replaces.
 */
function unitsBilledUnder(ctx: ClaimContext, numbers: ReadonlySet<string>): Map<string, number> {
  const replaced = new Set(
    (ctx.claim.related ?? []).map((r) => idOf(r.claim?.reference, 'Claim')).filter((id) => id !== undefined),
  );
  const used = new Map<string, number>();
  for (const other of ctx.otherClaims) {
    const state = other.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode;
    if (
      other.id === ctx.claim.id ||
      other.use === 'preauthorization' ||
      other.status !== 'active' ||
      state === 'rejected' ||
      replaced.has(other.id ?? '') ||
      frequencyOf(other) === '8' ||
      (other.extension ?? []).some((e) => e.url === EXT_CLAIM_REPLACED_BY)
    ) {
      continue;
    }
    const refs = (other.insurance ?? []).find((i) => i.focal)?.preAuthRef ?? [];
    if (!refs.some((r) => numbers.has(r.trim()))) {
      continue;
    }
    for (const item of other.item ?? []) {
      const code = item.productOrService.coding?.find((c) => c.code !== undefined)?.code ?? '';
      used.set(code, (used.get(code) ?? 0) + (item.quantity?.value ?? 0));
    }
  }
  return used;
}

function checkTimelyFiling(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const dates = lines
    .map((l) => l.date)
    .filter((d) => d !== '')
    .sort();
  const earliest = dates[0];
  if (!earliest) {
    return;
  }
  const elapsed = daysBetween(earliest, ctx.today);
  const limit = ctx.payer.timelyFilingDays;
  if (elapsed > limit) {
    f.add(
      'timely-filing',
      `Earliest date of service ${earliest} is ${elapsed} days before ${ctx.today.slice(0, 10)}; ${ctx.payer.name} accepts ${limit}.`,
    );
  } else if (limit - elapsed <= NEAR_FILING_LIMIT_DAYS) {
    f.add(
      'timely-filing-near',
      `${limit - elapsed} day(s) left to file (date of service ${earliest}, limit ${limit} days).`,
    );
  }
}

function checkPayerRules(ctx: ClaimContext, tables: CodingTables, lines: readonly Line[], f: Findings): void {
  const rules = tables.payers[ctx.payer.kind];
  for (const line of lines) {
    const at = { itemSequence: line.sequence, source: `payer-${ctx.payer.kind}.json` };
    if (rules.refusedCodes.includes(line.code)) {
      f.add(
        'payer-refused-code',
        `${ctx.payer.name} does not accept ${line.code} (line ${line.sequence}).`,
        at,
      );
    }
    if (!line.drug) {
      continue;
    }
    const hasNdc = (line.item.detail ?? []).some((d) =>
      d.productOrService.coding?.some((c) => c.system === SYSTEMS.ndc && /^[0-9]{11}$/.test(c.code ?? '')),
    );
    if (rules.ndcRequired && !hasNdc) {
      f.add(
        'payer-ndc-required',
        `Drug line ${line.sequence} (${line.code}) has no 11-digit NDC; ${ctx.payer.name} requires it.`,
        at,
      );
    }
  }
  // JW/JZ: the reading the coding engine emits (src/coding/engine/waste-modifiers.ts).
  const waste = checkWasteModifiers(
    rules.wasteModifiers,
    lines.map((line) => {
      const ndc = line.item.detail
        ?.flatMap((d) => d.productOrService.coding ?? [])
        .find((c) => c.system === SYSTEMS.ndc)?.code;
      return {
        sequence: line.sequence,
        code: line.code,
        date: line.date,
        modifiers: line.modifiers,
        container: line.drug?.container,
        // OPPS packaged (status N) on an institutional claim: JW/JZ do not apply (R10.3).
        packaged: ctx.setting === 'hospital-outpatient' && isPackagedOn(tables, line.code, line.date),
        ...(ndc ? { ndc } : {}),
      };
    }),
  );
  for (const finding of waste) {
    f.add('payer-jw-jz', finding.message, {
      itemSequence: finding.sequence,
      source: `payer-${ctx.payer.kind}.json; coding-rules ${finding.rule}`,
    });
  }
}

/**
 * A claim that is not valid FHIR R4 for its profiles (dripline-claim) is never sent: an error naming
 * what failed, not overridable. Definitions are loaded once per process.
 */
function checkValidity(ctx: ClaimContext, f: Findings): void {
  loadFhirDefinitions();
  const profiles = [
    undefined,
    ...(ctx.claim.meta?.profile ?? []).map((url) => getOwnProfile(url)).filter((p) => p !== undefined),
  ];
  for (const profile of profiles) {
    try {
      validateResource(ctx.claim, profile ? { profile } : undefined);
    } catch (err) {
      f.add(
        'claim-invalid',
        `${profile ? `Profile ${profile.name ?? profile.url}: ` : ''}${normalizeErrorString(err)}`,
      );
      return;
    }
  }
}

function checkDuplicates(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const patient = ctx.claim.patient.reference;
  const replaced = new Set(
    (ctx.claim.related ?? []).map((r) => idOf(r.claim?.reference, 'Claim')).filter((id) => id !== undefined),
  );
  const mine = new Set(lines.map((l) => `${l.date}|${l.code}|${[...l.modifiers].sort().join(',')}`));
  const reported = new Set<string>();
  for (const other of ctx.otherClaims) {
    if (
      other.id === ctx.claim.id ||
      // A prior authorization request (Da Vinci PAS) asks for services; it bills nothing.
      other.use === 'preauthorization' ||
      other.status !== 'active' ||
      other.patient.reference !== patient ||
      replaced.has(other.id ?? '') ||
      frequencyOf(other) === '8' ||
      // Replaced or voided: its lines no longer stand (its replacement, if any, is checked itself).
      (other.extension ?? []).some((e) => e.url === EXT_CLAIM_REPLACED_BY)
    ) {
      continue;
    }
    for (const item of other.item ?? []) {
      const code = item.productOrService.coding?.find((c) => c.code !== undefined)?.code ?? '';
      const date = (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10);
      const modifiers = (item.modifier ?? []).flatMap((m) => (m.coding ?? []).map((c) => c.code ?? ''));
      const key = `${date}|${code}|${[...modifiers].sort().join(',')}`;
      if (mine.has(key) && !reported.has(`${other.id ?? ''}|${key}`)) {
        reported.add(`${other.id ?? ''}|${key}`);
        const line = lines.find((l) => `${l.date}|${l.code}|${[...l.modifiers].sort().join(',')}` === key);
        f.add(
          'duplicate-claim',
          `Claim ${other.id ?? '(no id)'} already bills ${code} on ${date} for this patient.`,
          line ? { itemSequence: line.sequence } : {},
        );
      }
    }
  }
}

/**
 * Lines the coding engine holds (ChargeItem `planned`: the drug was given, its code is known, its
 * units are not) are not on the claim; the claim waits for them rather than go out without them.
 */
function checkHeldCharges(ctx: ClaimContext, f: Findings): void {
  for (const charge of ctx.chargeItems.filter((c) => c.status === 'planned')) {
    const code = charge.code?.coding?.find((c) => c.code !== undefined)?.code ?? 'a charge';
    const why = charge.extension
      ?.find((e) => e.url === EXT_RATIONALE)
      ?.extension?.find((e) => e.url === 'text')?.valueString;
    f.add('charge-held', `${code} is held by coding and not on the claim${why ? `: ${why}` : ''}.`);
  }
}

/** Scrubs a claim: every finding, in the order of the checks (deterministic). Pure. */
export function scrubClaim(
  ctx: ClaimContext,
  tables: CodingTables,
  rules: ClaimRules = loadClaimRules(),
): ScrubFinding[] {
  const f = new Findings(rules);
  checkValidity(ctx, f);
  const lines = (ctx.claim.item ?? []).map((item) => lineOf(item, tables));
  if (lines.length === 0) {
    f.add('units-invalid', 'The claim has no lines.');
  }
  checkCoverage(ctx, lines, f);
  checkAttending(ctx, f);
  checkTimelyFiling(ctx, lines, f);
  checkDiagnoses(ctx, lines, f);
  checkLines(ctx, lines, f);
  checkNcci(tables, lines, f);
  checkMue(ctx, tables, lines, f);
  checkDocumentation(ctx, tables, lines, f);
  checkMedicalNecessity(ctx, rules, lines, f);
  checkPriorAuth(ctx, rules, lines, f);
  checkPayerRules(ctx, tables, lines, f);
  checkDuplicates(ctx, lines, f);
  checkHeldCharges(ctx, f);
  return f.list;
}

/** True when the findings hold an error (the claim must wait for a fix or an override). */
export function hasBlockingErrors(findings: readonly ScrubFinding[]): boolean {
  return findings.some((x) => x.severity === 'error');
}
