/**
 * Checks of what the payer needs on file: coverage present, active, covering the dates, with a
 * member id and a subscriber the claim can name (../subscriber.ts); timely filing
 * (payer.timelyFilingDays); prior authorization required, present and covering the services, dates
 * and units (src/coverage/rules/prior-auth.json; the authorizations on file and what they were used for: the
 * authorization ledger, src/coverage/ledger.ts, via ../ledger.ts).
 */
import type { Coverage } from '@medplum/fhirtypes';
import { servicesFor, withinDates } from '../../coverage/authorizations.ts';
import { authorizationRuleFor, requiresAuthorization } from '../../coverage/pas/auth-rules.ts';
import type { RuleInForce } from '../../coverage/pas/auth-rules.ts';
import { eligibilityFindings } from '../../coverage/eligibility/findings.ts';
import { readSubscriber } from '../../x12/837/subscriber.ts';
import { chargeItemOfLine, claimLedger } from '../ledger.ts';
import type { ClaimContext } from '../types.ts';
import type { Findings, Line } from './findings.ts';
import { daysBetween, idOf } from './findings.ts';
import type { ClaimRules } from './rules.ts';

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
  checkEligibility(ctx, dates, f);
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

/**
 * What the payers last said about the claim's coverages, on its dates of service: not in force,
 * answered by or naming another payer, member not found. The findings and their rules are the
 * eligibility work item's (src/coverage/eligibility/findings.ts and rules.json): one rule, one place.
 */
function checkEligibility(ctx: ClaimContext, dates: readonly string[], f: Findings): void {
  if (!ctx.eligibility || dates.length === 0) {
    return;
  }
  for (const [i, coverage] of ctx.coverages.entries()) {
    const summary = coverage.id ? ctx.eligibility.get(`Coverage/${coverage.id}`) : undefined;
    if (!summary) {
      continue;
    }
    f.include(
      eligibilityFindings({
        summary,
        coverageLabel: `Coverage ${coverage.id ?? `#${i + 1}`} (sequence ${i + 1})`,
        ...(i === 0 && ctx.payer.payerId
          ? { expectedPayer: { payerId: ctx.payer.payerId, name: ctx.payer.name } }
          : {}),
        payersOnFile: ctx.payersOnFile ?? [],
        dates,
      }),
    );
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
 * Prior authorization required, present, and covering these services, dates and units. Services and
 * dates are checked against the authorizations on file (ctx.authorizations) whose numbers the claim
 * carries (a number not on file cannot be checked here: the payer checks it); units against the
 * authorization ledger, which counts every billable charge of the patient in date order: a line
 * whose charge goes beyond what its authorization allows is held, naming the authorization.
 */
export function checkPriorAuth(
  ctx: ClaimContext,
  rules: ClaimRules,
  lines: readonly Line[],
  f: Findings,
): void {
  const focal = (ctx.claim.insurance ?? []).find((i) => i.focal);
  const numbers = new Set((focal?.preAuthRef ?? []).map((r) => r.trim()).filter((r) => r !== ''));
  // The rule in force on each line's date for this payer (src/coverage/pas/auth-rules.ts).
  const ruleOn = (date: string): RuleInForce =>
    authorizationRuleFor(rules.priorAuth, ctx.payer, date || ctx.today);
  const required = lines.filter(
    (line) =>
      line.drug !== undefined && requiresAuthorization(ruleOn(line.date), line.code, line.drug.therapyClass),
  );
  checkAuthorizedUnits(ctx, lines, f);
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
    if (!services.some((s) => withinDates(line.date, s.service))) {
      const ranges = services.map((s) => `${s.service.start ?? '…'} to ${s.service.end ?? '…'}`).join('; ');
      f.add(
        'prior-auth-dates',
        `Line ${line.sequence} (${line.code}) on ${line.date} is outside the authorized dates (${ranges}) of ${numbersText}.`,
        { itemSequence: line.sequence, source: onFile.map((a) => a.source).join(', ') },
      );
    }
  }
}

/**
 * Lines whose charge the authorization ledger counted beyond what its authorization allows: the
 * units (or visits) before it, under which number, what was authorized in which dates.
 */
function checkAuthorizedUnits(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const ledger = claimLedger(ctx);
  for (const line of lines) {
    const allocation = ledger.allocations.get(chargeItemOfLine(line.item) ?? '');
    if (!allocation || allocation.use.beyond <= 0) {
      continue;
    }
    const { entry, service, use } = allocation;
    const index = service.uses.indexOf(use);
    const before = service.uses.slice(0, index).reduce((sum, u) => sum + u.used, 0);
    const measure = service.measure === 'visits' ? 'visit(s)' : 'unit(s)';
    f.add(
      'prior-auth-units',
      `Line ${line.sequence} (${line.code} on ${line.date}) uses ${use.used} ${measure} after ${before} used before under authorization ${entry.number}, which allows ${service.authorized ?? 0} from ${service.start ?? '…'} to ${service.end ?? '…'}: ${use.beyond} beyond authorization ${entry.number}.`,
      { itemSequence: line.sequence, source: `${entry.source} (authorization ${entry.number})` },
    );
  }
}
