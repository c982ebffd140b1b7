/**
 * Step 1 of the checklist (coding-rules §16): resolve each documented administration to a catalog
 * drug, its family (drug master, payer override R1.2) and technique (documented method, else push
 * when an IV infusion lasts 15 minutes or less R3.1; SC/IM = injection R6.1), with its minutes.
 * Documentation that cannot be coded becomes an issue instead of a guess.
 */
import type { DrugEntry, DrugPackage, CodingTables } from '../tables/types.ts';
import type {
  AdministrationFamily,
  CodingInput,
  CodingIssue,
  DocumentedAdministration,
  EncounterContext,
} from '../types.ts';
import { resolveDrug } from './catalog.ts';
import { epochMinutes } from './dates.ts';
import type { Interval } from './dates.ts';

/** Technique as coded: `pump` = chemo infusion over 8 hours, i.e. a prolonged pump infusion (R7.1/R7.2). */
export type CodedTechnique = 'infusion' | 'push' | 'injection' | 'pump';

/** Chemo infusions longer than this are prolonged pump infusions (96416, R7.1 "> 8 h"). */
export const PROLONGED_PUMP_MINUTES = 480;
/** R3.1: an infusion of 15 minutes or less is a push. */
export const PUSH_MAX_MINUTES = 15;

export interface Classified {
  readonly adm: DocumentedAdministration;
  readonly drug: DrugEntry;
  readonly pkg?: DrugPackage;
  readonly family: AdministrationFamily;
  readonly familyNote: string;
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
  readonly held: string[];
  readonly issues: CodingIssue[];
}

const CODED_STATUSES = new Set<DocumentedAdministration['status']>(['completed', 'stopped']);

export function classifyAdministrations(
  input: CodingInput,
  tables: CodingTables,
  encounters: ReadonlyMap<string, EncounterContext>,
): ClassifyOutcome {
  const payer = tables.payers[input.payer];
  const classified: Classified[] = [];
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

    const { resolved, ndcUnmatched } = resolveDrug(tables, adm.drug);
    const described =
      adm.drug.ndc ?? adm.drug.rxnorm ?? adm.drug.hcpcs ?? adm.drug.text ?? '(nothing documented)';
    if (!resolved) {
      // Without the drug neither the HCPCS code nor the family (R1.2) is known: hold both lines.
      hold(
        'unknown-drug',
        `Drug "${described}" of administration ${adm.id} is not in the drug catalog: its family (R1.2) and HCPCS code are unknown, so neither the administration nor the drug line is coded`,
        'R1.2',
      );
      continue;
    }
    if (ndcUnmatched) {
      issues.push({
        severity: 'warning',
        code: 'ndc-not-in-catalog',
        message: `NDC ${adm.drug.ndc ?? ''} of administration ${adm.id} is not in the catalog; the drug was matched by ${resolved.matchedBy} and the NDC is left off the claim (R11.1)`,
        ...where,
        rule: 'R11.1',
      });
    }
    const { drug } = resolved;
    const override = payer.familyOverrides[drug.hcpcs];
    const family = override ?? drug.family;
    const familyNote = override
      ? `family ${family} (${input.payer} override of ${drug.family} for ${drug.hcpcs}, R1.2)`
      : `family ${family} (drug master, R1.2)`;

    if (adm.route === 'other') {
      hold(
        'unsupported-route',
        `Route of administration ${adm.id} is not IV, SC or IM: the rules do not cover it`,
        'R1.1',
      );
      continue;
    }

    const startRaw = epochMinutes(adm.start);
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
        hold(
          'unsupported-route',
          `Administration ${adm.id} is a ${adm.route} infusion (96369–96371): not covered by the rules`,
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
    const site = adm.site?.trim() ?? '';
    if (facility && site === '' && technique !== 'injection') {
      issues.push({
        severity: 'warning',
        code: 'missing-site',
        message: `Administration ${adm.id} documents no vascular access site; grouped with the other undocumented-site services (R2.3)`,
        ...where,
        rule: 'R2.3',
      });
    }

    classified.push({
      adm,
      drug,
      ...(resolved.pkg ? { pkg: resolved.pkg } : {}),
      family,
      familyNote,
      technique,
      techniqueNote,
      ...(startRaw !== undefined && end !== undefined ? { interval: { start: startRaw, end } } : {}),
      start,
      ...(minutes !== undefined ? { minutes } : {}),
      site,
      drugKey: drug.key,
    });
  }
  return { classified, held, issues };
}
