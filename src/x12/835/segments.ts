/**
 * The 835's segments one at a time, as typed parts (005010X221A1, section 2 segment details):
 * what each element means, which codes it may hold, which are required. Each reader takes the
 * segment's `Elements` (./values.ts), which reports what cannot be read; loops and order are the
 * reader's (./read835.ts). Pure.
 */
import type { Elements } from './values.ts';
import type {
  Adjustment835,
  InpatientAdjudication835,
  Name835,
  OutpatientAdjudication835,
  Payment835,
  Procedure835,
  ProviderAdjustment835,
  Qualified,
} from './types.ts';

const set = (...codes: string[]): ReadonlySet<string> => new Set(codes);

/** BPR01 transaction handling codes. */
const HANDLING = set('C', 'D', 'H', 'I', 'P', 'U', 'X');
/** BPR04 payment method codes. */
const METHODS = set('ACH', 'BOP', 'CHK', 'FWT', 'NON');
/** CLP02 claim status codes of 005010X221A1. */
export const CLAIM_STATUSES = set('1', '2', '3', '4', '19', '20', '21', '22', '23', '25');
/** CAS01 claim adjustment group codes of 005010 (CR, corrections and reversals, was removed after 004010). */
export const GROUP_CODES = set('CO', 'OA', 'PI', 'PR');
/** SVC01-1 / SVC06-1 product or service id qualifiers. */
const PRODUCT_QUALIFIERS = set('AD', 'ER', 'HC', 'HP', 'IV', 'N4', 'N6', 'NU', 'UI', 'WK');

/** BPR: the payment. The payment date is BPR16; a date one element early (BPR15) is tolerated, with a warning. */
export function readBpr(e: Elements): Payment835 | undefined {
  const handling = e.code(1, 'transaction handling code', HANDLING);
  const amount = e.amount(2, 'total actual provider payment amount', true);
  const creditDebit = e.code(3, 'credit/debit flag', set('C', 'D'));
  const method = e.code(4, 'payment method code', METHODS);
  let date: string | undefined;
  if (e.raw(16) === '' && e.raw(15) !== '' && /^\d{8}$/.test(e.raw(15))) {
    date = e.date(15, 'check issue or EFT effective date (written one element early)', true);
    e.fault('date', 'BPR16 (payment date) is missing; the date in BPR15 is taken as the payment date', {
      element: 'BPR16',
      severity: 'warning',
    });
  } else {
    date = e.date(16, 'check issue or EFT effective date', true);
  }
  if (handling === undefined || amount === undefined || creditDebit === undefined || method === undefined) {
    return undefined;
  }
  const format = e.text(5);
  const originatingCompany = e.text(10);
  return {
    handling,
    amount,
    creditDebit,
    method,
    date: date ?? '',
    ...(format ? { format } : {}),
    ...(originatingCompany ? { originatingCompany } : {}),
  };
}

/** TRN: the reassociation trace (check or EFT number, payer's originating company id). */
export function readTrn(
  e: Elements,
): { type: string; number: string; originator?: string; supplemental?: string } | undefined {
  const type = e.code(1, 'trace type code', set('1'));
  const number = e.required(2, 'check or EFT trace number');
  const originator = e.required(3, "payer's originating company identifier");
  const supplemental = e.text(4);
  if (type === undefined || number === undefined) {
    return undefined;
  }
  return {
    type,
    number,
    ...(originator ? { originator } : {}),
    ...(supplemental ? { supplemental } : {}),
  };
}

/** N1: entity code, name, id qualifier and id. */
export function readN1(e: Elements): { entity: string; name?: string; idQualifier?: string; id?: string } {
  const entity = e.required(1, 'entity identifier code') ?? '';
  const name = e.text(2);
  const idQualifier = e.text(3);
  const id = e.text(4);
  if ((idQualifier === undefined) !== (id === undefined)) {
    e.fault('required', 'N103 and N104 go together (an identification needs its qualifier)', {
      element: idQualifier === undefined ? 'N103' : 'N104',
    });
  }
  return {
    entity,
    ...(name ? { name } : {}),
    ...(idQualifier ? { idQualifier } : {}),
    ...(id ? { id } : {}),
  };
}

/** REF: qualifier and value. */
export function readRef(e: Elements): Qualified<string> | undefined {
  const qualifier = e.required(1, 'reference identification qualifier');
  const value = e.required(2, 'reference identification');
  return qualifier !== undefined && value !== undefined ? { qualifier, value } : undefined;
}

/** DTM: qualifier and a D8 date. */
export function readDtm(e: Elements): Qualified<string> | undefined {
  const qualifier = e.required(1, 'date/time qualifier');
  const date = e.date(2, 'date', true);
  return qualifier !== undefined && date !== undefined ? { qualifier, value: date } : undefined;
}

/** AMT: qualifier and a money amount. */
export function readAmt(e: Elements): Qualified<number> | undefined {
  const qualifier = e.required(1, 'amount qualifier code');
  const value = e.amount(2, 'monetary amount', true);
  return qualifier !== undefined && value !== undefined ? { qualifier, value } : undefined;
}

/** QTY: qualifier and a quantity. */
export function readQty(e: Elements): Qualified<number> | undefined {
  const qualifier = e.required(1, 'quantity qualifier');
  const value = e.number(2, 'quantity', true);
  return qualifier !== undefined && value !== undefined ? { qualifier, value } : undefined;
}

/** PER: contact function, name, communication numbers (pairs from PER03). */
export function readPer(e: Elements): { function: string; name?: string; numbers: Qualified<string>[] } {
  const fn = e.required(1, 'contact function code') ?? '';
  const name = e.text(2);
  const numbers: Qualified<string>[] = [];
  for (let n = 3; n <= 7; n += 2) {
    const qualifier = e.text(n);
    const value = e.text(n + 1);
    if (qualifier && value) {
      numbers.push({ qualifier, value });
    }
  }
  return { function: fn, ...(name ? { name } : {}), numbers };
}

/** CAS: the group code and up to six (reason, amount, quantity) triplets. */
export function readCas(e: Elements): Adjustment835[] {
  const group = e.required(1, 'claim adjustment group code');
  if (group === 'CR') {
    e.fault(
      'code',
      'CAS01 "CR" (corrections and reversals) is not a group code in 005010: a reversal is a claim payment with CLP02 = 22',
      {
        element: 'CAS01',
      },
    );
  } else if (group !== undefined && !GROUP_CODES.has(group)) {
    e.fault('code', `CAS01 "${group.slice(0, 10)}" is not a claim adjustment group code (CO, OA, PI, PR)`, {
      element: 'CAS01',
    });
  }
  const out: Adjustment835[] = [];
  for (let n = 2; n <= 17; n += 3) {
    const reason = e.text(n);
    const present = reason !== undefined || e.raw(n + 1) !== '' || e.raw(n + 2) !== '';
    if (!present) {
      continue;
    }
    if (reason === undefined) {
      e.fault(
        'required',
        `${e.name(n)} (adjustment reason code) is required with the amount in ${e.name(n + 1)}`,
        {
          element: e.name(n),
        },
      );
    }
    const amount = e.amount(n + 1, 'adjustment amount', true);
    const quantity = e.number(n + 2, 'adjustment quantity');
    if (group !== undefined && reason !== undefined && amount !== undefined) {
      out.push({ group, reason, amount, ...(quantity !== undefined ? { quantity } : {}) });
    }
  }
  if (out.length === 0 && group !== undefined) {
    e.fault('required', 'CAS02/CAS03 (the first adjustment reason and amount) are required', {
      element: 'CAS02',
    });
  }
  return out;
}

/** CLP's own elements (absent elements leave their key out). */
interface Clp {
  patientControlNumber: string;
  status: string;
  charge: number;
  paid: number;
  patientResponsibility?: number;
  filingIndicator?: string;
  payerClaimNumber?: string;
  facilityType?: string;
  frequency?: string;
  drg?: string;
  drgWeight?: number;
  dischargeFraction?: number;
}

/** CLP: the claim payment's own elements. */
export function readClp(e: Elements): Clp | undefined {
  const patientControlNumber = e.required(1, 'patient control number');
  const status = e.code(2, 'claim status code', CLAIM_STATUSES);
  const charge = e.amount(3, 'total claim charge amount', true);
  const paid = e.amount(4, 'claim payment amount', true);
  const patientResponsibility = e.amount(5, 'patient responsibility amount', false);
  const filingIndicator = e.text(6);
  if (filingIndicator === undefined) {
    e.fault('required', 'CLP06 (claim filing indicator code) is required', {
      element: 'CLP06',
      severity: 'warning',
    });
  }
  const payerClaimNumber = e.text(7);
  if (payerClaimNumber === undefined) {
    e.fault(
      'required',
      'CLP07 (payer claim control number) is required; corrections and reversals cannot name this claim',
      {
        element: 'CLP07',
        severity: 'warning',
      },
    );
  }
  const facilityType = e.text(8);
  const frequency = e.text(9);
  const drg = e.text(11);
  const drgWeight = e.number(12, 'DRG weight');
  const dischargeFraction = e.number(13, 'discharge fraction');
  if (
    patientControlNumber === undefined ||
    status === undefined ||
    charge === undefined ||
    paid === undefined
  ) {
    return undefined;
  }
  // Assigned, not spread: a spread of each optional part is an object per part, per claim.
  const clp: Clp = { patientControlNumber, status, charge, paid };
  if (patientResponsibility !== undefined) {
    clp.patientResponsibility = patientResponsibility;
  }
  if (filingIndicator) {
    clp.filingIndicator = filingIndicator;
  }
  if (payerClaimNumber) {
    clp.payerClaimNumber = payerClaimNumber;
  }
  if (facilityType) {
    clp.facilityType = facilityType;
  }
  if (frequency) {
    clp.frequency = frequency;
  }
  if (drg) {
    clp.drg = drg;
  }
  if (drgWeight !== undefined) {
    clp.drgWeight = drgWeight;
  }
  if (dischargeFraction !== undefined) {
    clp.dischargeFraction = dischargeFraction;
  }
  return clp;
}

/** NM1: a name with its identification (absent elements leave their key out). */
export function readNm1(e: Elements): Name835 {
  const name: { -readonly [K in keyof Name835]: Name835[K] } = {
    entity: e.required(1, 'entity identifier code') ?? '',
  };
  const entityType = e.text(2);
  const last = e.text(3);
  const first = e.text(4);
  const middle = e.text(5);
  const suffix = e.text(7);
  const idQualifier = e.text(8);
  const id = e.text(9);
  if (entityType !== undefined) {
    name.entityType = entityType;
  }
  if (last !== undefined) {
    name.last = last;
  }
  if (first !== undefined) {
    name.first = first;
  }
  if (middle !== undefined) {
    name.middle = middle;
  }
  if (suffix !== undefined) {
    name.suffix = suffix;
  }
  if (idQualifier !== undefined) {
    name.idQualifier = idQualifier;
  }
  if (id !== undefined) {
    name.id = id;
  }
  return name;
}

/** Remark codes found in the given elements (MIA, MOA). */
function remarksIn(e: Elements, elements: readonly number[]): string[] {
  return elements.map((n) => e.text(n)).filter((r): r is string => r !== undefined);
}

/** MIA: covered days (required), the amounts it carries, remark codes (MIA05, MIA20-MIA23). */
export function readMia(e: Elements): InpatientAdjudication835 {
  const coveredDays = e.number(1, 'covered days or visits count', true) ?? 0;
  const amounts: Qualified<number>[] = [];
  for (const n of [2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 24]) {
    const value = e.amount(n, 'amount', false);
    if (value !== undefined) {
      amounts.push({ qualifier: e.name(n), value });
    }
  }
  return { coveredDays, amounts, remarks: remarksIn(e, [5, 20, 21, 22, 23]) };
}

/** MOA: reimbursement rate, HCPCS payable amount, remark codes (MOA03-MOA07), ESRD and professional amounts. */
export function readMoa(e: Elements): OutpatientAdjudication835 {
  const reimbursementRate = e.number(1, 'reimbursement rate');
  const payableAmount = e.amount(2, 'HCPCS payable amount', false);
  const esrdPayment = e.amount(8, 'ESRD payment amount', false);
  const nonPayableProfessional = e.amount(9, 'non-payable professional component amount', false);
  return {
    remarks: remarksIn(e, [3, 4, 5, 6, 7]),
    ...(reimbursementRate !== undefined ? { reimbursementRate } : {}),
    ...(payableAmount !== undefined ? { payableAmount } : {}),
    ...(esrdPayment !== undefined ? { esrdPayment } : {}),
    ...(nonPayableProfessional !== undefined ? { nonPayableProfessional } : {}),
  };
}

/**
 * A product or service composite (SVC01, SVC06). A composite written with another separator than
 * the one the ISA declares (`HC>99213` under ISA16 `:`) is read, with a warning, when its first
 * two characters are a qualifier followed by a separator character.
 */
function readProcedure(e: Elements, n: number, required: boolean): Procedure835 | undefined {
  let parts = e.components(n);
  if (parts.length === 0) {
    if (required) {
      e.fault('required', `${e.name(n)} (composite medical procedure identifier) is required`, {
        element: e.name(n),
      });
    }
    return undefined;
  }
  const first = parts[0] ?? '';
  if (parts.length === 1 && !PRODUCT_QUALIFIERS.has(first)) {
    const other = /^([A-Z0-9]{2})([^A-Za-z0-9 ])./.exec(first);
    if (other && PRODUCT_QUALIFIERS.has(other[1] ?? '')) {
      const separator = other[2] ?? '';
      e.fault(
        'syntax',
        `${e.name(n)} separates its components with "${separator}" where the ISA declares "${e.segment.delimiters.component}"`,
        {
          element: e.name(n),
          severity: 'warning',
        },
      );
      parts = first.split(separator);
    }
  }
  const [qualifier = '', code = '', ...rest] = parts;
  if (!PRODUCT_QUALIFIERS.has(qualifier)) {
    e.fault(
      'code',
      `${e.name(n)}-1 "${qualifier.slice(0, 20)}" is not a product/service id qualifier (${[...PRODUCT_QUALIFIERS].join(', ')})`,
      {
        element: `${e.name(n)}-1`,
      },
    );
  }
  if (code === '') {
    e.fault('required', `${e.name(n)}-2 (procedure code) is required`, { element: `${e.name(n)}-2` });
  }
  const modifiers: string[] = [];
  for (let i = 0; i < 4 && i < rest.length; i++) {
    if (rest[i] !== '') {
      modifiers.push(rest[i] as string);
    }
  }
  const description = rest[4];
  return description ? { qualifier, code, modifiers, description } : { qualifier, code, modifiers };
}

/** SVC's own elements (absent elements leave their key out). */
interface Svc {
  procedure: Procedure835;
  charge: number;
  paid: number;
  revenueCode?: string;
  units?: number;
  billedProcedure?: Procedure835;
  billedUnits?: number;
}

/** SVC: the service line's own elements. */
export function readSvc(e: Elements): Svc | undefined {
  const procedure = readProcedure(e, 1, true);
  const charge = e.amount(2, 'line item charge amount', true);
  const paid = e.amount(3, 'line item provider payment amount', true);
  const revenueCode = e.text(4);
  if (revenueCode !== undefined && !/^\d{4}$/.test(revenueCode)) {
    e.fault(
      'code',
      `SVC04 (NUBC revenue code) "${revenueCode.slice(0, 20)}" is not a four-digit revenue code`,
      { element: 'SVC04', severity: 'warning' },
    );
  }
  const units = e.number(5, 'units of service paid');
  const billedProcedure = readProcedure(e, 6, false);
  const billedUnits = e.number(7, 'original units of service');
  if (procedure === undefined || charge === undefined || paid === undefined) {
    return undefined;
  }
  const svc: Svc = { procedure, charge, paid };
  if (revenueCode) {
    svc.revenueCode = revenueCode;
  }
  if (units !== undefined) {
    svc.units = units;
  }
  if (billedProcedure) {
    svc.billedProcedure = billedProcedure;
  }
  if (billedUnits !== undefined) {
    svc.billedUnits = billedUnits;
  }
  return svc;
}

/** LQ: HE remark code (RARC) or RX NCPDP reject code. */
export function readLq(e: Elements): { qualifier: string; code: string } | undefined {
  const qualifier = e.code(1, 'code list qualifier code', set('HE', 'RX'));
  const code = e.required(2, 'remark code');
  return qualifier !== undefined && code !== undefined ? { qualifier, code } : undefined;
}

/** PLB: the provider, the fiscal period date, and up to six (reason:reference, amount) pairs. */
export function readPlb(e: Elements): ProviderAdjustment835[] {
  const provider = e.required(1, 'provider identifier');
  const date = e.date(2, 'fiscal period date', true);
  const out: ProviderAdjustment835[] = [];
  for (let n = 3; n <= 13; n += 2) {
    if (e.raw(n) === '' && e.raw(n + 1) === '') {
      continue;
    }
    const [reason = '', reference] = e.components(n);
    if (reason === '') {
      e.fault('required', `${e.name(n)}-1 (adjustment reason code) is required`, {
        element: `${e.name(n)}-1`,
      });
    }
    const amount = e.amount(n + 1, 'provider adjustment amount', true);
    if (reason !== '' && amount !== undefined && provider !== undefined) {
      out.push({
        provider,
        fiscalPeriodDate: date ?? '',
        reason,
        ...(reference ? { reference } : {}),
        amount,
        segment: e.segment.position,
      });
    }
  }
  if (out.length === 0 && provider !== undefined) {
    e.fault('required', 'PLB03/PLB04 (the first adjustment and its amount) are required', {
      element: 'PLB03',
    });
  }
  return out;
}
