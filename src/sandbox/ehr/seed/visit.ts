/**
 * A visit of the day as the EHR charts it: the orders behind it (MedicationRequests, signed before
 * the day), then its timeline — the encounter (and a home infusion episode) arriving, in progress
 * and finished, and each administration created, running, stopped, corrected or voided at its
 * minute — with the plan entry's messy cases applied to the regimen's administrations.
 */
import type {
  CodeableConcept,
  Condition,
  Encounter,
  Extension,
  Location,
  MedicationAdministration,
  MedicationRequest,
  Organization,
  Patient,
  Practitioner,
  Quantity,
  Reference,
} from '@medplum/fhirtypes';
import { zonedIso } from '../../../time/zone.ts';
import { LOC_HOME, NURSES, ORG_HOME, PHYSICIANS, SETTING_OF } from '../seed-data/cast.ts';
import { ROUTES, SITES } from '../seed-data/clinical-codes.ts';
import type { PlanEntry } from '../seed-data/plan.ts';
import { nurseId, physicianId } from './centre.ts';
import { ingredientName, medicationOf, therapy } from './medications.ts';
import type { AdminSpec, DayContext, PatientCtx, Regimen, Setting, SiteKey, Technique } from './model.ts';
import type { DayPatient } from './patient.ts';
import { SYSTEMS } from './systems.ts';
import { coding, pad, ref } from './values.ts';
import { EXT_DISCARDED_AMOUNT, EXT_PRIMARY_SERVICE } from '../../../contract/canonical.ts';

/**
 * Charts patient number `n`'s visit: adds its orders (and an episode that began earlier) to the
 * day's reference data and emits its timeline. Returns the visit's Encounter id.
 */
export function chartVisit(
  day: DayContext,
  entry: PlanEntry,
  regimen: Regimen,
  n: number,
  patient: DayPatient,
): string {
  const { date, seed, timeZone, rng, clock, reference, emit, nurseLoad } = day;
  const { id: pid, given, family, weightKg, bsa, reasons } = patient;
  const orderer = entry.orderer ?? regimen.orderer;

  const admins = plannedAdministrations(entry, regimen, { weightKg, bsa, rng });
  const setting = entry.setting;
  const ivSite: SiteKey =
    regimen.therapyClass === 'chemotherapy' ? 'port' : rng.pick(['l-forearm', 'r-forearm'] as const);

  // --- orders, signed by the ordering physician
  const ordererRef = ref<Practitioner>(
    'Practitioner',
    physicianId(orderer),
    `${PHYSICIANS[orderer].given} ${PHYSICIANS[orderer].family}, MD`,
  );
  const orderIds = writeOrders(day, entry, n, patient, admins, ordererRef);

  // --- encounters and the day's timeline
  const totalMinutes =
    Math.max(...admins.map((a) => a.start + (a.openEnded ? 0 : a.minutes))) + regimen.observe;
  const setup = setting === 'home' ? 20 : 15;
  let arrival: number;
  if (entry.night) {
    arrival = 22 * 60;
  } else if (setting === 'home') {
    arrival = 8 * 60 + 5 * rng.int(0, Math.max(0, Math.floor((17 * 60 - totalMinutes - 8 * 60) / 5)));
  } else {
    const open = setting === 'office' ? 7 * 60 + 30 : 7 * 60;
    const close = setting === 'office' ? 18 * 60 : 19 * 60;
    arrival = open + 5 * rng.int(0, Math.max(0, Math.floor((close - totalMinutes - setup - open) / 5)));
  }
  const chair = arrival + setup;
  const teaching = entry.newEpisode ? 60 : 0;
  const departure = chair + totalMinutes + teaching;

  const nurseIndex = nurseLoad[setting]++ % NURSES[setting].length;
  const nurse = ref<Practitioner>('Practitioner', nurseId(setting, nurseIndex));
  const where = SETTING_OF[setting];
  const encId = `enc-${pad(n)}-1`;
  const episodeId = `enc-${pad(n)}-ep`;

  if (setting === 'home') {
    const episode: Encounter = {
      resourceType: 'Encounter',
      id: episodeId,
      identifier: [{ system: SYSTEMS.visitNumber, value: `HI${pad(n)}${pad(seed % 1000)}` }],
      status: 'in-progress',
      class: { system: SYSTEMS.actCode, code: 'HH', display: 'home health' },
      type: [encounterType('home-infusion-episode', 'Home infusion therapy episode', where.pos)],
      serviceType: { text: `Home infusion therapy: ${regimen.therapyClass}` },
      subject: ref<Patient>('Patient', pid),
      participant: [{ type: [coding(SYSTEMS.participationType, 'REF', 'referrer')], individual: ordererRef }],
      period: {
        start: entry.newEpisode
          ? clock(arrival - 30)
          : zonedIso(day.shift(-rng.int(4, 40)), 10 * 60, timeZone),
      },
      reasonReference: reasons,
      location: [{ location: ref<Location>('Location', LOC_HOME), status: 'active' }],
      serviceProvider: ref<Organization>('Organization', ORG_HOME),
    };
    if (entry.newEpisode) {
      emit(arrival - 30, 'create', episode, 'Home infusion referral accepted: therapy episode opened');
    } else {
      reference.push(episode);
    }
  }

  const encounter: Encounter = {
    resourceType: 'Encounter',
    id: encId,
    identifier: [{ system: SYSTEMS.visitNumber, value: `V${date.replaceAll('-', '')}${pad(n)}` }],
    status: 'arrived',
    class:
      setting === 'home'
        ? { system: SYSTEMS.actCode, code: 'HH', display: 'home health' }
        : { system: SYSTEMS.actCode, code: 'AMB', display: 'ambulatory' },
    type: [
      encounterType(
        setting === 'office' ? 'office' : setting === 'hopd' ? 'hospital-outpatient' : 'home-infusion-visit',
        setting === 'home' && entry.newEpisode ? 'Home infusion nursing visit (first visit)' : where.label,
        where.pos,
      ),
    ],
    serviceType: {
      text: setting === 'hopd' ? 'Hospital outpatient infusion department' : 'Infusion therapy',
    },
    subject: ref<Patient>('Patient', pid),
    participant: [
      {
        type: [
          coding(
            SYSTEMS.participationType,
            setting === 'office' ? 'ATND' : 'REF',
            setting === 'office' ? 'attender' : 'referrer',
          ),
        ],
        individual: ordererRef,
      },
      { type: [coding(SYSTEMS.participationType, 'PART', 'Participation')], individual: nurse },
    ],
    period: { start: clock(arrival) },
    reasonReference: reasons,
    location: [
      {
        location: ref<Location>('Location', where.location),
        status: 'active',
        period: { start: clock(arrival) },
      },
    ],
    serviceProvider: ref<Organization>('Organization', where.org),
    ...(setting === 'home' ? { partOf: ref<Encounter>('Encounter', episodeId) } : {}),
  };
  emit(arrival, 'create', encounter, `${given} ${family} arrived (${where.label})`);
  const inProgress: Encounter = {
    ...encounter,
    status: 'in-progress',
    statusHistory: [{ status: 'arrived', period: { start: clock(arrival), end: clock(arrival + 5) } }],
  };
  emit(
    arrival + 5,
    'update',
    inProgress,
    setting === 'home' ? 'Nurse assessment, line access' : 'Roomed in infusion chair',
  );

  const visit: VisitFrame = {
    n,
    patientId: pid,
    encounterId: encId,
    setting,
    chair,
    ivSite,
    nurse,
    reasons,
    orderIds,
  };
  admins.forEach((a, k) => {
    chartAdministration(day, visit, a, k, admins.length);
  });

  const finished: Encounter = {
    ...encounter,
    status: 'finished',
    period: { start: clock(arrival), end: clock(departure) },
    location: [
      {
        location: ref<Location>('Location', where.location),
        status: 'completed',
        period: { start: clock(arrival), end: clock(departure) },
      },
    ],
    statusHistory: [
      { status: 'arrived', period: { start: clock(arrival), end: clock(arrival + 5) } },
      { status: 'in-progress', period: { start: clock(arrival + 5), end: clock(departure) } },
    ],
  };
  emit(
    departure,
    'update',
    finished,
    setting === 'home' ? 'Nurse left the home' : 'Patient discharged from the infusion area',
  );
  return encId;
}

/** The regimen's administrations for this patient, with the plan entry's messy cases applied, by start. */
function plannedAdministrations(entry: PlanEntry, regimen: Regimen, ctx: PatientCtx): AdminSpec[] {
  const admins = regimen.admins(ctx);
  for (const change of entry.changes ?? []) {
    const a = admins.find((x) => x.product === change.product);
    if (a) {
      Object.assign(a, structuredClone(change.set));
    }
  }
  admins.push(...(entry.extra ?? []).map((a) => structuredClone(a)));
  admins.sort((a, b) => a.start - b.start);
  return admins;
}

/**
 * One MedicationRequest per order key (none for an administration given without an order), added
 * to the day's reference data. Returns the order ids by order key.
 */
function writeOrders(
  day: DayContext,
  entry: PlanEntry,
  n: number,
  patient: DayPatient,
  admins: readonly AdminSpec[],
  ordererRef: Reference<Practitioner>,
): Map<string, string> {
  const { date, seed, timeZone, rng, reference } = day;
  const { id: pid, reasons } = patient;
  const orderIds = new Map<string, string>();
  for (const a of admins) {
    if (a.noOrder || orderIds.has(a.order)) {
      continue;
    }
    const t = therapy(a.product);
    const id = `mr-${pad(n)}-${a.order}`;
    orderIds.set(a.order, id);
    const request: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id,
      identifier: [
        { system: SYSTEMS.orderNumber, value: `ORD${pad(n)}${pad(orderIds.size, 2)}${pad(seed % 1000)}` },
      ],
      status: 'active',
      intent: 'order',
      ...medicationOf(t),
      subject: ref<Patient>('Patient', pid),
      // Standing orders were signed days ago; a same-day hydration order that morning.
      authoredOn:
        entry.regimen === 'hydration'
          ? zonedIso(date, 6 * 60 + rng.int(0, 11) * 5, timeZone)
          : zonedIso(day.shift(-rng.int(2, 20)), rng.int(8, 16) * 60 + rng.int(0, 11) * 5, timeZone),
      requester: ordererRef,
      reasonReference: reasons.slice(0, 1),
      dosageInstruction: [
        {
          text: a.orderText,
          route: coding(SYSTEMS.snomed, ROUTES[t.route][0], ROUTES[t.route][1]),
          method: techniqueCode(a.technique),
          ...(a.dose
            ? { doseAndRate: [{ doseQuantity: a.dose, ...(a.rate ? { rateQuantity: a.rate } : {}) }] }
            : {}),
        },
      ],
    };
    reference.push(request);
  }
  return orderIds;
}

/** What every administration of a visit shares. */
interface VisitFrame {
  readonly n: number;
  readonly patientId: string;
  readonly encounterId: string;
  readonly setting: Setting;
  /** Minute of the day the patient is in the chair (administrations are timed from it). */
  readonly chair: number;
  /** The IV site of the day (a port for chemotherapy). */
  readonly ivSite: SiteKey;
  readonly nurse: Reference<Practitioner>;
  readonly reasons: Reference<Condition>[];
  readonly orderIds: ReadonlyMap<string, string>;
}

/**
 * Administration `k` of a visit as the nurse charts it: created when given, or created running and
 * updated when stopped; charted late with a start only, stopped at a wrong time and corrected, or
 * charted twice and the duplicate voided, as its messy case says.
 */
function chartAdministration(
  day: DayContext,
  visit: VisitFrame,
  a: AdminSpec,
  k: number,
  adminCount: number,
): void {
  const { clock, emit } = day;
  const { n, patientId: pid, encounterId: encId, setting, chair, ivSite, nurse, reasons, orderIds } = visit;
  const t = therapy(a.product);
  const id = `ma-${pad(n)}-1-${k + 1}`;
  const start = chair + a.start;
  const end = start + a.minutes;
  const site =
    a.site === 'none'
      ? undefined
      : a.site && a.site !== 'iv'
        ? a.site
        : t.route === 'IV'
          ? ivSite
          : undefined;
  const requestId = orderIds.get(a.order);
  const final: MedicationAdministration = {
    resourceType: 'MedicationAdministration',
    id,
    ...(a.primary ? { extension: [{ url: EXT_PRIMARY_SERVICE, valueBoolean: true }] } : {}),
    status: a.openEnded ? 'in-progress' : 'completed',
    category: coding(
      'http://terminology.hl7.org/CodeSystem/medication-admin-category',
      setting === 'home' ? 'community' : 'outpatient',
      setting === 'home' ? 'Community' : 'Outpatient',
    ),
    ...medicationOf(t),
    subject: ref<Patient>('Patient', pid),
    context: ref<Encounter>('Encounter', encId),
    ...(t.technique === 'injection' || a.dateTimeOnly
      ? { effectiveDateTime: clock(start) }
      : {
          effectivePeriod: a.openEnded ? { start: clock(start) } : { start: clock(start), end: clock(end) },
        }),
    performer: [
      {
        function: coding(
          'http://terminology.hl7.org/CodeSystem/med-admin-perform-function',
          'performer',
          'Performer',
        ),
        actor: nurse,
      },
    ],
    reasonReference: reasons.slice(0, 1),
    ...(requestId ? { request: ref<MedicationRequest>('MedicationRequest', requestId) } : {}),
    dosage: {
      ...(site ? { site: coding(SYSTEMS.snomed, SITES[site][0], SITES[site][1]) } : {}),
      route: coding(SYSTEMS.snomed, ROUTES[t.route][0], ROUTES[t.route][1]),
      method: techniqueCode(a.technique),
      ...(a.noDose ? {} : a.dose ? { dose: a.dose } : {}),
      ...(a.rate ? { rateQuantity: a.rate } : {}),
    },
  };
  if (a.discarded) {
    final.extension = [...(final.extension ?? []), discarded(a.discarded)];
  }
  if (a.note) {
    final.note = [{ text: a.note }];
  }

  const longInfusion = a.technique === 'infusion' && a.minutes > 15 && !a.dateTimeOnly;
  if (a.dateTimeOnly) {
    // Charted late, from memory, with a start time only.
    emit(end + 10, 'create', final, `${ingredientName(t)}: charted after the fact with a start time only`);
  } else if (longInfusion) {
    const running: MedicationAdministration = {
      ...final,
      status: 'in-progress',
      effectivePeriod: { start: clock(start) },
      extension: final.extension?.filter((e) => e.url !== EXT_DISCARDED_AMOUNT),
    };
    if (!running.extension?.length) {
      delete running.extension;
    }
    emit(start, 'create', running, a.note ?? `${ingredientName(t)} infusion started`);
    if (a.correctEnd) {
      const charted = {
        ...final,
        effectivePeriod: { start: clock(start), end: clock(start + a.correctEnd.chartedMinutes) },
      };
      emit(
        start + a.correctEnd.chartedMinutes,
        'update',
        charted,
        `${ingredientName(t)} charted as stopped (wrong stop time)`,
      );
      emit(
        Math.max(a.correctEnd.at, end + 60),
        'update',
        final,
        `${ingredientName(t)}: stop time corrected by the nurse`,
      );
    } else if (!a.openEnded) {
      emit(end, 'update', final, `${ingredientName(t)} infusion stopped`);
    }
  } else {
    emit(end, 'create', final, a.note ?? `${ingredientName(t)} given (${a.technique})`);
  }

  if (a.duplicateVoidedAt !== undefined) {
    const dupId = `ma-${pad(n)}-1-${adminCount + 1}`;
    const duplicate: MedicationAdministration = { ...final, id: dupId };
    emit(end + 3, 'create', duplicate, `${ingredientName(t)} charted a second time by mistake`);
    emit(
      Math.max(a.duplicateVoidedAt, end + 45),
      'update',
      { ...duplicate, status: 'entered-in-error' },
      'Duplicate charting voided',
    );
  }
}

function techniqueCode(technique: Technique): CodeableConcept {
  const display = technique === 'push' ? 'IV push' : technique === 'infusion' ? 'Infusion' : 'Injection';
  return coding(SYSTEMS.technique, technique, display);
}

function encounterType(code: string, display: string, pos: [string, string]): CodeableConcept {
  return {
    coding: [
      { system: SYSTEMS.careSetting, code, display },
      { system: SYSTEMS.placeOfService, code: pos[0], display: pos[1] },
    ],
    text: display,
  };
}

function discarded(amount: Quantity): Extension {
  return { url: EXT_DISCARDED_AMOUNT, valueQuantity: amount };
}
