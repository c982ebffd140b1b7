/**
 * The infusion coding engine: `codeEncounters(input, tables)` → charge lines with rationale, held
 * administrations and documentation issues. Pure: no I/O, no clock (node:crypto only hashes keys).
 *
 * Pipeline (coding-rules §16): classify (classify.ts) → administration codes per encounter
 * (administration.ts; home: home.ts) → distinct-service modifier for a second encounter the same
 * day (R2.4) → drug lines (drugs.ts) → payer-refused codes → merge, revenue codes, keys (draft.ts).
 */
import type { CodingTables, PayerRuleSet } from '../tables/types.ts';
import type { CodingInput, CodingIssue, CodingResult, EncounterContext } from '../types.ts';
import { codeEncounterAdministrations, INITIAL_CODES } from './administration.ts';
import { classifyAdministrations } from './classify.ts';
import type { Classified } from './classify.ts';
import { dayZone, epochMinutes, localDate } from './dates.ts';
import { draftLine, finishLines } from './draft.ts';
import type { DraftLine } from './draft.ts';
import { drugLines } from './drugs.ts';
import type { DrugItem } from './drugs.ts';
import { homeLines } from './home.ts';
import type { NursingHourRule } from './home.ts';
import { rationale } from './sources.ts';

export { addOnHours, INITIAL_CODES } from './administration.ts';
export { ndc11 } from './catalog.ts';
export { nursingAdditionalHours } from './home.ts';
export type { NursingHourRule } from './home.ts';

/** Engine settings the rules leave open (coding-rules marks them UNCONFIRMED). */
export interface EngineConfig {
  /** R15.2: 99602 for whole additional hours only (default), or the CPT "> 30 min past the hour" reading. */
  readonly homeNursingAdditionalHour?: NursingHourRule;
}

export function codeEncounters(
  input: CodingInput,
  tables: CodingTables,
  config: EngineConfig = {},
): CodingResult {
  const zone = dayZone(input.options);
  const payer = tables.payers[input.payer];
  const encounters = new Map<string, EncounterContext>(input.encounters.map((e) => [e.id, e]));
  const { classified, drugOnly, held, issues } = classifyAdministrations(input, tables, encounters, zone);
  const drafts: DraftLine[] = [];
  const drugItems: DrugItem[] = [];
  const allIssues: CodingIssue[] = [...issues];

  for (const id of new Set(input.administrations.map((a) => a.encounterId))) {
    if (!encounters.has(id)) {
      allIssues.push({
        severity: 'warning',
        code: 'unknown-encounter',
        message: `Administrations point at encounter ${id}, which is not in the input: coded without its diagnoses`,
        encounterId: id,
      });
    }
  }

  if (input.setting === 'home') {
    const home = homeLines(
      { tables, payer, zone, encounters, nursingHours: config.homeNursingAdditionalHour ?? 'whole-hours' },
      classified,
    );
    drafts.push(...home.lines);
    allIssues.push(...home.issues);
    for (const item of classified) {
      drugItems.push({
        item,
        dateOfService: localDate(item.start ?? 0, zone),
        encounterId: item.adm.encounterId,
        diagnoses: diagnosesOf(item.adm.encounterId, encounters),
      });
    }
  } else {
    const setting = input.setting;
    const byEncounter = new Map<string, Classified[]>();
    for (const c of classified) {
      const list = byEncounter.get(c.adm.encounterId);
      if (list) {
        list.push(c);
      } else {
        byEncounter.set(c.adm.encounterId, [c]);
      }
    }
    const encounterStart = new Map<string, number>();
    for (const [encounterId, items] of byEncounter) {
      const encounter = encounters.get(encounterId);
      const start =
        epochMinutes(encounter?.start) ?? Math.min(...items.map((i) => i.start ?? Number.MAX_SAFE_INTEGER));
      encounterStart.set(encounterId, start);
      // Office: every line carries the encounter's date of service; CPT counts a continuous infusion by total time (R3.7).
      const officeDate = localDate(start, zone);
      const diagnoses = diagnosesOf(encounterId, encounters);
      const result = codeEncounterAdministrations(
        {
          setting,
          tables,
          payer,
          zone,
          encounterId,
          ...(encounter ? { encounter } : {}),
          diagnoses,
          officeDate,
        },
        items,
      );
      drafts.push(...result.lines);
      allIssues.push(...result.issues);
      for (const item of items) {
        // Fluid that produced no hydration time is incidental (R3.5, R4.4): no separate fluid line.
        if (result.incidental.has(item.adm.id)) {
          continue;
        }
        drugItems.push({
          item,
          dateOfService: setting === 'office' ? officeDate : localDate(item.start ?? start, zone),
          encounterId,
          diagnoses,
        });
      }
    }
    applySeparateEncounterModifier(drafts, encounterStart, payer.distinctServiceModifier.separateEncounter);
  }
  // Drugs given by a route with no administration service to code: the drug line alone.
  for (const item of drugOnly) {
    const encounterStart = epochMinutes(encounters.get(item.adm.encounterId)?.start);
    const at = input.setting === 'office' ? (encounterStart ?? item.start ?? 0) : (item.start ?? 0);
    drugItems.push({
      item,
      dateOfService: localDate(at, zone),
      encounterId: item.adm.encounterId,
      diagnoses: diagnosesOf(item.adm.encounterId, encounters),
    });
  }

  const drug = drugLines(
    {
      tables,
      payer,
      options: input.options ?? {},
      dmeBenefit: input.setting === 'home' && payer.homeInfusion === 'medicare-hit',
      institutional: input.setting === 'hospital-outpatient',
    },
    drugItems,
  );
  drafts.push(...drug.lines);
  allIssues.push(...drug.issues);

  // Codes this payer does not accept (e.g. 96376 for some commercial payers).
  const refused = refusedCodes(payer);
  const kept = drafts.filter((d) => {
    if (!refused.has(d.code)) {
      return true;
    }
    allIssues.push({
      severity: 'information',
      code: 'payer-refused-code',
      message: `${d.code} (${d.administrationIds.join(', ')}) is not accepted by the ${input.payer} rule set: left off`,
      encounterId: d.encounterId,
    });
    return false;
  });

  const lines = finishLines(kept, tables, input.setting === 'hospital-outpatient');
  for (const e of input.encounters) {
    if (e.diagnoses.length === 0 && lines.some((l) => l.encounterId === e.id)) {
      allIssues.push({
        severity: 'warning',
        code: 'missing-diagnosis',
        message: `Encounter ${e.id} has charges but no diagnosis`,
        encounterId: e.id,
      });
    }
  }
  return { lines, held: [...new Set(held)], issues: allIssues };
}

/** Each payer rule set's refused codes as a set, built once per loaded rule set. */
const refusedSets = new WeakMap<PayerRuleSet, ReadonlySet<string>>();

function refusedCodes(payer: PayerRuleSet): ReadonlySet<string> {
  let refused = refusedSets.get(payer);
  if (!refused) {
    refused = new Set(payer.refusedCodes);
    refusedSets.set(payer, refused);
  }
  return refused;
}

function diagnosesOf(
  encounterId: string,
  encounters: ReadonlyMap<string, EncounterContext>,
): readonly string[] {
  const e = encounters.get(encounterId);
  if (e && e.diagnoses.length > 0) {
    return e.diagnoses;
  }
  return e?.partOf ? (encounters.get(e.partOf)?.diagnoses ?? []) : [];
}

/**
 * R2.4 / R2.2: separate encounters on the same date may each have an initial; every initial after
 * the day's first encounter takes the payer's separate-encounter modifier (unless it already carries
 * the separate-site one).
 */
function applySeparateEncounterModifier(
  drafts: DraftLine[],
  encounterStart: ReadonlyMap<string, number>,
  modifier: string,
): void {
  const byDate = new Map<string, DraftLine[]>();
  for (const d of drafts) {
    if (d.initial && INITIAL_CODES.has(d.code) && d.modifiers.length === 0) {
      const list = byDate.get(d.dateOfService);
      if (list) {
        list.push(d);
      } else {
        byDate.set(d.dateOfService, [d]);
      }
    }
  }
  for (const list of byDate.values()) {
    const encountersOfDay = [...new Set(list.map((d) => d.encounterId))].sort(
      (a, b) => (encounterStart.get(a) ?? 0) - (encounterStart.get(b) ?? 0) || a.localeCompare(b),
    );
    for (const d of list) {
      if (d.encounterId === encountersOfDay[0]) {
        continue;
      }
      const i = drafts.indexOf(d);
      drafts[i] = draftLine({
        ...d,
        modifiers: [modifier],
        rationale: {
          ...d.rationale,
          sources: [...new Set([...d.rationale.sources, ...rationale(['R2.4', 'R2.2'], '').sources])],
          text: `${d.rationale.text}; second encounter on ${d.dateOfService} (patient left and returned) → its initial takes ${modifier} (R2.4, configurable per payer)`,
        },
      });
    }
  }
}
