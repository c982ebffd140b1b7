/**
 * Streaming X12 005010 837 writer: professional (005010X222A1) and institutional (005010X223A2).
 *
 * Layout: one interchange (ISA/IEA) holding one functional group (GS/GE, HC) holding **one
 * transaction set (ST/SE) per claim**. A per-claim transaction keeps each ST..SE small and
 * self-contained (its own BHT, 1000A/1000B and HL numbering from 1), so a 999 rejection names one
 * claim, and the writer only ever holds one claim's segments: memory stays flat however large the
 * batch. Each yielded string is whole segments: first the ISA+GS, then one transaction per claim,
 * then GE+IEA.
 *
 * A claim the writer cannot render validly (missing NPI, no diagnosis, a line without units...)
 * raises X12Error before any of its segments are yielded; with `onError` the claim is skipped
 * instead (reported to the callback, not counted in GE01) and the batch goes on.
 *
 * Transaction: ST, BHT, 1000A (NM1*41, PER), 1000B (NM1*40), 2000A (HL 20, PRV*BI, 2010AA NM1*85
 * N3 N4 REF*EI), 2000B (HL 22, SBR, 2010BA NM1*IL N3 N4 DMG, 2010BB NM1*PR), 2000C when the patient is
 * not the subscriber (HL 23, PAT, 2010CA NM1*QC N3 N4 DMG; who the subscriber is: ../subscriber.ts), 2300 (CLM, 837I DTP*434 and CL1, REF*G1,
 * REF*F8, HI), 2310A attending (837I, required: ../attending.ts chooses it) / 2310B rendering
 * (837P, when the Claim's care team has a contained Practitioner with an NPI), 2400 per line (LX, SV1 or SV2, DTP*472, 2410 LIN/CTP for an
 * NDC), SE.
 */
import type {
  Claim,
  ClaimItem,
  Coding,
  CodeableConcept,
  Coverage,
  Encounter,
  Extension,
  HumanName,
  Organization,
  Patient,
  Practitioner,
  RelatedPerson,
  Address,
} from '@medplum/fhirtypes';
import { normalizeNdc } from '../../coding/ndc.ts';
import type { CareSetting, PayerKind } from '../../coding/types.ts';
import { preferredAddress, preferredName, readSubscriber } from './subscriber.ts';
import {
  composite,
  controlNumber,
  d8,
  decimal,
  digits,
  id,
  isaSegment,
  npi,
  segment,
  SEGMENT,
  text,
  utcStamp,
  X12Error,
} from '../encode.ts';
import type { IsaParty } from '../encode.ts';

export type X12Kind = '837P' | '837I';

/**
 * What the writer reads of one claim: FHIR resources plus the billing provider and payer as plain
 * data. Declared here so that X12 needs nothing from the claims capability; a claims ClaimContext
 * is one (structurally).
 */
export interface Claim837Input {
  readonly claim: Claim & { id: string };
  readonly setting: CareSetting;
  readonly patient: Patient;
  /** Coverages in claim sequence order (primary first). */
  readonly coverages: readonly Coverage[];
  /** The resource the primary coverage's `subscriber` names, when on file (./subscriber.ts). */
  readonly subscriber?: Patient | RelatedPerson;
  /** The payer: NM1*PR name and id (2010BB), SBR09 from its kind. */
  readonly payer: { readonly name: string; readonly payerId: string; readonly kind: PayerKind };
  readonly payerOrganization?: Organization;
  /** The billing provider (2000A / 2010AA) and the submitter's fallback phone (PER). */
  readonly provider: BillingProvider837;
  /** The claim's encounters (837I CL103 patient status from their discharge disposition). */
  readonly encounters: readonly Encounter[];
}

/** The billing provider as loop 2010AA needs it. */
export interface BillingProvider837 {
  readonly name: string;
  readonly npi: string;
  /** NUCC provider taxonomy code (PRV03). */
  readonly taxonomy: string;
  /** EIN, 9 digits (REF*EI). */
  readonly taxId: string;
  readonly address: {
    readonly line: readonly string[];
    readonly city: string;
    readonly state: string;
    readonly postalCode: string;
  };
  readonly phone?: string;
}

export const IMPLEMENTATION: Readonly<Record<X12Kind, string>> = {
  '837P': '005010X222A1',
  '837I': '005010X223A2',
};

export interface X12Party extends IsaParty {
  /** NM103 of loop 1000A / 1000B. */
  readonly name: string;
}

export interface Write837Options {
  readonly kind: X12Kind;
  /** Submitter: ISA06, GS02 and loop 1000A; `contact` for its PER (defaults to the billing provider's phone). */
  readonly sender: X12Party & { readonly contact?: { name: string; phone?: string; email?: string } };
  /** Receiver (clearinghouse or payer): ISA08, GS03 and loop 1000B. */
  readonly receiver: X12Party;
  /** ISA13 (1..999999999) and GS06 (1..999999999). */
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  /** Envelope dates (UTC). */
  readonly now: Date;
  /** ISA15: T test, P production. */
  readonly usage: 'T' | 'P';
  /** ISA14 (default false). */
  readonly ackRequested?: boolean;
  /** A newline after each segment terminator, for people reading the file (default false). */
  readonly lineBreaks?: boolean;
  /**
   * Coalesce transactions into chunks of at least this many characters before yielding (fewer,
   * larger writes for files and sockets; memory stays bounded by it). Default 0: one chunk per claim.
   */
  readonly chunkSize?: number;
  /** Skip a claim that cannot be rendered (instead of throwing). */
  readonly onError?: (claimId: string, error: X12Error) => void;
}

const SYS = {
  ndc: 'http://hl7.org/fhir/sid/ndc',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  npi: 'http://hl7.org/fhir/sid/us-npi',
} as const;

/** Unit qualifiers for CTP05-01 (coding-rules R11.4); GM and MG are accepted as their X12 spellings. */
const NDC_UNITS: Readonly<Record<string, string>> = {
  UN: 'UN',
  ML: 'ML',
  GR: 'GR',
  GM: 'GR',
  F2: 'F2',
  ME: 'ME',
  MG: 'ME',
};

const POS_BY_SETTING: Readonly<Record<string, string>> = {
  office: '11',
  home: '12',
  'hospital-outpatient': '22',
};

/** SBR01 by payer sequence (1 = primary). */
const RESPONSIBILITY = ['P', 'S', 'T', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

// ---------------------------------------------------------------------------------------------
// Reading the claim context
// ---------------------------------------------------------------------------------------------

function firstCode(concept: CodeableConcept | undefined, system?: string): string | undefined {
  const codings: Coding[] = concept?.coding ?? [];
  return (system ? codings.find((c) => c.system === system) : undefined)?.code ?? codings[0]?.code;
}

function extensionCode(extensions: readonly Extension[] | undefined, urlPart: string): string | undefined {
  const e = extensions?.find((x) => x.url.includes(urlPart));
  return e?.valueCode ?? e?.valueString ?? e?.valueCoding?.code ?? e?.valueCodeableConcept?.coding?.[0]?.code;
}

/** The four-digit type of bill (e.g. 0131) from Claim.subType or a type-of-bill extension. */
export function typeOfBill(claim: Claim): string | undefined {
  const fromSubType = claim.subType?.coding?.find((c) => /^0?\d{3}$/.test(c.code ?? ''))?.code;
  const raw = fromSubType ?? extensionCode(claim.extension, 'type-of-bill');
  if (!raw || !/^0?\d{3}$/.test(raw)) {
    return undefined;
  }
  return raw.padStart(4, '0');
}

const REPLACES = new Set(['replaces', 'prior', 'corrects', 'correction']);
const VOIDS = new Set(['void', 'voids', 'cancels']);

function relatedWith(
  claim: Claim,
  codes: ReadonlySet<string>,
): NonNullable<Claim['related']>[number] | undefined {
  return claim.related?.find((r) => (r.relationship?.coding ?? []).some((c) => codes.has(c.code ?? '')));
}

/** The claim-frequency extension of src/claims/build.ts (1 original, 7 replacement, 8 void). */
const EXT_CLAIM_FREQUENCY = 'https://dripline.dev/fhir/StructureDefinition/claim-frequency';
/** A line charge carried as an item extension (valueMoney), as the sandbox payer also accepts. */
const EXT_CHARGE_AMOUNT = 'https://dripline.dev/fhir/StructureDefinition/charge-amount';

/** Whole cents of a money amount (half away from zero, without binary-float drift). */
function cents(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value) * 100 + 1e-7);
}

/**
 * CLM05-3: the claim-frequency extension when present; else void 8 (a related claim it voids),
 * replacement 7 (a related claim it replaces or corrects), the type of bill's frequency digit, or 1
 * (original). The claim-state extension is not read: a claim in state `void` is one that was
 * voided, not the void itself.
 */
export function claimFrequency(claim: Claim): string {
  const explicit = claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode;
  if (explicit && /^[0-9A-Z]$/.test(explicit)) {
    return explicit;
  }
  if (relatedWith(claim, VOIDS)) {
    return '8';
  }
  if (relatedWith(claim, REPLACES)) {
    return '7';
  }
  return typeOfBill(claim)?.[3] ?? '1';
}

function originalClaimNumber(claim: Claim): string | undefined {
  const r = relatedWith(claim, VOIDS) ?? relatedWith(claim, REPLACES) ?? claim.related?.[0];
  return r?.reference?.value ?? r?.claim?.identifier?.value ?? r?.claim?.reference?.split('/').pop();
}

function focalCoverage(ctx: Claim837Input): { coverage: Coverage; sequence: number; preAuthRef?: string } {
  const insurance = ctx.claim.insurance ?? [];
  const focal = insurance.find((i) => i.focal) ?? insurance[0];
  const ref = focal?.coverage?.reference;
  let index = ref
    ? ctx.coverages.findIndex((c) => c.id !== undefined && ref.endsWith(`Coverage/${c.id}`))
    : -1;
  if (index < 0 && focal) {
    index = Math.min(insurance.indexOf(focal), ctx.coverages.length - 1);
  }
  const coverage = ctx.coverages[Math.max(index, 0)];
  if (!coverage) {
    throw new X12Error('no Coverage to bill', ctx.claim.id);
  }
  const sequence = coverage.order ?? Math.max(index, 0) + 1;
  const preAuthRef = focal?.preAuthRef?.[0];
  return preAuthRef ? { coverage, sequence, preAuthRef } : { coverage, sequence };
}

function memberId(coverage: Coverage, claimId: string): string {
  const v =
    coverage.subscriberId ??
    coverage.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value ??
    coverage.identifier?.[0]?.value;
  return id(v, 'member id (Coverage.subscriberId)', 80, claimId);
}

function groupOf(coverage: Coverage): { number?: string; name?: string } {
  const g = coverage.class?.find((c) => c.type.coding?.some((x) => x.code === 'group'));
  return g ? { number: text(g.value, 50), name: text(g.name, 60) } : {};
}

/** SBR09 claim filing indicator. */
function filingIndicator(ctx: Claim837Input, kind: X12Kind): string {
  switch (ctx.payer.kind) {
    case 'medicare':
      return kind === '837I' ? 'MA' : 'MB';
    case 'medicaid':
      return 'MC';
    default:
      return 'CI';
  }
}

interface Line {
  readonly item: ClaimItem;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly charge: number;
  readonly date: string;
  readonly dateEnd?: string;
  readonly revenue?: string;
  readonly pos?: string;
  readonly pointers: readonly number[];
  readonly ndc?: { code: string; quantity: number; unit: string };
}

function lineOf(
  item: ClaimItem,
  ctx: Claim837Input,
  kind: X12Kind,
  hiPosition: ReadonlyMap<number, number>,
): Line {
  const claimId = ctx.claim.id;
  const at = `item ${item.sequence}`;
  const coding = item.productOrService.coding ?? [];
  const codeValue =
    coding.find((c) => /cpt|hcpcs/i.test(c.system ?? ''))?.code ??
    coding.find((c) => c.system !== SYS.ndc)?.code;
  const revenueRaw = firstCode(item.revenue);
  const revenue =
    revenueRaw !== undefined
      ? digits(revenueRaw.padStart(4, '0'), `${at} revenue code`, [4], claimId)
      : undefined;
  if (kind === '837I' && !revenue) {
    throw new X12Error(`${at} has no revenue code (SV201 is required on 837I)`, claimId);
  }
  const code =
    codeValue !== undefined || kind === '837P' ? id(codeValue, `${at} procedure code`, 48, claimId) : '';
  const modifiers = (item.modifier ?? []).map((m) => id(firstCode(m), `${at} modifier`, 2, claimId));
  if (modifiers.length > 4) {
    throw new X12Error(`${at} has ${modifiers.length} modifiers; an 837 line carries at most 4`, claimId);
  }
  const units = item.quantity?.value;
  if (units === undefined || !(units > 0)) {
    throw new X12Error(`${at} has no units (quantity)`, claimId);
  }
  // SV102 / SV203: Claim.item.net (the chargemaster line charge of src/claims/build.ts), else a
  // charge-amount extension, else unitPrice × factor × units; rounded to cents so CLM02 balances.
  const unitPrice = item.unitPrice?.value;
  const chargeExt = item.extension?.find((e) => e.url === EXT_CHARGE_AMOUNT)?.valueMoney?.value;
  const charge =
    cents(
      item.net?.value ?? chargeExt ?? (unitPrice !== undefined ? unitPrice * (item.factor ?? 1) * units : 0),
    ) / 100;
  const start = item.servicedDate ?? item.servicedPeriod?.start ?? ctx.claim.billablePeriod?.start;
  const end = item.servicedPeriod?.end;
  const date = d8(start, `${at} date of service`, claimId);
  const dateEnd =
    end !== undefined && d8(end, `${at} end of service`, claimId) !== date
      ? d8(end, `${at} end`, claimId)
      : undefined;
  const pointers = (item.diagnosisSequence ?? []).map((seq) => {
    const p = hiPosition.get(seq);
    if (p === undefined) {
      throw new X12Error(`${at} points to diagnosis ${seq}, which the claim does not carry`, claimId);
    }
    return p;
  });
  if (kind === '837P') {
    if (pointers.length === 0) {
      throw new X12Error(`${at} has no diagnosis pointer (SV107 is required on 837P)`, claimId);
    }
    if (pointers.length > 4 || pointers.some((p) => p > 12)) {
      throw new X12Error(
        `${at} diagnosis pointers must be at most 4, each within the first 12 diagnoses`,
        claimId,
      );
    }
  }
  const pos = firstCode(item.locationCodeableConcept);
  let ndc: Line['ndc'];
  for (const detail of item.detail ?? []) {
    const ndcRaw = detail.productOrService.coding?.find((c) => c.system === SYS.ndc)?.code;
    if (ndcRaw === undefined) {
      continue;
    }
    const ndcCode = normalizeNdc(ndcRaw);
    if (!ndcCode) {
      throw new X12Error(`${at} NDC "${ndcRaw}" is not an 11-digit (5-4-2) NDC`, claimId);
    }
    const q = detail.quantity;
    const unit = NDC_UNITS[(q?.code ?? q?.unit ?? '').toUpperCase()];
    if (q?.value === undefined || !(q.value > 0) || !unit) {
      throw new X12Error(`${at} NDC ${ndcCode} needs a quantity with unit UN, ML, GR, F2 or ME`, claimId);
    }
    ndc = { code: ndcCode, quantity: q.value, unit };
    break;
  }
  return {
    item,
    code,
    modifiers,
    units,
    charge,
    date,
    pointers,
    ...(dateEnd ? { dateEnd } : {}),
    ...(revenue ? { revenue } : {}),
    ...(pos ? { pos: id(pos, `${at} place of service`, 2, claimId) } : {}),
    ...(ndc ? { ndc } : {}),
  };
}

function nameSegments(
  entity: 'IL' | 'QC',
  name: HumanName | undefined,
  idElements: readonly string[],
  claimId: string,
): string {
  const last = text(name?.family, 60);
  if (!last) {
    throw new X12Error(`${entity === 'IL' ? 'subscriber' : 'patient'} has no family name`, claimId);
  }
  return segment(
    'NM1',
    entity,
    '1',
    last,
    text(name?.given?.[0], 35),
    text(name?.given?.[1], 25),
    '',
    text(name?.suffix?.[0], 10),
    ...idElements,
  );
}

function addressSegments(
  address: Address | undefined,
  what: string,
  claimId: string,
  required: boolean,
): string[] {
  const line1 = text(address?.line?.[0], 55);
  if (!line1 || !address?.city) {
    if (required) {
      throw new X12Error(`${what} has no street address and city`, claimId);
    }
    return [];
  }
  const country = address.country && !/^(US|USA)$/i.test(address.country) ? text(address.country, 3) : '';
  const postal = (address.postalCode ?? '').replace(/[\s-]/g, '');
  if (!country && !/^(\d{5}|\d{9})$/.test(postal)) {
    throw new X12Error(`${what} postal code "${address.postalCode ?? ''}" must be 5 or 9 digits`, claimId);
  }
  return [
    segment('N3', line1, text(address.line?.[1], 55)),
    segment(
      'N4',
      text(address.city, 30),
      country ? '' : id(address.state, `${what} state`, 2, claimId),
      postal,
      country,
    ),
  ];
}

function demographics(birthDate: string | undefined, gender: string | undefined, claimId: string): string {
  const g = gender === 'male' ? 'M' : gender === 'female' ? 'F' : 'U';
  return segment('DMG', 'D8', d8(birthDate, 'patient birth date', claimId), g);
}

/** CL103 patient status (UB-04 FL17): the encounter's discharge disposition when numeric, else 01 (home). */
function patientStatus(ctx: Claim837Input): string {
  for (const e of ctx.encounters) {
    const code = firstCode(e.hospitalization?.dischargeDisposition);
    if (code && /^\d{2}$/.test(code)) {
      return code;
    }
  }
  return '01';
}

/**
 * The individual clinician of the claim: a care-team member (first matching role, in `roles` order)
 * whose provider is a contained Practitioner with an NPI (http://hl7.org/fhir/sid/us-npi).
 */
function careTeamPractitioner(
  claim: Claim,
  roles: readonly string[],
): { name?: HumanName; npi: string; taxonomy?: string } | undefined {
  for (const role of roles) {
    for (const member of claim.careTeam ?? []) {
      if (firstCode(member.role) !== role) {
        continue;
      }
      const ref = member.provider.reference ?? '';
      const practitioner = claim.contained?.find(
        (r): r is Practitioner => r.resourceType === 'Practitioner' && `#${r.id ?? ''}` === ref,
      );
      const npi = practitioner?.identifier?.find((i) => i.system === SYS.npi)?.value;
      if (practitioner && npi) {
        const name = preferredName(practitioner.name);
        const taxonomy = firstCode(member.qualification);
        return { npi, ...(name ? { name } : {}), ...(taxonomy ? { taxonomy } : {}) };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// One transaction
// ---------------------------------------------------------------------------------------------

/** The segments of one claim's transaction set, ST..SE (exported for tests and single-claim use). */
export function transactionSegments(
  ctx: Claim837Input,
  stControl: string,
  options: Write837Options,
): string[] {
  const { kind } = options;
  const claim = ctx.claim;
  const claimId = id(claim.id, 'claim id (CLM01)', 38, claim.id);
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  const out: string[] = [];

  // Diagnoses, principal first; HI position by Claim.diagnosis.sequence.
  const diagnoses = [...(claim.diagnosis ?? [])].sort((a, b) => a.sequence - b.sequence);
  const principal = diagnoses.findIndex((d) => d.type?.some((t) => firstCode(t) === 'principal'));
  if (principal > 0) {
    diagnoses.unshift(...diagnoses.splice(principal, 1));
  }
  if (diagnoses.length === 0) {
    throw new X12Error('has no diagnosis (HI ABK is required)', claimId);
  }
  const maxDx = kind === '837P' ? 12 : 25;
  if (diagnoses.length > maxDx) {
    throw new X12Error(`has ${diagnoses.length} diagnoses; ${kind} carries at most ${maxDx}`, claimId);
  }
  const hiPosition = new Map<number, number>(diagnoses.map((d, i) => [d.sequence, i + 1]));
  const dxCodes = diagnoses.map((d) =>
    id(
      firstCode(d.diagnosisCodeableConcept, SYS.icd10cm)?.replace('.', ''),
      `diagnosis ${d.sequence}`,
      30,
      claimId,
    ),
  );

  const items = [...(claim.item ?? [])].sort((a, b) => a.sequence - b.sequence);
  if (items.length === 0) {
    throw new X12Error('has no lines', claimId);
  }
  const maxLines = kind === '837P' ? 50 : 999;
  if (items.length > maxLines) {
    throw new X12Error(`has ${items.length} lines; ${kind} carries at most ${maxLines} per claim`, claimId);
  }
  const lines = items.map((item) => lineOf(item, ctx, kind, hiPosition));

  const { coverage, sequence, preAuthRef } = focalCoverage(ctx);
  const reading = readSubscriber(coverage, ctx.patient, ctx.subscriber);
  if (!reading.ok) {
    throw new X12Error(`missing ${reading.missing.map((g) => g.text).join('; ')}`, claimId);
  }
  const insured = reading.insured;
  const patientIsSubscriber = insured.kind === 'patient';
  const provider = ctx.provider;

  // Header and 1000A / 1000B.
  out.push(segment('ST', '837', stControl, IMPLEMENTATION[kind]));
  out.push(
    segment(
      'BHT',
      '0019',
      '00',
      id(`${options.controlNumbers.gs}-${stControl}`, 'BHT03', 50),
      ccyymmdd,
      hhmm,
      'CH',
    ),
  );
  out.push(
    segment(
      'NM1',
      '41',
      '2',
      text(options.sender.name, 60),
      '',
      '',
      '',
      '',
      '46',
      id(options.sender.id, 'submitter id', 80),
    ),
  );
  const contact = options.sender.contact;
  const phone = (contact?.phone ?? provider.phone ?? '').replace(/\D/g, '');
  out.push(
    segment(
      'PER',
      'IC',
      text(contact?.name ?? options.sender.name, 60),
      ...(phone
        ? ['TE', phone]
        : ['EM', id(contact?.email, 'submitter contact phone or email (PER)', 256, claimId)]),
    ),
  );
  out.push(
    segment(
      'NM1',
      '40',
      '2',
      text(options.receiver.name, 60),
      '',
      '',
      '',
      '',
      '46',
      id(options.receiver.id, 'receiver id', 80),
    ),
  );

  // 2000A billing provider.
  out.push(segment('HL', '1', '', '20', '1'));
  out.push(segment('PRV', 'BI', 'PXC', id(provider.taxonomy, 'billing provider taxonomy', 50, claimId)));
  out.push(
    segment(
      'NM1',
      '85',
      '2',
      text(provider.name, 60),
      '',
      '',
      '',
      '',
      'XX',
      npi(provider.npi, 'billing provider NPI', claimId),
    ),
  );
  out.push(
    ...addressSegments(
      {
        line: [...provider.address.line],
        city: provider.address.city,
        state: provider.address.state,
        postalCode: provider.address.postalCode,
      },
      'billing provider',
      claimId,
      true,
    ),
  );
  out.push(segment('REF', 'EI', digits(provider.taxId, 'billing provider tax id', [9], claimId)));

  // 2000B subscriber, 2010BA, 2010BB.
  const group = groupOf(coverage);
  out.push(segment('HL', '2', '1', '22', patientIsSubscriber ? '0' : '1'));
  out.push(
    segment(
      'SBR',
      RESPONSIBILITY[sequence - 1] ?? 'U',
      patientIsSubscriber ? '18' : '',
      group.number,
      group.number ? '' : group.name,
      '',
      '',
      '',
      '',
      filingIndicator(ctx, kind),
    ),
  );
  const member = memberId(coverage, claimId);
  if (insured.kind === 'patient') {
    out.push(nameSegments('IL', preferredName(ctx.patient.name), ['MI', member], claimId));
    out.push(...addressSegments(preferredAddress(ctx.patient.address), 'patient', claimId, true));
    out.push(demographics(ctx.patient.birthDate, ctx.patient.gender, claimId));
  } else {
    // 2010BA names the subscriber; N3/N4 when known, no DMG (required only when the patient is the subscriber).
    out.push(nameSegments('IL', insured.name, ['MI', member], claimId));
    out.push(...addressSegments(insured.address, 'subscriber', claimId, false));
  }
  out.push(
    segment(
      'NM1',
      'PR',
      '2',
      text(ctx.payerOrganization?.name ?? ctx.payer.name, 60),
      '',
      '',
      '',
      '',
      'PI',
      id(ctx.payer.payerId, 'payer id', 80, claimId),
    ),
  );
  if (insured.kind === 'other') {
    out.push(segment('HL', '3', '2', '23', '0'));
    out.push(segment('PAT', insured.relationship));
    out.push(nameSegments('QC', preferredName(ctx.patient.name), [], claimId));
    out.push(...addressSegments(preferredAddress(ctx.patient.address), 'patient', claimId, true));
    out.push(demographics(ctx.patient.birthDate, ctx.patient.gender, claimId));
  }

  // 2300 claim.
  const frequency = claimFrequency(claim);
  // CLM02: Claim.total when present (it must balance to the sum of the line charges, TR3), else a
  // total-charge extension, else the sum of the line charges.
  const lineCents = lines.reduce((s, l) => s + cents(l.charge), 0);
  const totalExt = claim.extension?.find((e) => e.url.includes('total-charge'))?.valueMoney?.value;
  if (claim.total?.value !== undefined && cents(claim.total.value) !== lineCents) {
    throw new X12Error(
      `total charge ${claim.total.value} (Claim.total) does not equal the sum of the line charges ${(lineCents / 100).toFixed(2)}`,
      claimId,
    );
  }
  const total = decimal(claim.total?.value ?? totalExt ?? lineCents / 100, 'total charge', 2, claimId);
  const tob = typeOfBill(claim);
  const claimPos = kind === '837P' ? (lines[0]?.pos ?? POS_BY_SETTING[ctx.setting] ?? '11') : '';
  if (kind === '837P') {
    out.push(segment('CLM', claimId, total, '', '', composite(claimPos, 'B', frequency), 'Y', 'A', 'Y', 'Y'));
  } else {
    const facility = tob ? tob.slice(1, 3) : '13';
    out.push(segment('CLM', claimId, total, '', '', composite(facility, 'A', frequency), '', 'A', 'Y', 'Y'));
    const dates = lines.map((l) => l.date).sort();
    const from = claim.billablePeriod?.start
      ? d8(claim.billablePeriod.start, 'billable period', claimId)
      : dates[0];
    const to = claim.billablePeriod?.end
      ? d8(claim.billablePeriod.end, 'billable period', claimId)
      : dates[dates.length - 1];
    out.push(segment('DTP', '434', 'RD8', `${from}-${to}`));
    if (facility === '11' || facility === '12') {
      throw new X12Error(
        `inpatient type of bill ${tob ?? ''} is not supported (CL1 admission data)`,
        claimId,
      );
    }
    out.push(segment('CL1', '', '', patientStatus(ctx)));
  }
  if (preAuthRef) {
    out.push(segment('REF', 'G1', id(preAuthRef, 'prior authorization (insurance.preAuthRef)', 50, claimId)));
  }
  if (frequency === '7' || frequency === '8') {
    out.push(
      segment(
        'REF',
        'F8',
        id(originalClaimNumber(claim), 'original claim number (Claim.related)', 50, claimId),
      ),
    );
  }
  const dxElements = dxCodes.map((c, i) => composite(i === 0 ? 'ABK' : 'ABF', c));
  if (kind === '837P') {
    out.push(segment('HI', ...dxElements));
  } else {
    out.push(segment('HI', dxElements[0]));
    for (let i = 1; i < dxElements.length; i += 12) {
      out.push(segment('HI', ...dxElements.slice(i, i + 12)));
    }
  }

  // 2310A attending (837I) / 2310B rendering (837P): a contained Practitioner on the care team.
  const clinician = careTeamPractitioner(
    claim,
    kind === '837I' ? ['attending', 'primary'] : ['primary', 'performing'],
  );
  if (!clinician && kind === '837I') {
    throw new X12Error(
      'has no attending provider (loop 2310A is required on 837I): a care team member with role attending and a contained Practitioner with an NPI',
      claimId,
    );
  }
  if (clinician) {
    out.push(
      segment(
        'NM1',
        kind === '837I' ? '71' : '82',
        '1',
        text(clinician.name?.family, 60) || id(undefined, 'care team practitioner family name', 60, claimId),
        text(clinician.name?.given?.[0], 35),
        text(clinician.name?.given?.[1], 25),
        '',
        text(clinician.name?.suffix?.[0], 10),
        'XX',
        npi(clinician.npi, 'care team practitioner NPI', claimId),
      ),
    );
    if (clinician.taxonomy) {
      out.push(
        segment('PRV', kind === '837I' ? 'AT' : 'PE', 'PXC', id(clinician.taxonomy, 'taxonomy', 50, claimId)),
      );
    }
  }

  // 2400 lines.
  lines.forEach((l, i) => {
    out.push(segment('LX', String(i + 1)));
    const procedure = l.code ? composite('HC', l.code, ...l.modifiers) : '';
    const charge = decimal(l.charge, `item ${l.item.sequence} charge`, 2, claimId);
    const units = decimal(l.units, `item ${l.item.sequence} units`, 3, claimId);
    if (kind === '837P') {
      const pos = l.pos && l.pos !== claimPos ? l.pos : '';
      out.push(segment('SV1', procedure, charge, 'UN', units, pos, '', composite(...l.pointers.map(String))));
    } else {
      out.push(segment('SV2', l.revenue, procedure, charge, 'UN', units));
    }
    out.push(
      l.dateEnd
        ? segment('DTP', '472', 'RD8', `${l.date}-${l.dateEnd}`)
        : segment('DTP', '472', 'D8', l.date),
    );
    if (l.ndc) {
      out.push(segment('LIN', '', 'N4', l.ndc.code));
      out.push(
        segment(
          'CTP',
          '',
          '',
          '',
          decimal(l.ndc.quantity, `item ${l.item.sequence} NDC quantity`, 3, claimId),
          l.ndc.unit,
        ),
      );
    }
  });

  out.push(segment('SE', String(out.length + 1), stControl));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The stream
// ---------------------------------------------------------------------------------------------

/**
 * Write an 837 interchange for `claims`, yielding whole segments (see the module comment). The
 * input is consumed lazily, one claim at a time.
 */
export async function* write837(
  claims: AsyncIterable<Claim837Input> | Iterable<Claim837Input>,
  options: Write837Options,
): AsyncGenerator<string, void, undefined> {
  const nl = options.lineBreaks ? '\n' : '';
  const join = (segments: readonly string[]): string =>
    nl ? segments.map((s) => s + nl).join('') : segments.join('');
  const isaControl = String(controlNumber(options.controlNumbers.isa, 'ISA13', 999_999_999)).padStart(9, '0');
  const gsControl = String(controlNumber(options.controlNumbers.gs, 'GS06', 999_999_999));
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  const isa = isaSegment({
    sender: options.sender,
    receiver: options.receiver,
    now: options.now,
    control: options.controlNumbers.isa,
    usage: options.usage,
    ackRequested: options.ackRequested ?? false,
  });
  const gs = segment(
    'GS',
    'HC',
    id(options.sender.id, 'GS02 sender code', 15),
    id(options.receiver.id, 'GS03 receiver code', 15),
    ccyymmdd,
    hhmm,
    gsControl,
    'X',
    IMPLEMENTATION[options.kind],
  );
  const chunkSize = Math.max(0, options.chunkSize ?? 0);
  let pending = join([isa, gs]);
  if (chunkSize === 0) {
    yield pending;
    pending = '';
  }

  let count = 0;
  for await (const ctx of claims) {
    let segments: string[];
    try {
      segments = transactionSegments(ctx, String(count + 1).padStart(4, '0'), options);
    } catch (e) {
      if (e instanceof X12Error && options.onError) {
        options.onError(ctx.claim.id, e);
        continue;
      }
      throw e;
    }
    count++;
    pending += join(segments);
    if (pending.length >= chunkSize) {
      yield pending;
      pending = '';
    }
  }
  yield pending + join([segment('GE', String(count), gsControl), segment('IEA', '1', isaControl)]);
}

/** The whole interchange as one string (for one claim or a few; batches should stream). */
export async function write837ToString(
  claims: AsyncIterable<Claim837Input> | Iterable<Claim837Input>,
  options: Write837Options,
): Promise<string> {
  let s = '';
  for await (const chunk of write837(claims, options)) {
    s += chunk;
  }
  return s;
}

/** 837P for professional claims (office, home), 837I for institutional (hospital outpatient). */
export function kindFor(ctx: Pick<Claim837Input, 'claim' | 'setting'>): X12Kind {
  const type = firstCode(ctx.claim.type);
  if (type === 'institutional') {
    return '837I';
  }
  if (type === 'professional') {
    return '837P';
  }
  return ctx.setting === 'hospital-outpatient' ? '837I' : '837P';
}

export { SEGMENT, X12Error };
