/**
 * Home infusion (R15).
 *  - Commercial / Medicaid per-diem scheme (R15.2): one per-diem S-code line per therapy, units =
 *    days with access to the therapy in the episode covered by the input; nursing 99601 per visit (up
 *    to 2 h) + 99602 per additional hour; drugs billed separately.
 *  - Medicare HIT (R15.1): one G-code unit per category per infusion drug administration calendar
 *    day (a nursing visit while the drug is given): the first-visit code on the first such day in the
 *    input, the subsequent-visit code after; drug lines still produced (DME benefit).
 */
import type { CodingTables, HomeInfusionTable, PayerRuleSet } from '../tables/types.ts';
import type { CodingIssue, EncounterContext } from '../types.ts';
import type { Classified } from './classify.ts';
import { dayIndex, dayString, epochMinutes, overlaps } from './dates.ts';
import type { DayZone } from './dates.ts';
import { draftLine } from './draft.ts';
import type { DraftLine } from './draft.ts';
import { rationale } from './sources.ts';

export type NursingHourRule = 'whole-hours' | 'more-than-30-minutes';

export interface HomeContext {
  readonly tables: CodingTables;
  readonly payer: PayerRuleSet;
  readonly zone: DayZone;
  readonly encounters: ReadonlyMap<string, EncounterContext>;
  readonly nursingHours: NursingHourRule;
}

/** The episode an administration or visit belongs to. */
export function episodeOf(encounterId: string, encounters: ReadonlyMap<string, EncounterContext>): string {
  const e = encounters.get(encounterId);
  return e?.kind === 'home-nursing-visit' && e.partOf ? e.partOf : encounterId;
}

function dxOf(id: string, encounters: ReadonlyMap<string, EncounterContext>): readonly string[] {
  const e = encounters.get(id);
  if (e && e.diagnoses.length > 0) {
    return e.diagnoses;
  }
  return e?.partOf ? (encounters.get(e.partOf)?.diagnoses ?? []) : [];
}

/** Per-diem code by frequency when the table lists frequency variants of the therapy (S9500 q24h … S9504 q4h). */
function perDiemFor(home: HomeInfusionTable, defaultCode: string, dosesPerDay: number): string {
  const base = home.perDiem.find((p) => p.code === defaultCode);
  if (!base?.frequency || dosesPerDay <= 1) {
    return defaultCode;
  }
  const hours = 24 / dosesPerDay;
  const variant = home.perDiem.find((p) => {
    const m = /q\s*(\d+)\s*h/i.exec(p.frequency ?? '');
    return p.therapyClass === base.therapyClass && m !== null && Number(m[1]) === hours;
  });
  return variant?.code ?? defaultCode;
}

/** R15.2 99602: each additional hour past the visit's first 2 h — whole hours, or the CPT "> 30 min" reading. */
export function nursingAdditionalHours(minutes: number, visitMinutes: number, rule: NursingHourRule): number {
  const rest = minutes - visitMinutes;
  if (rest <= 0) {
    return 0;
  }
  return rule === 'whole-hours' ? Math.floor(rest / 60) : rest > 30 ? Math.ceil((rest - 30) / 60) : 0;
}

export function homeLines(
  ctx: HomeContext,
  items: readonly Classified[],
): { lines: DraftLine[]; issues: CodingIssue[] } {
  const { tables, payer, zone, encounters } = ctx;
  const home = tables.homeInfusion;
  const lines: DraftLine[] = [];
  const issues: CodingIssue[] = [];
  const visits = [...encounters.values()].filter((e) => e.kind === 'home-nursing-visit');

  if (payer.homeInfusion === 'commercial-per-diem') {
    // Per diem per episode and therapy (R15.2).
    const byEpisode = new Map<string, Classified[]>();
    for (const i of items) {
      const ep = episodeOf(i.adm.encounterId, encounters);
      byEpisode.set(ep, [...(byEpisode.get(ep) ?? []), i]);
    }
    for (const [episodeId, list] of byEpisode) {
      const episode = encounters.get(episodeId);
      const epStart = epochMinutes(episode?.start);
      const epEnd = epochMinutes(episode?.end);
      const byCode = new Map<string, Classified[]>();
      for (const i of list) {
        if (!i.drug.homePerDiem) {
          if (!issues.some((x) => x.code === 'no-per-diem' && x.message.includes(i.drug.name))) {
            issues.push({
              severity: 'warning',
              code: 'no-per-diem',
              message: `${i.drug.name} has no home infusion per-diem code in the catalog: only its drug line is billed`,
              encounterId: episodeId,
              administrationId: i.adm.id,
              rule: 'R15.2',
            });
          }
          continue;
        }
        const perDay = new Map<number, number>();
        for (const j of list.filter((x) => x.drugKey === i.drugKey)) {
          const d = dayIndex(j.start ?? 0, zone);
          perDay.set(d, (perDay.get(d) ?? 0) + 1);
        }
        const code = perDiemFor(home, i.drug.homePerDiem, Math.max(...perDay.values()));
        byCode.set(code, [...(byCode.get(code) ?? []), i]);
      }
      for (const [code, therapy] of byCode) {
        const adminDays = therapy.map((i) => dayIndex(i.start ?? 0, zone));
        const first = epStart !== undefined ? dayIndex(epStart, zone) : Math.min(...adminDays);
        const last = epEnd !== undefined ? dayIndex(epEnd, zone) : Math.max(...adminDays);
        const days = last - first + 1;
        if (days <= 0) {
          continue;
        }
        const entry = home.perDiem.find((p) => p.code === code);
        lines.push(
          draftLine({
            kind: 'home-per-diem',
            system: 'HCPCS',
            code,
            label: entry?.label ?? 'Home infusion per diem',
            units: days,
            modifiers: [],
            dateOfService: dayString(first),
            encounterId: episodeId,
            administrationIds: therapy.map((i) => i.adm.id),
            diagnoses: dxOf(episodeId, encounters),
            rationale: rationale(
              'R15.2',
              `home infusion per diem for ${[...new Set(therapy.map((i) => i.drug.name))].join(' + ')}: ${days} day(s) with access to the therapy ${dayString(first)}…${dayString(last)} (${epStart !== undefined ? 'episode start' : 'first administration'} to ${epEnd !== undefined ? 'episode end' : 'last administration'}); drugs and nursing billed separately`,
              { amounts: { days } },
            ),
            at: first * 1440,
          }),
        );
      }
    }

    // Nursing visits (R15.2): 99601 per visit (first 2 h) + 99602 per additional hour.
    for (const v of visits) {
      const start = epochMinutes(v.start);
      const end = epochMinutes(v.end);
      if (start === undefined) {
        issues.push({
          severity: 'error',
          code: 'missing-start-time',
          message: `Nursing visit ${v.id} has no start time: no date of service`,
          encounterId: v.id,
          rule: 'R15.2',
        });
        continue;
      }
      if (end !== undefined && end < start) {
        issues.push({
          severity: 'error',
          code: 'impossible-period',
          message: `Nursing visit ${v.id} ends before it starts`,
          encounterId: v.id,
          rule: 'R15.2',
        });
        continue;
      }
      const minutes = end !== undefined ? end - start : undefined;
      if (minutes === undefined) {
        issues.push({
          severity: 'warning',
          code: 'missing-stop-time',
          message: `Nursing visit ${v.id} has no end time: billed as one visit without additional hours`,
          encounterId: v.id,
          rule: 'R15.2',
        });
      }
      const given = items.filter((i) => i.adm.encounterId === v.id).map((i) => i.adm.id);
      const date = dayString(dayIndex(start, zone));
      const dx = dxOf(v.id, encounters);
      lines.push(
        draftLine({
          kind: 'home-nursing',
          system: 'CPT',
          code: home.nursing.visit,
          label: 'Home infusion nursing visit',
          units: 1,
          modifiers: [],
          dateOfService: date,
          encounterId: v.id,
          administrationIds: given,
          diagnoses: dx,
          rationale: rationale(
            'R15.2',
            `home infusion nursing visit${minutes !== undefined ? ` of ${minutes} min` : ''}: one visit covers up to ${home.nursing.visitMinutes} min`,
            minutes !== undefined ? { minutes } : undefined,
          ),
          at: start,
        }),
      );
      const extra =
        minutes !== undefined
          ? nursingAdditionalHours(minutes, home.nursing.visitMinutes, ctx.nursingHours)
          : 0;
      if (extra > 0 && minutes !== undefined) {
        lines.push(
          draftLine({
            kind: 'home-nursing',
            system: 'CPT',
            code: home.nursing.additionalHour,
            label: 'Home infusion nursing, add-on hour',
            units: extra,
            modifiers: [],
            dateOfService: date,
            encounterId: v.id,
            administrationIds: given,
            diagnoses: dx,
            rationale: rationale(
              'R15.2',
              `nursing visit of ${minutes} min: ${minutes - home.nursing.visitMinutes} min past the first ${home.nursing.visitMinutes} → ${extra} additional hour(s) (${ctx.nursingHours === 'whole-hours' ? 'whole hours only — the CPT "> 30 min" reading is UNCONFIRMED for 99602 and configurable' : 'a last partial hour counts when > 30 min (configured)'})`,
              { minutes },
            ),
            at: start,
          }),
        );
      }
    }
    return { lines, issues };
  }

  // Medicare HIT (R15.1): per category per infusion drug administration calendar day.
  const days = new Map<
    string,
    { category: 1 | 2 | 3; day: number; ids: Set<string>; visits: Set<string>; episode: string; at: number }
  >();
  for (const v of visits) {
    const start = epochMinutes(v.start);
    const end = epochMinutes(v.end);
    if (start === undefined) {
      issues.push({
        severity: 'error',
        code: 'missing-start-time',
        message: `Nursing visit ${v.id} has no start time: no infusion drug administration day`,
        encounterId: v.id,
        rule: 'R15.1',
      });
      continue;
    }
    const episode = v.partOf ?? v.id;
    const visitSpan = { start, end: end !== undefined && end > start ? end : start + 1 };
    const during = items.filter((i) => {
      if (i.adm.encounterId === v.id) {
        return true;
      }
      if (episodeOf(i.adm.encounterId, encounters) !== episode) {
        return false;
      }
      const s = i.interval ?? (i.start !== undefined ? { start: i.start, end: i.start + 1 } : undefined);
      return s !== undefined && overlaps(s, visitSpan);
    });
    const withCategory = during.filter((i) => i.drug.hitCategory !== undefined);
    if (withCategory.length === 0) {
      issues.push({
        severity: 'information',
        code: 'hit-no-eligible-drug',
        message: `Nursing visit ${v.id}: no HIT-eligible drug was being given during the visit, so it is not an infusion drug administration day (R15.1)`,
        encounterId: v.id,
        rule: 'R15.1',
      });
      continue;
    }
    for (const i of withCategory) {
      const category = i.drug.hitCategory as 1 | 2 | 3;
      const day = dayIndex(start, zone);
      const k = `${episode}|${category}|${day}`;
      const d = days.get(k) ?? {
        category,
        day,
        ids: new Set<string>(),
        visits: new Set<string>(),
        episode,
        at: start,
      };
      d.ids.add(i.adm.id);
      d.visits.add(v.id);
      days.set(k, d);
    }
  }
  const seen = new Set<string>();
  for (const d of [...days.values()].sort((a, b) => a.day - b.day || a.category - b.category)) {
    const codes = home.medicareHit.find((h) => h.category === d.category);
    if (!codes) {
      continue;
    }
    const firstKey = `${d.episode}|${d.category}`;
    const first = !seen.has(firstKey);
    seen.add(firstKey);
    lines.push(
      draftLine({
        kind: 'home-professional',
        system: 'HCPCS',
        code: first ? codes.firstVisit : codes.subsequentVisit,
        label: `Medicare HIT category ${d.category}, ${first ? 'first' : 'subsequent'} visit`,
        units: 1,
        modifiers: [],
        dateOfService: dayString(d.day),
        encounterId: d.episode,
        administrationIds: [...d.ids],
        diagnoses: dxOf(d.episode, encounters),
        rationale: rationale(
          'R15.1',
          `Medicare home infusion therapy category ${d.category}: nursing visit (${[...d.visits].join(', ')}) while the drug was given on ${dayString(d.day)} = one infusion drug administration calendar day, one unit (claim units per G-code UNCONFIRMED); ${first ? 'first such day in the input → first-visit code' : 'after the first day → subsequent-visit code'} (the 60-day re-admission rule is not evaluated)`,
        ),
        at: d.at,
      }),
    );
  }
  return { lines, issues };
}
