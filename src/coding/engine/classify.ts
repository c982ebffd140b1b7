/**
 * Step 1 of the checklist (coding-rules §16): resolve each documented administration to its drug
 * (resolve.ts: HCPCS code, CMS quarter row, package), its family (category.ts: documented, tenant
 * and payer overrides, drug table, HCPCS and name rules, TPD default — R1.2) and technique
 * (documented method, else push when an IV infusion lasts 15 minutes or less R3.1; SC/IM =
 * injection R6.1), with its minutes. Documentation that cannot be coded becomes an issue instead of
 * a guess; a drug Dripline cannot identify still has its administration coded.
 */
import type { BillingUnit } from '../cms/dosage.ts';
import { latestQuarter } from '../tables/cms.ts';
import type { CmsDrug, DrugEntry, DrugPackage, CodingTables } from '../tables/types.ts';
import { catalogEntry } from '../tables/universe.ts';
import { nameWords } from '../cms/names.ts';
import type {
  AdministrationFamily,
  CodingInput,
  CodingIssue,
  DocumentedAdministration,
  EncounterContext,
} from '../types.ts';
import { decideCategory } from './category.ts';
import { epochMinutes, localDate } from './dates.ts';
import type { DayZone, Interval } from './dates.ts';
import { resolveAdministrationDrug } from './resolve.ts';

/** Technique as coded: `pump` = chemo infusion over 8 hours, i.e. a prolonged pump infusion (R7.1/R7.2). */
export type CodedTechnique = 'infusion' | 'push' | 'injection' | 'pump';

/** Chemo infusions longer than this are prolonged pump infusions (96416, R7.1 "> 8 h"). */
export const PROLONGED_PUMP_MINUTES = 480;
/** R3.1: an infusion of 15 minutes or less is a push. */
export const PUSH_MAX_MINUTES = 15;

export interface Classified {
  readonly adm: DocumentedAdministration;
  readonly drug: DrugEntry;
  /** The HCPCS code billed for the drug; undefined when the documentation leads to none (drug line: an error issue). */
  readonly hcpcs?: string;
  /** The billing unit (CMS, else catalog); undefined = unknown (the drug line is held). */
  readonly billing?: BillingUnit;
  /** The code's row in the CMS quarter table of the date of service. */
  readonly cms?: CmsDrug;
  readonly quarter: { readonly id: string; readonly note?: string };
  readonly pkg?: DrugPackage;
  readonly family: AdministrationFamily;
  readonly familyNote: string;
  /** Sources of the family decision (category.ts), added to the administration lines' rationale. */
  readonly familySources: readonly string[];
  /** SC/IM chemo injection of a hormonal antineoplastic (96402, R6.1). */
  readonly hormonal: boolean;
  readonly technique: CodedTechnique;
  readonly techniqueNote: string;
  /** Start..stop in epoch minutes when both are documented. */
  readonly interval?: Interval;
  /** Start in epoch minutes (the encounter start when a push/injection has none). */
  readonly start?: number;
  readonly minutes?: number;
  /** Vascular access site ('' = not documented). */
  readonly site: string;
  /** Identity of "the same drug" for repeat pushes and continued infusions. */
  readonly drugKey: string;
}

export interface ClassifyOutcome {
  readonly classified: Classified[];
  /** Administrations with no infusion/injection service to code (route not IV/SC/IM, SC infusion): drug line only, with a warning. */
  readonly drugOnly: Classified[];
  readonly held: string[];
  readonly issues: CodingIssue[];
}

const CODED_STATUSES = new Set<DocumentedAdministration['status']>(['completed', 'stopped']);

export function classifyAdministrations(
  input: CodingInput,
  tables: CodingTables,
  encounters: ReadonlyMap<string, EncounterContext>,
  zone: DayZone,
): ClassifyOutcome {
  const payer = tables.payers[input.payer];
  const classified: Classified[] = [];
  const drugOnly: Classified[] = [];
  const held: string[] = [];
  const issues: CodingIssue[] = [];
  const facility = input.setting === 'hospital-outpatient';
  const home = input.setting === 'home';

  for (const adm of input.administrations) {
    const where = { encounterId: adm.encounterId, administrationId: adm.id };
    const hold = (code: string, message: string, rule?: string): void => {
      held.push(adm.id);
      issues.push({ severity: 'error', code, message, ...where, ...(rule ? { rule } : {}) });
    };

    // Entered in error / not done: nothing was given, so nothing is billed and nothing is wrong.
    if (adm.status === 'entered-in-error' || adm.status === 'not-done') {
      continue;
    }
    if (adm.status === 'in-progress' || adm.status === 'on-hold') {
      issues.push({
        severity: 'information',
        code: 'not-complete',
        message: `Administration ${adm.id} is ${adm.status}; it is coded once completed or stopped`,
        ...where,
      });
      continue;
    }
    if (!CODED_STATUSES.has(adm.status)) {
      hold(
        'unknown-status',
        `Administration ${adm.id} has status "${adm.status}": whether the drug was given is unknown`,
      );
      continue;
    }

    // The drug, in the CMS quarter of the date of service (the administration's start, else its encounter's).
    const startRaw = epochMinutes(adm.start);
    const dayStart = startRaw ?? epochMinutes(encounters.get(adm.encounterId)?.start);
    const dateOfService =
      dayStart !== undefined ? localDate(dayStart, zone) : latestQuarter(tables.cms).effective;
    const resolution = resolveAdministrationDrug(tables, adm, dateOfService);
    for (const f of resolution.findings) {
      issues.push({ ...f, ...where });
    }
    const { drug } = resolution;
    const category = decideCategory({
      ...(adm.category ? { documented: adm.category } : {}),
      ...(resolution.hcpcs ? { hcpcs: resolution.hcpcs } : {}),
      drug,
      listed: resolution.hcpcs !== undefined && catalogEntry(tables, resolution.hcpcs) === drug,
      names: resolution.cms?.names ?? [
        nameWords(adm.drug.text ?? drug.name)
          .sort()
          .join(' '),
      ],
      payer: input.payer,
      payerRules: payer,
      ...(input.options?.familyOverrides ? { tenant: input.options.familyOverrides } : {}),
      rules: tables.categoryRules,
    });
    if (category.confirm) {
      issues.push({
        severity: 'warning',
        code: 'category-unconfirmed',
        message: category.confirm,
        ...where,
        rule: 'R1.2',
      });
    }
    const family = category.family;
    const familyNote = category.note;
    // Every Classified is built with the same fields in the same order (absent ones undefined), so
    // the steps reading them see one object shape: spreading optional fields made a shape per
    // combination, and the engine's hot functions were compiled, thrown away and compiled again.
    const base = {
      adm,
      drug,
      hcpcs: resolution.hcpcs || undefined,
      billing: resolution.billing || undefined,
      cms: resolution.cms || undefined,
      quarter: {
        id: resolution.quarter.quarter.id,
        ...(resolution.quarter.note ? { note: resolution.quarter.note } : {}),
      },
      pkg: resolution.pkg || undefined,
      family,
      familyNote,
      familySources: category.sources,
      hormonal: category.hormonalAntineoplastic,
      site: adm.site?.trim() ?? '',
      drugKey: drug.key,
    };
    /** No administration service to code, but the drug was given: its drug line is still billed. */
    const drugOnlyItem = (code: string, message: string, rule: string): void => {
      issues.push({ severity: 'warning', code, message, ...where, rule });
      const start = dayStart;
      if (start === undefined) {
        hold(
          'missing-start-time',
          `Administration ${adm.id} has no start time and its encounter none either: no date of service`,
          'R3.6',
        );
        return;
      }
      drugOnly.push(classifiedItem(base, 'injection', message, undefined, start, undefined));
    };

    if (adm.route === 'other') {
      drugOnlyItem(
        'administration-not-coded',
        `Route of administration ${adm.id} is not IV, SC or IM: the infusion/injection rules give it no administration code (code any procedure by hand); its drug line is billed`,
        'R1.1',
      );
      continue;
    }

    const end = epochMinutes(adm.end);
    if (startRaw !== undefined && end !== undefined && end < startRaw) {
      hold(
        'impossible-period',
        `Administration ${adm.id} stops (${adm.end ?? ''}) before it starts (${adm.start ?? ''})`,
        'R3.6',
      );
      continue;
    }
    const minutes = startRaw !== undefined && end !== undefined ? end - startRaw : undefined;

    // Technique (R3.1, R6.1).
    let technique: CodedTechnique;
    let techniqueNote: string;
    const sc = adm.route === 'subcutaneous' || adm.route === 'intramuscular';
    if (sc) {
      if (adm.method === 'infusion') {
        drugOnlyItem(
          'administration-not-coded',
          `Administration ${adm.id} is a ${adm.route} infusion (96369–96371): not covered by Dripline's rules, code it by hand; its drug line is billed`,
          'R2.1',
        );
        continue;
      }
      technique = 'injection';
      techniqueNote = `${adm.route} injection (R6.1)`;
    } else if (adm.route === undefined && adm.method === undefined && !home) {
      hold('missing-route', `Administration ${adm.id} documents neither route nor method`, 'R3.1');
      continue;
    } else if (adm.route === undefined && adm.method === 'injection') {
      technique = 'injection';
      techniqueNote = 'documented injection, route not documented (SC/IM assumed, R6.1)';
      issues.push({
        severity: 'warning',
        code: 'missing-route',
        message: `Administration ${adm.id} documents an injection without a route; coded as SC/IM`,
        ...where,
        rule: 'R6.1',
      });
    } else if (adm.method === 'push' || adm.method === 'injection') {
      technique = 'push';
      techniqueNote =
        minutes !== undefined
          ? `documented IV ${adm.method} (${minutes} min, R3.1)`
          : `documented IV ${adm.method} (R3.1)`;
    } else if (minutes === undefined) {
      if (home) {
        technique = 'infusion';
        techniqueNote = 'home infusion (not timed)';
      } else {
        hold(
          'missing-stop-time',
          `Infusion ${adm.id} has no ${startRaw === undefined ? 'start' : 'stop'} time: its duration decides push vs infusion and the hours (R3.1, R3.6)`,
          'R3.6',
        );
        continue;
      }
    } else if (minutes <= PUSH_MAX_MINUTES) {
      technique = 'push';
      techniqueNote = `IV ${adm.method === 'infusion' ? 'infusion documented' : 'administration'} of ${minutes} min ≤ ${PUSH_MAX_MINUTES} min is a push (R3.1)`;
    } else {
      technique = 'infusion';
      techniqueNote = `IV infusion of ${minutes} min (R3.2)`;
    }
    if (
      technique === 'infusion' &&
      family === 'chemo-complex' &&
      minutes !== undefined &&
      minutes > PROLONGED_PUMP_MINUTES
    ) {
      technique = 'pump';
      techniqueNote = `chemo infusion of ${minutes} min > 8 h: prolonged pump infusion, not timed (R7.1, R7.2)`;
    }
    if (technique === 'injection' && family === 'hydration') {
      hold(
        'unsupported-route',
        `Hydration ${adm.id} documented as ${adm.route ?? 'an'} injection: hydration is IV only`,
        'R1.1',
      );
      continue;
    }

    // A push/injection without a start is dated by its encounter (no timing rule depends on it).
    let start = startRaw;
    if (start === undefined) {
      const encounterStart = epochMinutes(encounters.get(adm.encounterId)?.start);
      if (encounterStart === undefined) {
        hold(
          'missing-start-time',
          `Administration ${adm.id} has no start time and its encounter none either: no date of service`,
          'R3.6',
        );
        continue;
      }
      start = encounterStart;
      if (!home) {
        issues.push({
          severity: 'warning',
          code: 'missing-start-time',
          message: `Administration ${adm.id} has no start time; dated by its encounter`,
          ...where,
          rule: 'R3.6',
        });
      }
    } else if (end === undefined && technique === 'push') {
      // Decision: a documented push needs no stop time (it is not timed); note it for the record.
      issues.push({
        severity: 'information',
        code: 'missing-stop-time',
        message: `Push ${adm.id} has no stop time; coded as a push because the technique is documented`,
        ...where,
        rule: 'R3.6',
      });
    }

    if (!adm.ordered) {
      issues.push({
        severity: 'warning',
        code: 'unordered-drug',
        message: `Administration ${adm.id} (${drug.name}) points at no order`,
        ...where,
        rule: 'R3.5',
      });
    }
    const site = base.site;
    if (facility && site === '' && technique !== 'injection') {
      issues.push({
        severity: 'warning',
        code: 'missing-site',
        message: `Administration ${adm.id} documents no vascular access site; grouped with the other undocumented-site services (R2.3)`,
        ...where,
        rule: 'R2.3',
      });
    }

    classified.push(
      classifiedItem(
        base,
        technique,
        techniqueNote,
        startRaw !== undefined && end !== undefined ? { start: startRaw, end } : undefined,
        start,
        minutes,
      ),
    );
  }
  return { classified, drugOnly, held, issues };
}

type ClassifiedBase = Omit<Classified, 'technique' | 'techniqueNote' | 'interval' | 'start' | 'minutes'>;

/** A Classified in its one shape (see `base` in classifyAdministrations). */
function classifiedItem(
  base: ClassifiedBase,
  technique: CodedTechnique,
  techniqueNote: string,
  interval: Interval | undefined,
  start: number | undefined,
  minutes: number | undefined,
): Classified {
  return {
    adm: base.adm,
    drug: base.drug,
    hcpcs: base.hcpcs,
    billing: base.billing,
    cms: base.cms,
    quarter: base.quarter,
    pkg: base.pkg,
    family: base.family,
    familyNote: base.familyNote,
    familySources: base.familySources,
    hormonal: base.hormonal,
    technique,
    techniqueNote,
    interval,
    start,
    minutes,
    site: base.site,
    drugKey: base.drugKey,
  };
}
