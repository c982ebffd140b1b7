/**
 * Checks of what the payer needs on file: coverage present, active, covering the dates, with a
 * member id and a subscriber the claim can name (../subscriber.ts); timely filing
 * (payer.timelyFilingDays); prior authorization required, present and covering the services, dates
 * and units (rules/prior-auth.json, the authorizations on file: src/coverage/authorizations.ts).
 */
import type { Coverage } from '@medplum/fhirtypes';
import { servicesFor, withinDates } from '../../coverage/authorizations.ts';
import { readSubscriber } from '../../x12/837/subscriber.ts';
import type { ClaimContext } from '../types.ts';
import type { Findings, Line } from './findings.ts';
import { daysBetween, frequencyOf, idOf } from './findings.ts';
import type { ClaimRules } from './rules.ts';
import { EXT_CLAIM_REPLACED_BY, EXT_CLAIM_STATE } from '../../contract/canonical.ts';

const NEAR_FILING_LIMIT_DAYS = 30;

export function checkCoverage(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
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
    // Who the insured is, as the 837 writer reads it (src/x12/837/subscriber.ts).
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

export function checkTimelyFiling(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
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

/**
 * Prior authorization required, present, and covering these services, dates and units. The
 * coverage checks run against the authorizations on file (ctx.authorizations) whose numbers the
 * claim carries; a number not on file cannot be checked here (the payer checks it).
 */
export function checkPriorAuth(
  ctx: ClaimContext,
  rules: ClaimRules,
  lines: readonly Line[],
  f: Findings,
): void {
  const rule = rules.priorAuth[ctx.payer.kind];
  const focal = (ctx.claim.insurance ?? []).find((i) => i.focal);
  const numbers = new Set((focal?.preAuthRef ?? []).map((r) => r.trim()).filter((r) => r !== ''));
  const source = `prior-auth.json ${ctx.payer.kind} [${rule.verification}]`;
  const required = lines.filter(
    (line) =>
      line.drug !== undefined &&
      !rule.exempt.includes(line.code) &&
      (rule.hcpcs.includes(line.code) || rule.therapyClasses.includes(line.drug.therapyClass)),
  );
  if (numbers.size === 0) {
    const reported = new Set<string>();
    for (const line of required) {
      if (!reported.has(line.code)) {
        reported.add(line.code);
        f.add(
          'prior-auth',
          `${line.code} (${line.drug?.name ?? ''}) needs prior authorization for ${ctx.payer.name} (${ctx.payer.kind}); the claim carries none.`,
          { itemSequence: line.sequence, source },
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
