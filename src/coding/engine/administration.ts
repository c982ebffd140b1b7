/**
 * The administration-code algorithm for office (professional) and hospital-outpatient (facility)
 * encounters, coding-rules §16 steps 2–6:
 *  - group by encounter, and in a facility by vascular access site (R2.3);
 *  - one initial per group: hierarchy in a facility (R1.3), the `primary` administration in an
 *    office, else the hierarchy (R1.4);
 *  - every other service takes its own family's sequential / concurrent / additional code (R1.5);
 *  - time rules R3: push ≤ 15 min, add-on hours only > 30 min past the hour, hydration > 30 min,
 *    hydration overlapping another infusion does not count (R4.4), secondary hydration = 96361 (R4.5);
 *  - 96368 once per encounter, never hydration (R4.2); 96376 facility only (R5.2); 96416 never timed (R7.2);
 *  - facility lines dated by the day the time was provided (R3.7); office by the encounter.
 */
import type { AdministrationFamily, CodingIssue, EncounterContext } from '../types.ts';
import type { CodingTables, PayerRuleSet } from '../tables/types.ts';
import type { Classified, CodedTechnique } from './classify.ts';
import {
  dayString,
  localDate,
  minuteOfDay,
  splitAfterFirst,
  subtract,
  totalMinutes,
  union,
  overlaps,
} from './dates.ts';
import type { DayZone, Interval } from './dates.ts';
import { draftLine } from './draft.ts';
import type { DraftLine } from './draft.ts';
import { codeLabel } from './administration-labels.ts';
import { rationale, withSources } from './sources.ts';

/** Initial service codes (R2.1; 96369 SC infusion is outside the engine's routes). */
export const INITIAL_CODES: ReadonlySet<string> = new Set(['96360', '96365', '96374', '96409', '96413']);

const FAMILY_RANK: Readonly<Record<AdministrationFamily, number>> = {
  'chemo-complex': 3,
  therapeutic: 2,
  hydration: 1,
};
const TECHNIQUE_RANK: Readonly<Record<CodedTechnique, number>> = {
  infusion: 3,
  pump: 3,
  push: 2,
  injection: 1,
};

/** R3.3: add-on hours for a timed service of `minutes` (the first hour is the base code). */
export function addOnHours(minutes: number): number {
  return minutes > 90 ? Math.ceil((minutes - 90) / 60) : 0;
}

/** R3.3 applied to time past the first hour on one day: each hour, a final partial hour only when > 30 min. */
function hoursBeyond(rest: number): number {
  return rest > 30 ? Math.ceil((rest - 30) / 60) : 0;
}

/** R3.4: hydration must exceed 30 minutes. */
export const HYDRATION_MIN_MINUTES = 31;
/** R5.1: 96376 only when more than 30 minutes after the last reported push of the same drug. */
export const SAME_PUSH_GAP_MINUTES = 30;

interface Service {
  readonly family: AdministrationFamily;
  readonly technique: CodedTechnique;
  readonly items: readonly Classified[];
  readonly intervals: readonly Interval[];
  readonly minutes: number;
  readonly start: number;
  readonly primary: boolean;
  readonly rank: number;
  readonly drugKey: string;
  readonly site: string;
}

export interface EncounterAdminContext {
  readonly setting: 'office' | 'hospital-outpatient';
  readonly tables: CodingTables;
  readonly payer: PayerRuleSet;
  readonly zone: DayZone;
  readonly encounterId: string;
  readonly encounter?: EncounterContext;
  readonly diagnoses: readonly string[];
  /** Office: the encounter's date of service. */
  readonly officeDate: string;
}

export interface EncounterAdminResult {
  readonly lines: DraftLine[];
  readonly issues: CodingIssue[];
  /** Hydration administrations that produced no administration time (their fluid is incidental, R3.5/R4.4). */
  readonly incidental: ReadonlySet<string>;
}

function ids(s: Service): string[] {
  return s.items.map((i) => i.adm.id);
}

function drugNames(s: Service): string {
  return [...new Set(s.items.map((i) => i.drug.name))].join(' + ');
}

/** The first administration id of a service (the comparators' tie-break), without copying the list. */
function firstId(s: Service): string {
  return s.items[0]?.adm.id ?? '';
}

function compareForInitial(a: Service, b: Service): number {
  return (
    b.rank - a.rank || a.start - b.start || b.minutes - a.minutes || firstId(a).localeCompare(firstId(b))
  );
}

function compareClinical(a: Service, b: Service): number {
  return a.start - b.start || b.rank - a.rank || firstId(a).localeCompare(firstId(b));
}

function hhmm(minute: number, zone: DayZone): string {
  const m = minuteOfDay(minute, zone);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function span(s: Service, zone: DayZone): string {
  return s.intervals.map((i) => `${hhmm(i.start, zone)}–${hhmm(i.end, zone)}`).join(', ');
}

/** Codes one encounter's administrations (office or facility). */
export function codeEncounterAdministrations(
  ctx: EncounterAdminContext,
  items: readonly Classified[],
): EncounterAdminResult {
  const { setting, zone, tables, encounterId, diagnoses } = ctx;
  const facility = setting === 'hospital-outpatient';
  const lines: DraftLine[] = [];
  const issues: CodingIssue[] = [];
  const incidental = new Set<string>();
  const issue = (
    severity: CodingIssue['severity'],
    code: string,
    message: string,
    rule: string,
    admId?: string,
  ): void => {
    issues.push({
      severity,
      code,
      message,
      encounterId,
      rule,
      ...(admId ? { administrationId: admId } : {}),
    });
  };

  // Every non-hydration infusion interval of the encounter (all sites): hydration time overlapping them does not count (R4.4).
  const drugInfusionTime = union(
    items
      .filter(
        (i) =>
          i.family !== 'hydration' && (i.technique === 'infusion' || i.technique === 'pump') && i.interval,
      )
      .map((i) => i.interval as Interval),
  );

  // Groups: per site in a facility (R2.3), the whole encounter in an office (R2.1).
  // SC/IM injections use no vascular access: in a facility they join the group of the earliest IV service.
  const groups = new Map<string, Classified[]>();
  const iv = items.filter((i) => i.technique !== 'injection');
  const firstIv = [...iv].sort(
    (a, b) => (a.start ?? 0) - (b.start ?? 0) || a.adm.id.localeCompare(b.adm.id),
  )[0];
  for (const item of items) {
    const g = !facility ? '' : item.technique === 'injection' ? (firstIv?.site ?? '') : item.site;
    groups.set(g, [...(groups.get(g) ?? []), item]);
  }

  // Build services per group.
  const groupServices: { site: string; services: Service[] }[] = [];
  for (const [site, groupItems] of [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const services: Service[] = [];
    const make = (
      family: AdministrationFamily,
      technique: CodedTechnique,
      list: Classified[],
      intervals: Interval[],
    ): Service => ({
      family,
      technique,
      items: list,
      intervals,
      minutes: totalMinutes(intervals),
      start: Math.min(...list.map((i) => i.start ?? Number.MAX_SAFE_INTEGER)),
      primary: list.some((i) => i.adm.primary === true),
      rank: FAMILY_RANK[family] * 10 + TECHNIQUE_RANK[technique],
      drugKey: list[0]?.drugKey ?? '',
      site,
    });

    // Hydration: one service per group, non-overlapping time only (R4.4), must exceed 30 min (R3.4).
    const hydration = groupItems.filter((i) => i.family === 'hydration');
    const hydrationInfusions: Classified[] = [];
    for (const h of hydration) {
      if (h.technique !== 'infusion' || !h.interval) {
        incidental.add(h.adm.id);
        issue(
          'warning',
          'hydration-too-short',
          `Hydration ${h.adm.id} (${h.techniqueNote}) is not billable: hydration must run more than 30 minutes (R3.4)`,
          'R3.4',
          h.adm.id,
        );
        continue;
      }
      const own = subtract([h.interval], drugInfusionTime);
      if (totalMinutes(own) === 0) {
        incidental.add(h.adm.id);
        issue(
          'information',
          'hydration-overlap',
          `Hydration ${h.adm.id} runs entirely during another infusion: not separately reportable (R4.4)`,
          'R4.4',
          h.adm.id,
        );
        continue;
      }
      hydrationInfusions.push(h);
    }
    if (hydrationInfusions.length > 0) {
      const raw = union(hydrationInfusions.map((h) => h.interval as Interval));
      const own = subtract(raw, drugInfusionTime);
      const minutes = totalMinutes(own);
      const overlapped = totalMinutes(raw) - minutes;
      if (minutes < HYDRATION_MIN_MINUTES) {
        for (const h of hydrationInfusions) {
          incidental.add(h.adm.id);
          issue(
            'warning',
            'hydration-too-short',
            overlapped > 0
              ? `Hydration ${h.adm.id}: ${minutes} min outside other infusions (${overlapped} min overlapped) — must exceed 30 min (R4.4, R3.4)`
              : `Hydration ${h.adm.id}: ${minutes} min — must exceed 30 min (R3.4)`,
            overlapped > 0 ? 'R4.4' : 'R3.4',
            h.adm.id,
          );
        }
      } else {
        services.push(make('hydration', 'infusion', hydrationInfusions, own));
      }
    }

    // Drug infusions of the same drug in a group are one service (continued bags: time adds up).
    const infusionsByDrug = new Map<string, Classified[]>();
    for (const i of groupItems) {
      if (i.family === 'hydration') {
        continue;
      }
      if (i.technique === 'infusion' && i.interval) {
        const k = `${i.family}|${i.drugKey}`;
        infusionsByDrug.set(k, [...(infusionsByDrug.get(k) ?? []), i]);
      } else {
        services.push(make(i.family, i.technique, [i], i.interval ? [i.interval] : []));
      }
    }
    for (const list of infusionsByDrug.values()) {
      const first = list[0] as Classified;
      services.push(make(first.family, 'infusion', list, union(list.map((i) => i.interval as Interval))));
    }
    groupServices.push({ site, services });
  }

  // Choose the initial of each group.
  const chosen = groupServices
    .filter((g) => g.services.length > 0)
    .map((g) => {
      const primaries = g.services.filter((s) => s.primary);
      const pool = !facility && primaries.length > 0 ? primaries : g.services;
      const initial = [...pool].sort(compareForInitial)[0] as Service;
      return { ...g, initial, byPrimary: !facility && primaries.length > 0 };
    })
    // Site order: the group whose initial ranks highest keeps the unmodified initial (R2.2).
    .sort((a, b) => compareForInitial(a.initial, b.initial));

  let concurrentReported = false;
  chosen.forEach((group, groupIndex) => {
    const { initial } = group;
    const siteText = facility ? ` at site "${group.site || 'not documented'}"` : '';
    const separateSite =
      facility && groupIndex > 0 ? ctx.payer.distinctServiceModifier.separateSite : undefined;

    const emit = (
      s: Service,
      code: string,
      units: number,
      date: string,
      text: string,
      rules: readonly string[],
      opts: { initial?: boolean; minutes?: number; modifiers?: string[] } = {},
    ): void => {
      lines.push(
        draftLine({
          kind: 'administration',
          system: 'CPT',
          code,
          label: codeLabel(tables, code),
          units,
          modifiers: opts.modifiers ?? [],
          dateOfService: date,
          encounterId,
          administrationIds: ids(s),
          diagnoses,
          rationale: withSources(
            rationale(rules, text, opts.minutes !== undefined ? { minutes: opts.minutes } : undefined),
            s.items.map((i) => i.familySources),
          ),
          initial: opts.initial ? true : undefined,
          at: s.start,
        }),
      );
    };
    const dateOf = (minute: number): string => (facility ? localDate(minute, zone) : ctx.officeDate);

    /** Base code (first hour) + add-on hours: office by total time, facility per day provided (R3.3, R3.7). */
    const timed = (
      s: Service,
      base: string,
      addOn: string,
      baseText: string,
      rules: readonly string[],
      opts: { initial?: boolean; modifiers?: string[] } = {},
    ): void => {
      const what = `${drugNames(s)} ${span(s, zone)} = ${s.minutes} min`;
      if (!facility) {
        emit(s, base, 1, ctx.officeDate, `${baseText}: ${what}`, rules, { ...opts, minutes: s.minutes });
        const extra = addOnHours(s.minutes);
        if (extra > 0) {
          emit(
            s,
            addOn,
            extra,
            ctx.officeDate,
            `${what}: ${extra} additional hour(s) (each hour past the first; a last partial hour only when > 30 min, R3.3)`,
            ['R3.3'],
            { minutes: s.minutes },
          );
        }
        return;
      }
      const split = splitAfterFirst(s.intervals, 60, zone);
      emit(s, base, 1, dayString(split.firstDay), `${baseText}: ${what}`, rules, {
        ...opts,
        minutes: Math.min(60, s.minutes),
      });
      const crossesMidnight =
        split.restByDay.size > 1 || [...split.restByDay.keys()].some((d) => d !== split.firstDay);
      for (const [day, rest] of [...split.restByDay.entries()].sort((a, b) => a[0] - b[0])) {
        const extra = hoursBeyond(rest);
        if (extra > 0) {
          emit(
            s,
            addOn,
            extra,
            dayString(day),
            crossesMidnight
              ? `${what}: ${rest} min past the first hour provided on ${dayString(day)} → ${extra} additional hour(s) (> 30 min rule R3.3; facility lines dated by the day provided R3.7)`
              : `${what}: ${extra} additional hour(s) (each hour past the first; a last partial hour only when > 30 min, R3.3)`,
            crossesMidnight ? ['R3.3', 'R3.7'] : ['R3.3'],
            { minutes: rest },
          );
        }
      }
    };

    const initialRules = facility ? ['R1.3', 'R2.3'] : group.byPrimary ? ['R1.4'] : ['R1.4', 'R1.3'];
    const initialWhy = facility
      ? `initial service${siteText}: highest in the hierarchy (chemo > therapeutic > hydration; infusion > push > injection)`
      : group.byPrimary
        ? 'initial service: flagged as the primary reason for the encounter'
        : 'initial service: no primary reason flagged, so the hierarchy decides (chemo > therapeutic > hydration; infusion > push > injection)';
    const modifiers = separateSite ? [separateSite] : [];
    const initialRulesWithSite = separateSite ? [...initialRules, 'R2.2'] : initialRules;
    const siteNote = separateSite ? `; separate vascular access site → ${separateSite} (R2.2, R2.3)` : '';

    const pushedLast = new Map<string, number>();
    const chemoPushed = new Set<string>();
    const processedInfusions: Interval[] = [];

    const codeService = (s: Service, isInitial: boolean): void => {
      const head = `${drugNames(s)} (${s.items[0]?.familyNote ?? s.family}; ${s.items[0]?.techniqueNote ?? s.technique})`;
      const init = isInitial ? { initial: true, modifiers } : {};
      const why = isInitial ? `${initialWhy}${siteNote}` : '';
      // Hydration (R3.4 initial, R4.5 secondary).
      if (s.family === 'hydration') {
        if (isInitial) {
          timed(
            s,
            '96360',
            '96361',
            `${head}: ${why}; hydration > 30 min`,
            [...initialRulesWithSite, 'R3.4'],
            init,
          );
        } else {
          timed(
            s,
            '96361',
            '96361',
            'hydration secondary to another initial service is 96361, > 30 min of non-overlapping time',
            ['R4.5', 'R4.4', 'R3.4'],
          );
        }
        return;
      }
      const chemo = s.family === 'chemo-complex';
      switch (s.technique) {
        case 'pump': {
          // R7.1/R7.2: initiation of a prolonged pump infusion; never timed.
          emit(
            s,
            '96416',
            1,
            dateOf(s.start),
            `${head}: prolonged chemo infusion (> 8 h) by pump, ${s.minutes} min not converted into hours`,
            ['R7.2', 'R7.1'],
            { minutes: s.minutes },
          );
          processedInfusions.push(...s.intervals);
          return;
        }
        case 'injection': {
          const code = chemo ? (s.items[0]?.hormonal ? '96402' : '96401') : '96372';
          emit(
            s,
            code,
            1,
            dateOf(s.start),
            `${head}: ${chemo ? (code === '96402' ? 'hormonal antineoplastic' : 'non-hormonal antineoplastic') : 'therapeutic'} SC/IM injection${isInitial ? `; ${why}` : ''}`,
            isInitial ? ['R6.1', ...initialRules] : ['R6.1'],
          );
          return;
        }
        case 'push': {
          if (isInitial) {
            emit(
              s,
              chemo ? '96409' : '96374',
              1,
              dateOf(s.start),
              `${head}: ${why}; push ≤ 15 min or documented push`,
              [...initialRulesWithSite, chemo ? 'R7.3' : 'R3.1'],
              init,
            );
            if (chemo) {
              chemoPushed.add(s.drugKey);
            } else {
              pushedLast.set(s.drugKey, s.start);
            }
            return;
          }
          if (chemo) {
            if (chemoPushed.has(s.drugKey)) {
              issue(
                'information',
                'repeat-push-not-coded',
                `Repeat chemo push of ${drugNames(s)} (${ids(s).join(', ')}): 96411 is for each additional drug only; the drug line carries the quantity`,
                'R7.1',
                ids(s)[0],
              );
              return;
            }
            chemoPushed.add(s.drugKey);
            emit(s, '96411', 1, dateOf(s.start), `${head}: additional chemo push of a new drug (R1.5)`, [
              'R7.1',
              'R1.5',
            ]);
            return;
          }
          const last = pushedLast.get(s.drugKey);
          if (last === undefined) {
            pushedLast.set(s.drugKey, s.start);
            emit(
              s,
              '96375',
              1,
              dateOf(s.start),
              `${head}: additional sequential push of a new drug (R1.5: own family's subsequent code)`,
              ['R5.3', 'R5.1', 'R1.5'],
            );
            return;
          }
          if (!facility) {
            issue(
              'information',
              'repeat-push-not-coded',
              `Repeat push of ${drugNames(s)} (${ids(s).join(', ')}) in an office: 96376 is not payable to physicians; the drug line carries the full quantity (R5.2)`,
              'R5.2',
              ids(s)[0],
            );
            return;
          }
          const gap = s.start - last;
          if (gap <= SAME_PUSH_GAP_MINUTES) {
            issue(
              'information',
              'repeat-push-not-coded',
              `Repeat push of ${drugNames(s)} ${gap} min after the last reported push of it: 96376 needs more than 30 min (R5.1)`,
              'R5.1',
              ids(s)[0],
            );
            return;
          }
          pushedLast.set(s.drugKey, s.start);
          emit(
            s,
            '96376',
            1,
            dateOf(s.start),
            `${head}: repeat push of the same drug ${gap} min (> 30) after the last reported push of it, facility (R5.1)`,
            ['R5.1'],
            { minutes: gap },
          );
          return;
        }
        case 'infusion': {
          if (isInitial) {
            processedInfusions.push(...s.intervals);
            timed(
              s,
              chemo ? '96413' : '96365',
              chemo ? '96415' : '96366',
              `${head}: ${why}; infusion ≥ 16 min (R3.2)`,
              [...initialRulesWithSite, 'R3.2'],
              init,
            );
            return;
          }
          const concurrent = s.intervals.some((i) => processedInfusions.some((p) => overlaps(i, p)));
          processedInfusions.push(...s.intervals);
          if (concurrent) {
            if (concurrentReported) {
              issue(
                'information',
                'concurrent-already-reported',
                `Concurrent infusion ${drugNames(s)} (${ids(s).join(', ')}): 96368 is reported once per encounter (R4.2)`,
                'R4.2',
                ids(s)[0],
              );
              return;
            }
            concurrentReported = true;
            emit(
              s,
              '96368',
              1,
              dateOf(s.start),
              `${head}: runs at the same time as another infusion — concurrent, once per encounter, not timed${chemo ? ' (concurrent chemo: UNCONFIRMED, R7.4)' : ''}`,
              chemo ? ['R4.2', 'R7.4'] : ['R4.2'],
              { minutes: s.minutes },
            );
            return;
          }
          timed(
            s,
            chemo ? '96417' : '96367',
            chemo ? '96415' : '96366',
            chemo
              ? `${head}: sequential infusion of a different chemo drug (R7.1, R1.5)`
              : `${head}: sequential infusion of a new drug (R4.1, R1.5)`,
            chemo ? ['R7.1', 'R1.5', 'R3.2'] : ['R4.1', 'R1.5', 'R3.2'],
          );
          return;
        }
      }
    };

    codeService(initial, true);
    for (const s of group.services.filter((x) => x !== initial).sort(compareClinical)) {
      codeService(s, false);
    }
  });

  return { lines, issues, incidental };
}
