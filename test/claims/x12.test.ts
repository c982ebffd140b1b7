/**
 * X12 837P / 837I writer: every file is read back with an independent parser (x12-parser) and its
 * envelopes, counts, hierarchy and claim content checked against the ClaimContexts it came from.
 */
import { get as httpGet } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChargeItem } from '@medplum/fhirtypes';
import express from 'express';
import { X12parser } from 'x12-parser';
import { buildClaim } from '../../src/claims/build.ts';
import type { ClaimContext } from '../../src/claims/types.ts';
import { X12Error } from '../../src/x12/encode.ts';
import { createX12Router, EDI_X12 } from '../../src/claims/x12-routes.ts';
import type { X12RouterDeps } from '../../src/claims/x12-routes.ts';
import {
  correctedClaimContext,
  hospitalOutpatientContext,
  officeInfusionContext,
} from '../../src/claims/x12-samples.ts';
import { EXT_LINE_ITEM_CONTROL_NUMBER } from '../../src/contract/remittance.ts';
import { kindFor, write837, write837ToString } from '../../src/x12/837/write837.ts';
import type { Write837Options, X12Kind } from '../../src/x12/837/types.ts';
import { STRUCTURE_DEFINITION_BASE } from '../../src/contract/canonical.ts';

type Seg = Record<string, string> & { name: string };

const ENVELOPE = {
  sender: { id: 'DRIPLINE01', name: 'Dripline Billing Service' },
  receiver: { id: 'CLEARHOUSE', name: 'Clear House Inc' },
  controlNumbers: { isa: 1207, gs: 88 },
  now: new Date('2026-11-26T18:05:00Z'),
  usage: 'T' as const,
};

function opts(kind: X12Kind, extra: Partial<Write837Options> = {}): Write837Options {
  return { ...ENVELOPE, kind, ...extra };
}

/** Parse with x12-parser, fed in small chunks so its own chunk handling is exercised. */
async function parse(x12: string): Promise<Seg[]> {
  const chunks: string[] = [];
  for (let i = 0; i < x12.length; i += 333) {
    chunks.push(x12.slice(i, i + 333));
  }
  // The parser detects delimiters from its first chunk: hand it the whole ISA first.
  chunks.unshift(chunks.splice(0, 1)[0] ?? '');
  const parser = new X12parser();
  const out: Seg[] = [];
  await new Promise<void>((resolve, reject) => {
    parser.on('data', (s: Seg) => out.push(s));
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from(chunks.map((c) => Buffer.from(c, 'ascii'))).pipe(parser);
  });
  return out;
}

/** Transactions: the segments from each ST to its SE (inclusive). */
function transactions(segs: readonly Seg[]): Seg[][] {
  const out: Seg[][] = [];
  let current: Seg[] | undefined;
  for (const s of segs) {
    if (s.name === 'ST') {
      current = [];
    }
    current?.push(s);
    if (s.name === 'SE' && current) {
      out.push(current);
      current = undefined;
    }
  }
  return out;
}

function all(segs: readonly Seg[], name: string): Seg[] {
  return segs.filter((s) => s.name === name);
}

function one(segs: readonly Seg[], name: string, where: (s: Seg) => boolean = () => true): Seg {
  const found = segs.find((s) => s.name === name && where(s));
  if (!found) {
    throw new Error(`no ${name} segment`);
  }
  return found;
}

/** Components of element n: x12-parser gives the first as `n` and the following as `n-1`, `n-2`... */
function components(s: Seg, n: number): string[] {
  const out = [s[String(n)] ?? ''];
  for (let i = 1; s[`${n}-${i}`] !== undefined; i++) {
    out.push(s[`${n}-${i}`] ?? '');
  }
  return out;
}

/** The 2400 loops of a transaction: each LX with the segments up to the next LX or SE. */
function serviceLines(tx: readonly Seg[]): Seg[][] {
  const out: Seg[][] = [];
  for (const s of tx) {
    if (s.name === 'LX') {
      out.push([s]);
    } else if (s.name === 'SE') {
      break;
    } else {
      out[out.length - 1]?.push(s);
    }
  }
  return out;
}

function checkEnvelope(
  x12: string,
  segs: readonly Seg[],
  expectedTransactions: number,
  control = { isa: '000001207', gs: '88' },
): void {
  // Fixed-width ISA: 106 characters with its terminator; delimiters at their fixed positions.
  expect(x12.indexOf('~')).toBe(105);
  expect(x12[3]).toBe('*');
  expect(x12[82]).toBe('^');
  expect(x12[104]).toBe(':');
  const isa = one(segs, 'ISA');
  const iea = one(segs, 'IEA');
  const gs = one(segs, 'GS');
  const ge = one(segs, 'GE');
  expect(isa['13']).toBe(control.isa);
  expect(iea['2']).toBe(isa['13']);
  expect(iea['1']).toBe(String(all(segs, 'GS').length));
  expect(gs['6']).toBe(control.gs);
  expect(ge['2']).toBe(gs['6']);
  expect(gs['1']).toBe('HC');
  expect(isa['15']).toBe('T');
  const txs = transactions(segs);
  expect(txs).toHaveLength(expectedTransactions);
  expect(ge['1']).toBe(String(txs.length));
  const stControls = new Set<string>();
  for (const tx of txs) {
    const st = tx[0] as Seg;
    const se = tx[tx.length - 1] as Seg;
    expect(st['1']).toBe('837');
    expect(st['3']).toBe(gs['8']);
    expect(se['2']).toBe(st['2']);
    expect(se['1']).toBe(String(tx.length));
    stControls.add(st['2'] ?? '');
    checkHierarchy(tx);
  }
  expect(stControls.size).toBe(txs.length);
  // Nothing outside the envelopes, in order.
  expect(segs[0]?.name).toBe('ISA');
  expect(segs[1]?.name).toBe('GS');
  expect(segs[segs.length - 2]?.name).toBe('GE');
  expect(segs[segs.length - 1]?.name).toBe('IEA');
}

/** HL ids 1..n in order, each parent an earlier HL, HL04 = 1 exactly when some HL names it parent. */
function checkHierarchy(tx: readonly Seg[]): void {
  const hls = all(tx, 'HL');
  hls.forEach((hl, i) => {
    expect(hl['1']).toBe(String(i + 1));
    const parent = hl['2'] ?? '';
    if (hl['3'] === '20') {
      expect(parent).toBe('');
    } else {
      expect(Number(parent)).toBeGreaterThanOrEqual(1);
      expect(Number(parent)).toBeLessThan(i + 1);
    }
    const hasChild = hls.some((h) => h['2'] === hl['1']);
    expect(hl['4']).toBe(hasChild ? '1' : '0');
  });
  expect(hls.map((h) => h['3'])).toEqual(expect.arrayContaining(['20', '22']));
}

/** HI codes in order (qualifier, code). */
function hiCodes(tx: readonly Seg[]): { qualifier: string; code: string }[] {
  const out: { qualifier: string; code: string }[] = [];
  for (const hi of all(tx, 'HI')) {
    for (let n = 1; hi[String(n)] !== undefined; n++) {
      out.push({ qualifier: hi[String(n)] ?? '', code: hi[`${n}-1`] ?? '' });
    }
  }
  return out;
}

function icd(ctx: ClaimContext, sequence: number): string {
  const d = ctx.claim.diagnosis?.find((x) => x.sequence === sequence);
  return (d?.diagnosisCodeableConcept?.coding?.[0]?.code ?? '').replace('.', '');
}

describe('837P (professional)', () => {
  const office = officeInfusionContext(3);
  const corrected = correctedClaimContext(4);
  const noAuth = officeInfusionContext(5, null);

  it('writes envelopes, counts and hierarchy that an independent parser reads back', async () => {
    const x12 = await write837ToString([office, corrected, noAuth], opts('837P'));
    const segs = await parse(x12);
    checkEnvelope(x12, segs, 3);
    expect(one(segs, 'GS')['8']).toBe('005010X222A1');
  });

  it('renders the office infusion: CLM, HI, SV1 codes/modifiers/units/pointers, NDC in LIN/CTP, REF*G1', async () => {
    const segs = await parse(await write837ToString([office], opts('837P')));
    const [tx] = transactions(segs);
    if (!tx) {
      throw new Error('no transaction');
    }
    const clm = one(tx, 'CLM');
    expect(clm['1']).toBe(office.claim.id);
    expect(clm['2']).toBe('4548.52');
    expect(components(clm, 5)).toEqual(['11', 'B', '1']);
    expect(one(tx, 'REF', (s) => s['1'] === 'G1')['2']).toBe('PA-2026-4411');
    expect(all(tx, 'REF').some((s) => s['1'] === 'F8')).toBe(false);
    expect(one(tx, 'SBR')['1']).toBe('P');
    expect(one(tx, 'NM1', (s) => s['1'] === 'IL')['9']).toBe('XYZ100000003');
    expect(one(tx, 'NM1', (s) => s['1'] === 'PR')['9']).toBe('60054');
    expect(one(tx, 'NM1', (s) => s['1'] === '85')['9']).toBe('1234567893');
    expect(one(tx, 'PRV')['3']).toBe('261QI0500X');
    expect(one(tx, 'REF', (s) => s['1'] === 'EI')['2']).toBe('123456789');

    const hi = hiCodes(tx);
    expect(hi.map((h) => h.qualifier)).toEqual(['ABK', 'ABF', 'ABF']);
    expect(hi.map((h) => h.code)).toEqual(['K50012', 'K5090', 'Z79899']);

    const lines = serviceLines(tx);
    expect(lines).toHaveLength(office.claim.item?.length ?? 0);
    lines.forEach((line, i) => {
      const item = office.claim.item?.[i];
      if (!item) {
        throw new Error('line without item');
      }
      const sv1 = one(line, 'SV1');
      const [qualifier, code, ...mods] = components(sv1, 1);
      expect(qualifier).toBe('HC');
      expect(code).toBe(item.productOrService.coding?.[0]?.code);
      expect(mods).toEqual((item.modifier ?? []).map((m) => m.coding?.[0]?.code));
      expect(sv1['3']).toBe('UN');
      expect(Number(sv1['4'])).toBe(item.quantity?.value);
      expect(Number(sv1['2'])).toBe(item.net?.value);
      // Pointers lead to the HI entries of the item's diagnoses.
      const pointers = components(sv1, 7).map(Number);
      expect(pointers.map((p) => hi[p - 1]?.code)).toEqual(
        (item.diagnosisSequence ?? []).map((seq) => icd(office, seq)),
      );
      expect(one(line, 'DTP')['1']).toBe('472');
      expect(one(line, 'DTP')['3']).toBe('20261102');
    });

    // J1745 and its JW line carry NDC 57894-0030-01 as 11 digits; CTP04 quantity, CTP05-01 unit.
    const drug = lines[2] ?? [];
    expect(one(drug, 'LIN')['2']).toBe('N4');
    expect(one(drug, 'LIN')['3']).toBe('57894003001');
    expect(one(drug, 'CTP')['4']).toBe('4');
    expect(components(one(drug, 'CTP'), 5)[0]).toBe('UN');
    const jw = lines[3] ?? [];
    expect(components(one(jw, 'SV1'), 1)).toEqual(['HC', 'J1745', 'JW']);
    expect(one(jw, 'LIN')['3']).toBe('57894003001');
    expect(one(jw, 'CTP')['4']).toBe('0.2');
    expect(all(lines[0] ?? [], 'LIN')).toHaveLength(0);
  });

  it('omits REF*G1 without a prior authorization', async () => {
    const segs = await parse(await write837ToString([noAuth], opts('837P')));
    expect(all(segs, 'REF').some((s) => s['1'] === 'G1')).toBe(false);
  });

  it('marks a corrected claim with frequency 7 and the original claim number in REF*F8', async () => {
    const segs = await parse(await write837ToString([corrected], opts('837P')));
    const clm = one(segs, 'CLM');
    expect(clm['1']).toBe('clm-office-4-c1');
    expect(components(clm, 5)).toEqual(['11', 'B', '7']);
    expect(one(segs, 'REF', (s) => s['1'] === 'F8')['2']).toBe('2026110500123');
  });

  it('marks a void with frequency 8', async () => {
    const base = correctedClaimContext(6);
    const voided: ClaimContext = {
      ...base,
      claim: {
        ...base.claim,
        related: [{ relationship: { coding: [{ code: 'void' }] }, reference: { value: 'PAYER-991' } }],
      },
    };
    const segs = await parse(await write837ToString([voided], opts('837P')));
    expect(components(one(segs, 'CLM'), 5)[2]).toBe('8');
    expect(one(segs, 'REF', (s) => s['1'] === 'F8')['2']).toBe('PAYER-991');
  });

  it('keeps separators out of data and names upper-case ASCII', async () => {
    // Patient 3 is "Smith~Jones, Wei"; 5 is "Müller" (LAST[n % 8]); 1 is "José O'Brien".
    const text = await write837ToString([officeInfusionContext(3), officeInfusionContext(5)], opts('837P'));
    const segs = await parse(text);
    const names = all(segs, 'NM1').filter((s) => s['1'] === 'IL');
    expect(names.map((s) => s['3'])).toEqual(['SMITH JONES', 'MULLER']);
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    const one1 = await parse(await write837ToString([officeInfusionContext(1)], opts('837P')));
    expect(one(one1, 'NM1', (s) => s['1'] === 'IL')['4']).toBe('JOSE');
    // Every segment splits into the element count the writer meant: no stray separator.
    for (const s of segs) {
      expect(s.name).toMatch(/^[A-Z0-9]{2,3}$/);
    }
  });

  it('adds the rendering provider (2310B) from a contained Practitioner on the care team', async () => {
    const base = officeInfusionContext(8);
    const ctx: ClaimContext = {
      ...base,
      claim: {
        ...base.claim,
        contained: [
          {
            resourceType: 'Practitioner',
            id: 'md',
            identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1922334457' }],
            name: [{ family: 'Adeyemi', given: ['Tunde'] }],
          },
        ],
        careTeam: [{ sequence: 1, provider: { reference: '#md' }, role: { coding: [{ code: 'primary' }] } }],
      },
    };
    const segs = await parse(await write837ToString([ctx], opts('837P')));
    expect(one(segs, 'NM1', (s) => s['1'] === '82')).toMatchObject({
      '2': '1',
      '3': 'ADEYEMI',
      '8': 'XX',
      '9': '1922334457',
    });
    expect(all(segs, 'NM1').some((s) => s['1'] === '71')).toBe(false);
  });

  it('puts the subscriber (a RelatedPerson) in 2000B/2010BA and the patient in 2000C/2010CA when they differ', async () => {
    const base = officeInfusionContext(7);
    const [cov] = base.coverages;
    if (!cov) {
      throw new Error('no coverage');
    }
    const child: ClaimContext = {
      ...base,
      coverages: [
        {
          ...cov,
          relationship: { coding: [{ code: 'child' }] },
          subscriber: { reference: 'RelatedPerson/rp-7', display: 'Adam Kowalski' },
        },
      ],
      subscriber: {
        resourceType: 'RelatedPerson',
        id: 'rp-7',
        patient: { reference: 'Patient/pat-7' },
        name: [{ family: 'Kowalski', given: ['Adam'] }],
        birthDate: '1971-02-03',
        address: [{ line: ['9 Birch Lane'], city: 'Springfield', state: 'IL', postalCode: '62704' }],
      },
    };
    const x12 = await write837ToString([child], opts('837P'));
    const segs = await parse(x12);
    checkEnvelope(x12, segs, 1);
    expect(all(segs, 'HL').map((h) => [h['1'], h['2'] ?? '', h['3'], h['4']])).toEqual([
      ['1', '', '20', '1'],
      ['2', '1', '22', '1'],
      ['3', '2', '23', '0'],
    ]);
    expect(one(segs, 'SBR')['2'] ?? '').toBe('');
    expect(one(segs, 'PAT')['1']).toBe('19');
    expect(one(segs, 'NM1', (s) => s['1'] === 'IL')).toMatchObject({
      '3': 'KOWALSKI',
      '4': 'ADAM',
      '8': 'MI',
    });
    expect(one(segs, 'NM1', (s) => s['1'] === 'QC')['3']).toBe('PATEL');
    // 2010BA: the subscriber's address, no DMG (only when the patient is the subscriber); 2010CA: the patient's DMG.
    const names = segs.map((s) => (s.name === 'NM1' ? `NM1*${s['1']}` : s.name));
    const from = names.indexOf('NM1*IL');
    expect(names.slice(from, names.indexOf('NM1*PR'))).toEqual(['NM1*IL', 'N3', 'N4']);
    expect(one(segs, 'N3', (s) => s['1'] === '9 BIRCH LANE')).toBeDefined();
    const patientLoop = names.slice(names.indexOf('NM1*QC'));
    expect(patientLoop.slice(0, 4)).toEqual(['NM1*QC', 'N3', 'N4', 'DMG']);
  });

  it('refuses a claim whose subscriber is not the patient and is not on file, naming what is missing', async () => {
    const base = officeInfusionContext(8);
    const [cov] = base.coverages;
    if (!cov) {
      throw new Error('no coverage');
    }
    const spouse: ClaimContext = {
      ...base,
      coverages: [{ ...cov, relationship: { coding: [{ code: 'spouse' }] } }],
    };
    await expect(write837ToString([spouse], opts('837P'))).rejects.toThrow(
      /missing the subscriber \(relationship spouse\): Coverage.subscriber names no one/,
    );
    const dangling: ClaimContext = {
      ...spouse,
      coverages: [
        {
          ...cov,
          relationship: { coding: [{ code: 'spouse' }] },
          subscriber: { reference: 'RelatedPerson/x' },
        },
      ],
    };
    await expect(write837ToString([dangling], opts('837P'))).rejects.toThrow(
      /RelatedPerson\/x is not on file/,
    );
  });
});

describe('837I (institutional)', () => {
  const hopd = hospitalOutpatientContext(2);

  it('writes the hospital outpatient claim with type of bill, revenue codes and NDC in mL', async () => {
    const x12 = await write837ToString([hopd, hospitalOutpatientContext(3)], opts('837I'));
    const segs = await parse(x12);
    checkEnvelope(x12, segs, 2);
    expect(one(segs, 'GS')['8']).toBe('005010X223A2');
    const [tx] = transactions(segs);
    if (!tx) {
      throw new Error('no transaction');
    }
    const clm = one(tx, 'CLM');
    expect(clm['1']).toBe('clm-hopd-2');
    expect(components(clm, 5)).toEqual(['13', 'A', '1']);
    expect(clm['2']).toBe('13495.75');
    expect(one(tx, 'DTP', (s) => s['1'] === '434')['3']).toBe('20261102-20261102');
    expect(hiCodes(tx)).toEqual([
      { qualifier: 'ABK', code: 'C50911' },
      { qualifier: 'ABF', code: 'D630' },
    ]);
    const lines = serviceLines(tx);
    const sv2 = lines.map((l) => one(l, 'SV2'));
    expect(sv2.map((s) => s['1'])).toEqual(['0260', '0260', '0636', '0636']);
    expect(sv2.map((s) => components(s, 2))).toEqual([
      ['HC', '96413'],
      ['HC', '96375', '59'],
      ['HC', 'J9355'],
      ['HC', 'J1100'],
    ]);
    expect(sv2.map((s) => [s['4'], s['5']])).toEqual([
      ['UN', '1'],
      ['UN', '1'],
      ['UN', '42'],
      ['UN', '10'],
    ]);
    expect(one(lines[2] ?? [], 'LIN')['3']).toBe('50242013401');
    expect(one(lines[2] ?? [], 'CTP')['4']).toBe('21');
    expect(components(one(lines[2] ?? [], 'CTP'), 5)[0]).toBe('ML');
    expect(one(tx, 'SBR')['9']).toBe('CI');
    expect(one(tx, 'CL1')['3']).toBe('01');
    const attending = one(tx, 'NM1', (s) => s['1'] === '71');
    expect([attending['3'], attending['4'], attending['8'], attending['9']]).toEqual([
      'LINDQVIST',
      'SOFIA',
      'XX',
      '1922334457',
    ]);
    expect(one(tx, 'PRV', (s) => s['1'] === 'AT')['3']).toBe('207RH0003X');
    // 2310A sits after HI and before the first LX.
    const names = tx.map((s) => s.name);
    expect(names.lastIndexOf('HI')).toBeLessThan(tx.indexOf(attending));
    expect(tx.indexOf(attending)).toBeLessThan(names.indexOf('LX'));
  });

  it('gives every line a line item control number (REF*6R) for remittance matching, after its date', async () => {
    const own = structuredClone(hopd);
    const item = own.claim.item?.[1];
    if (!item) {
      throw new Error('no second item');
    }
    item.extension = [
      ...(item.extension ?? []),
      { url: EXT_LINE_ITEM_CONTROL_NUMBER, valueString: 'CLINIC-LINE-7' },
    ];
    for (const [ctx, kind] of [
      [own, '837I'],
      [officeInfusionContext(3), '837P'],
    ] as const) {
      const [tx] = transactions(await parse(await write837ToString([ctx], opts(kind))));
      const lines = serviceLines(tx ?? []);
      expect(lines.map((l) => one(l, 'REF', (s) => s['1'] === '6R')['2'])).toEqual(
        (ctx.claim.item ?? []).map((i) => (i === item ? 'CLINIC-LINE-7' : `${ctx.claim.id}.${i.sequence}`)),
      );
      for (const line of lines) {
        const names = line.map((x) => x.name);
        expect(names.indexOf('REF')).toBe(names.indexOf('DTP') + 1);
      }
    }
  });
});

describe('claims from buildClaim (src/claims/build.ts)', () => {
  const SD = STRUCTURE_DEFINITION_BASE;
  function charge(
    k: number,
    code: string,
    units: number,
    extra: { rev?: string; ndc?: string; mods?: string[] } = {},
  ) {
    const charge: ChargeItem = {
      resourceType: 'ChargeItem',
      id: `ci-${k}`,
      status: 'billable',
      extension: [
        ...(extra.mods ?? []).map((m) => ({ url: `${SD}/charge-modifier`, valueCoding: { code: m } })),
        ...(extra.rev
          ? [
              {
                url: `${SD}/revenue-code`,
                valueCoding: { system: 'https://www.nubc.org/CodeSystem/RevenueCodes', code: extra.rev },
              },
            ]
          : []),
        ...(extra.ndc
          ? [{ url: `${SD}/ndc-quantity`, valueQuantity: { value: 2.5, unit: 'ML', code: 'ML' } }]
          : []),
      ],
      code: {
        coding: [
          {
            system: code.startsWith('J')
              ? 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets'
              : 'http://www.ama-assn.org/go/cpt',
            code,
          },
        ],
      },
      subject: { reference: 'Patient/pat-1' },
      context: { reference: 'Encounter/enc-1' },
      occurrenceDateTime: '2026-11-02',
      quantity: { value: units },
      reason: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'C50.911' }] }],
      ...(extra.ndc
        ? { productCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: extra.ndc }] } }
        : {}),
    };
    return charge;
  }

  it('renders a built institutional replacement claim: TOB 0137 → 13:A:7, REF*F8, revenue codes, NDC', async () => {
    const sample = hospitalOutpatientContext(1);
    const claim = buildClaim({
      id: 'clm-built-1',
      setting: 'hospital-outpatient',
      encounters: [],
      chargeItems: [
        charge(1, '96413', 1, { rev: '0260' }),
        charge(2, 'J9355', 42, { rev: '0636', ndc: '50242013401' }),
      ],
      patient: sample.patient,
      coverages: sample.coverages,
      payer: sample.payer,
      provider: sample.provider,
      conditions: [],
      now: ENVELOPE.now,
      preAuthRefs: ['AUTH-1'],
      frequency: '7',
      replaces: { claimId: 'clm-built-0', payerClaimNumber: 'ICN-0001' },
      attending: {
        resourceType: 'Practitioner',
        id: 'dr-1',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1922334457' }],
        name: [{ family: 'Lindqvist', given: ['Sofia'] }],
      },
    });
    const ctx: ClaimContext = { ...sample, claim };
    const x12 = await write837ToString([ctx], opts(kindFor(ctx)));
    const segs = await parse(x12);
    checkEnvelope(x12, segs, 1);
    expect(one(segs, 'GS')['8']).toBe('005010X223A2');
    expect(components(one(segs, 'CLM'), 5)).toEqual(['13', 'A', '7']);
    expect(one(segs, 'REF', (s) => s['1'] === 'F8')['2']).toBe('ICN-0001');
    expect(one(segs, 'REF', (s) => s['1'] === 'G1')['2']).toBe('AUTH-1');
    expect(all(segs, 'SV2').map((s) => [s['1'], s['2-1'], s['5']])).toEqual([
      ['0260', '96413', '1'],
      ['0636', 'J9355', '42'],
    ]);
    expect(one(segs, 'LIN')['3']).toBe('50242013401');
    expect(one(segs, 'NM1', (x) => x['1'] === '71')['9']).toBe('1922334457');
    expect([one(segs, 'CTP')['4'], one(segs, 'CTP')['5']]).toEqual(['2.5', 'ML']);
    // Chargemaster amounts: SV203 = item.net, CLM02 = Claim.total = their sum.
    expect(all(segs, 'SV2').map((s) => Number(s['3']))).toEqual(claim.item?.map((i) => i.net?.value));
    expect(Number(one(segs, 'CLM')['2'])).toBe(claim.total?.value);
  });

  function officeClaim(id: string) {
    const sample = officeInfusionContext(1);
    const claim = buildClaim({
      id,
      setting: 'office',
      encounters: [],
      chargeItems: [
        charge(1, '96413', 1),
        charge(2, '96415', 2),
        charge(3, 'J9355', 42, { ndc: '50242013401' }),
        charge(4, 'J2405', 8),
      ],
      patient: sample.patient,
      coverages: sample.coverages,
      payer: sample.payer,
      provider: sample.provider,
      conditions: [],
      now: ENVELOPE.now,
    });
    return { ...sample, claim };
  }

  it('prices a built 837P claim from the chargemaster: CLM02 = the sum of the SV102 charges', async () => {
    const ctx = officeClaim('clm-built-2');
    const segs = await parse(await write837ToString([ctx], opts('837P')));
    const charges = all(segs, 'SV1').map((s) => Number(s['2']));
    expect(charges).toEqual(ctx.claim.item?.map((i) => i.net?.value));
    expect(charges.every((c) => c > 0)).toBe(true);
    const clm02 = one(segs, 'CLM')['2'];
    const sumCents = charges.reduce((sum, c) => sum + Math.round(c * 100), 0);
    expect(Math.round(Number(clm02) * 100)).toBe(sumCents);
    expect(Number(clm02)).toBe(ctx.claim.total?.value);
  });

  it('refuses a Claim.total that does not balance; still reads a total-charge extension', async () => {
    const ctx = officeClaim('clm-built-3');
    const unbalanced: ClaimContext = {
      ...ctx,
      claim: { ...ctx.claim, total: { value: (ctx.claim.total?.value ?? 0) + 1, currency: 'USD' } },
    };
    await expect(write837ToString([unbalanced], opts('837P'))).rejects.toThrow(
      /does not equal the sum of the line charges/,
    );
    const { total: _total, ...rest } = ctx.claim;
    const viaExtension: ClaimContext = {
      ...ctx,
      claim: {
        ...rest,
        extension: [
          ...(rest.extension ?? []),
          {
            url: `${STRUCTURE_DEFINITION_BASE}/total-charge`,
            valueMoney: { value: 1234.5 },
          },
        ],
      },
    };
    const segs = await parse(await write837ToString([viaExtension], opts('837P')));
    expect(one(segs, 'CLM')['2']).toBe('1234.5');
  });
});

describe('validation and streaming', () => {
  it('refuses a claim it cannot render, or skips it with onError', async () => {
    const good = officeInfusionContext(1);
    const bad: ClaimContext = { ...officeInfusionContext(2), provider: { ...good.provider, npi: '12345' } };
    await expect(write837ToString([good, bad], opts('837P'))).rejects.toThrow(X12Error);
    const skipped: string[] = [];
    const x12 = await write837ToString([good, bad, officeInfusionContext(3)], {
      ...opts('837P'),
      onError: (id, e) => skipped.push(`${id}: ${e.message}`),
    });
    expect(skipped).toEqual([expect.stringMatching(/^clm-office-2: .*NPI/)]);
    const wrongCheckDigit: ClaimContext = { ...good, provider: { ...good.provider, npi: '1234567890' } };
    await expect(write837ToString([wrongCheckDigit], opts('837P'))).rejects.toThrow(/check digit/);
    const segs = await parse(x12);
    checkEnvelope(x12, segs, 2);
    expect(all(segs, 'CLM').map((c) => c['1'])).toEqual(['clm-office-1', 'clm-office-3']);
  });

  it('rejects a line without a diagnosis pointer on 837P, and an 837I line without a revenue code', async () => {
    const ctx = officeInfusionContext(1);
    const noPointer: ClaimContext = {
      ...ctx,
      claim: { ...ctx.claim, item: ctx.claim.item?.map((i) => ({ ...i, diagnosisSequence: [] })) ?? [] },
    };
    await expect(write837ToString([noPointer], opts('837P'))).rejects.toThrow(/diagnosis pointer/);
    await expect(write837ToString([ctx], opts('837I'))).rejects.toThrow(/revenue code/);
  });

  it('takes the submitter contact from the options, else the billing provider phone, else refuses', async () => {
    const ctx = officeInfusionContext(1);
    const withEmail = await parse(
      await write837ToString([{ ...ctx, provider: { ...ctx.provider, phone: undefined } }], {
        ...opts('837P'),
        sender: { ...ENVELOPE.sender, contact: { name: 'EDI Desk', email: 'edi@dripline.example' } },
      }),
    );
    expect(one(withEmail, 'PER')).toMatchObject({
      '1': 'IC',
      '2': 'EDI DESK',
      '3': 'EM',
      '4': 'edi@dripline.example',
    });
    const fromProvider = await parse(await write837ToString([ctx], opts('837P')));
    expect(one(fromProvider, 'PER')).toMatchObject({ '3': 'TE', '4': '2175550100' });
    await expect(
      write837ToString([{ ...ctx, provider: { ...ctx.provider, phone: undefined } }], opts('837P')),
    ).rejects.toThrow(/phone or email/);
  });

  it('rejects bad control numbers and identifiers with separators', async () => {
    await expect(
      write837ToString([officeInfusionContext(1)], { ...opts('837P'), controlNumbers: { isa: 0, gs: 1 } }),
    ).rejects.toThrow(/ISA13/);
    await expect(
      write837ToString([officeInfusionContext(1)], {
        ...opts('837P'),
        sender: { id: 'A*B', name: 'x' },
      }),
    ).rejects.toThrow(X12Error);
  });

  it('pulls claims lazily: one claim is read per transaction written', async () => {
    let pulled = 0;
    function* source(): Generator<ClaimContext> {
      for (let i = 1; i <= 1000; i++) {
        pulled++;
        yield officeInfusionContext(i);
      }
    }
    const it = write837(source(), opts('837P'))[Symbol.asyncIterator]();
    const header = await it.next();
    expect(header.value).toMatch(/^ISA\*.*~GS\*.*~$/);
    expect(pulled).toBe(0);
    await it.next();
    await it.next();
    expect(pulled).toBe(2);
    await it.return?.(undefined);
  });

  it('coalesces transactions into chunks of at least chunkSize, with the same text', async () => {
    const claims = Array.from({ length: 50 }, (_, i) => officeInfusionContext(i + 1));
    const plain: string[] = [];
    for await (const c of write837(claims, opts('837P'))) {
      plain.push(c);
    }
    const chunked: string[] = [];
    for await (const c of write837(claims, opts('837P', { chunkSize: 8192 }))) {
      chunked.push(c);
    }
    expect(plain).toHaveLength(52);
    expect(chunked.join('')).toBe(plain.join(''));
    expect(chunked.length).toBeLessThan(15);
    expect(chunked.slice(0, -1).every((c) => c.length >= 8192)).toBe(true);
    const segs = await parse(chunked.join(''));
    checkEnvelope(chunked.join(''), segs, 50);
  });
});

describe('HTTP: GET /Claim/{id}/$x12 and the batch export', () => {
  const contexts = new Map<string, ClaimContext>(
    [officeInfusionContext(1), correctedClaimContext(2), hospitalOutpatientContext(3)].map((c) => [
      c.claim.id,
      c,
    ]),
  );
  const broken = officeInfusionContext(9);
  contexts.set(broken.claim.id, { ...broken, provider: { ...broken.provider, taxId: 'x' } });
  let control = 500;
  const deps: X12RouterDeps = {
    loadClaimContext: (_tenant, id) => Promise.resolve(contexts.get(id)),
    listClaimIds: (_tenant, filter) => Promise.resolve(filter.ids ?? [...contexts.keys()]),
    envelope: () => Promise.resolve({ ...ENVELOPE, controlNumbers: { isa: ++control, gs: control } }),
    authorize: () => 'tenant-a',
    now: () => ENVELOPE.now,
  };
  const app = express();
  app.use('/fhir', createX12Router(deps));
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  const get = async (path: string): Promise<{ status: number; type: string; body: string }> => {
    const res = await fetch(base + path);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  it('answers one claim as application/edi-x12, with the kind from the claim', async () => {
    const res = await get('/Claim/clm-hopd-3/$x12');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/edi-x12/);
    const segs = await parse(res.body);
    const isa13 = one(segs, 'ISA')['13'] ?? '';
    expect(Number(isa13)).toBeGreaterThan(500);
    checkEnvelope(res.body, segs, 1, { isa: isa13, gs: String(Number(isa13)) });
    expect(one(segs, 'GS')['8']).toBe('005010X223A2');
    expect(one(segs, 'CLM')['1']).toBe('clm-hopd-3');
  });

  it('answers 404 for an unknown claim and 422 for one that cannot be rendered', async () => {
    expect((await get('/Claim/nope/$x12')).status).toBe(404);
    const res = await get('/Claim/clm-office-9/$x12');
    expect(res.status).toBe(422);
    expect(res.type).toMatch(/^application\/fhir\+json/);
    expect(JSON.parse(res.body).issue[0].details.text).toMatch(/tax id/);
  });

  it('streams a batch of one kind, leaving out other kinds', async () => {
    const res = await get('/Claim/$x12?kind=837P&id=clm-office-1,clm-hopd-3,clm-office-2-c1');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/edi-x12/);
    const segs = await parse(res.body);
    expect(all(segs, 'CLM').map((c) => c['1'])).toEqual(['clm-office-1', 'clm-office-2-c1']);
    expect(one(segs, 'GE')['1']).toBe('2');
    expect(one(segs, 'IEA')['2']).toBe(one(segs, 'ISA')['13']);
  });

  it('never leaves a claim out silently: a claim that cannot be rendered stops the batch, named with its reason', async () => {
    const res = await get('/Claim/$x12?kind=837P');
    expect(res.status).toBe(422);
    expect(res.type).toMatch(/^application\/fhir\+json/);
    const outcome = JSON.parse(res.body) as { issue: { expression: string[]; details: { text: string } }[] };
    expect(outcome.issue.map((i) => i.expression)).toEqual([['Claim/clm-office-9']]);
    expect(outcome.issue[0]?.details.text).toMatch(/tax id/);
  });

  it('names the claims of another kind or gone in the X-Dripline-Skipped-Claims header (and trailer)', async () => {
    const { header, trailers } = await new Promise<{ header: unknown; trailers: NodeJS.Dict<string> }>(
      (resolve, reject) => {
        httpGet(`${base}/Claim/$x12?kind=837P&id=clm-office-1,clm-hopd-3,gone`, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ header: res.headers['x-dripline-skipped-claims'], trailers: res.trailers }),
          );
          res.on('error', reject);
        }).on('error', reject);
      },
    );
    expect(header).toBe('clm-hopd-3:other-kind,gone:not-found');
    expect(trailers['x-dripline-skipped-claims']).toBe('clm-hopd-3:other-kind,gone:not-found');
  });

  it('answers 400 without a kind on the batch', async () => {
    expect((await get('/Claim/$x12')).status).toBe(400);
    expect((await get('/Claim/$x12?kind=837X')).status).toBe(400);
    expect(EDI_X12).toBe('application/edi-x12');
  });
});
