/**
 * The 835 writer (src/x12/835/write835.ts) against the reader: what is written reads back as the
 * same data, with any delimiters and line breaks; and a property: any balanced remittance, written
 * and read again, balances by every rule with no finding.
 */
import { describe, expect, test } from '@jest/globals';
import { read835 } from '../../src/x12/835/read835.ts';
import type { ClaimPayment835, Header835, TransactionSummary835 } from '../../src/x12/835/types.ts';
import type { ClaimPaymentInput, RemittanceInput, ServicePaymentInput } from '../../src/x12/835/write835.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { Delimiters } from '../../src/x12/delimiters.ts';

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPTIONS = {
  sender: { id: 'SBXPAYER' },
  receiver: { id: 'DRIPLINE' },
  controlNumbers: { isa: 42, gs: 42 },
  now: new Date('2026-12-04T15:00:00Z'),
  usage: 'T' as const,
};

function headerOf(amount: number, trace: string): RemittanceInput['header'] {
  return {
    payment: {
      handling: 'I',
      amount: Math.abs(amount),
      creditDebit: amount < 0 ? 'D' : 'C',
      method: 'CHK',
      date: '2026-12-04',
    },
    trace: { type: '1', number: trace, originator: '1999999999' },
    references: [{ qualifier: 'EV', value: 'DRIPLINE' }],
    productionDate: '2026-12-04',
    payer: {
      name: 'SANDBOX X12 PAYER',
      references: [{ qualifier: '2U', value: 'SBX-X12' }],
      contacts: [{ function: 'BL', name: 'EDI', numbers: [{ qualifier: 'TE', value: '8005550199' }] }],
    },
    payee: {
      name: 'SANDBOX INFUSION CENTER',
      idQualifier: 'XX',
      id: '1234567893',
      address: { lines: ['100 MAIN STREET'], city: 'COLUMBUS', state: 'OH', postalCode: '432151234' },
      references: [{ qualifier: 'TJ', value: '123456789' }],
      contacts: [],
    },
  };
}

/** A random remittance that balances by construction (amounts in cents, adjustments of any sign). */
function randomRemittance(
  rand: () => number,
  trace: string,
): { input: RemittanceInput; claims: ClaimPaymentInput[] } {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const groups = ['CO', 'PR', 'OA', 'PI'];
  const adjustments = (n: number): { group: string; reason: string; amount: number; quantity?: number }[] =>
    Array.from({ length: n }, () => ({
      group: pick(groups),
      reason: pick(['1', '2', '3', '45', '97', '197', '253', '23', 'A2']),
      amount: int(-5000, 50000) / 100,
      ...(rand() < 0.1 ? { quantity: int(1, 9) } : {}),
    }));
  const claims: ClaimPaymentInput[] = Array.from({ length: int(0, 6) }, (_, c) => {
    const services: ServicePaymentInput[] = Array.from({ length: int(0, 4) }, (_, l) => {
      const charge = int(0, 500000) / 100;
      const adj = adjustments(int(0, 4));
      const paid = (Math.round(charge * 100) - adj.reduce((s, a) => s + Math.round(a.amount * 100), 0)) / 100;
      return {
        procedure: {
          qualifier: 'HC',
          code: pick(['96365', '96366', 'J1745', 'J9035']),
          modifiers: rand() < 0.3 ? ['JZ'] : [],
        },
        charge,
        paid,
        units: int(1, 12),
        dates: [{ qualifier: '472', value: `2026-11-${String(int(1, 28)).padStart(2, '0')}` }],
        adjustments: adj,
        references: [{ qualifier: '6R', value: `L${c}X${l}` }],
        amounts: rand() < 0.5 ? [{ qualifier: 'B6', value: int(0, 100000) / 100 }] : [],
        quantities: [],
        remarks: rand() < 0.3 ? ['N130'] : [],
        pharmacyRejects: [],
      };
    });
    const claimAdj = adjustments(int(0, 3));
    const charge = int(-100000, 900000) / 100;
    const lineAdj = services.flatMap((s) => s.adjustments);
    const paid =
      (Math.round(charge * 100) -
        [...claimAdj, ...lineAdj].reduce((s, a) => s + Math.round(a.amount * 100), 0)) /
      100;
    return {
      headerNumber: String(int(1, 2)),
      patientControlNumber: `CLM${int(0, 3)}`,
      status: pick(['1', '2', '3', '4', '22', '19']),
      charge,
      paid,
      ...(rand() < 0.5 ? { patientResponsibility: int(0, 10000) / 100 } : {}),
      filingIndicator: pick(['MB', 'MC', 'CI', '12']),
      payerClaimNumber: `PCN${int(1000, 9999)}`,
      facilityType: '11',
      frequency: pick(['1', '7', '8']),
      adjustments: claimAdj,
      names: [
        {
          entity: 'QC',
          entityType: '1',
          last: 'DOE',
          first: 'JANE',
          idQualifier: 'MI',
          id: `M${int(1, 999)}`,
        },
      ],
      references: [],
      dates: [{ qualifier: '232', value: '2026-11-02' }],
      amounts: [],
      quantities: [],
      services,
    };
  });
  const plb = Array.from({ length: int(0, 8) }, () => ({
    provider: '1234567893',
    fiscalPeriodDate: '2026-12-31',
    reason: pick(['WO', 'L6', 'FB', 'CS']),
    ...(rand() < 0.5 ? { reference: `REF${int(1, 99)}` } : {}),
    amount: int(-20000, 20000) / 100,
  }));
  const total =
    (claims.reduce((s, c) => s + Math.round(c.paid * 100), 0) -
      plb.reduce((s, p) => s + Math.round(p.amount * 100), 0)) /
    100;
  return { input: { header: headerOf(total, trace), claims, providerAdjustments: () => plb }, claims };
}

const DELIMITER_SETS: readonly { delimiters: Delimiters; lineBreak: '' | '\n' | '\r\n' }[] = [
  { delimiters: { element: '*', component: ':', repetition: '^', segment: '~' }, lineBreak: '' },
  { delimiters: { element: '|', component: '>', repetition: '{', segment: '\n' }, lineBreak: '' },
  { delimiters: { element: '^', component: '\\', repetition: '}', segment: '~' }, lineBreak: '\r\n' },
  { delimiters: { element: '!', component: '@', repetition: '#', segment: "'" }, lineBreak: '\n' },
];

async function readBack(
  text: string,
): Promise<{ headers: Header835[]; claims: ClaimPayment835[]; summaries: TransactionSummary835[] }> {
  const out = {
    headers: [] as Header835[],
    claims: [] as ClaimPayment835[],
    summaries: [] as TransactionSummary835[],
  };
  for await (const e of read835([text])) {
    if (e.type === 'header') {
      out.headers.push(e.header);
    } else if (e.type === 'claim') {
      out.claims.push(e.claim);
    } else {
      out.summaries.push(e.summary);
    }
  }
  return out;
}

/** A claim payment as read, without what only the reader knows (where it stood). */
function asWritten(c: ClaimPayment835): ClaimPaymentInput {
  const { transaction: _t, position: _p, segment: _s, services, ...rest } = c;
  return {
    ...rest,
    services: services.map((line) => {
      const { position: _q, segment: _g, ...written } = line;
      return written;
    }),
  };
}

/** A provider adjustment without its segment position. */
function withoutSegment<T extends { segment: number }>(x: T): Omit<T, 'segment'> {
  const { segment: _s, ...rest } = x;
  return rest;
}

describe('write835 → read835', () => {
  test('a remittance reads back as written, with any delimiters and line breaks', async () => {
    const rand = prng(7);
    const { input, claims } = randomRemittance(rand, 'CHK0001');
    for (const { delimiters, lineBreak } of DELIMITER_SETS) {
      const text = await write835ToString([input], { ...OPTIONS, delimiters, lineBreak });
      const back = await readBack(text);
      expect(back.summaries[0]?.findings).toEqual([]);
      expect(back.claims.map(asWritten)).toEqual(claims);
      expect(back.headers[0]).toMatchObject({ ...input.header, transaction: 1, controlNumber: '0001' });
    }
  });

  test('property: any balanced remittance written and read again balances by every rule (300 cases)', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const remittances = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) =>
        randomRemittance(rand, `T${seed}-${i}`),
      );
      const { delimiters, lineBreak } = DELIMITER_SETS[
        seed % DELIMITER_SETS.length
      ] as (typeof DELIMITER_SETS)[number];
      const text = await write835ToString(
        remittances.map((r) => r.input),
        { ...OPTIONS, delimiters, lineBreak },
      );
      const back = await readBack(text);
      const failing = back.summaries.filter(
        (s) => !s.accepted || s.findings.some((f) => f.rule !== 'patient-responsibility'),
      );
      if (failing.length > 0 || back.claims.length !== remittances.flatMap((r) => r.claims).length) {
        throw new Error(`seed ${seed}: ${JSON.stringify(failing.map((f) => f.findings))}`);
      }
      expect(back.claims.map(asWritten)).toEqual(remittances.flatMap((r) => r.claims));
      expect(back.summaries.map((s) => s.providerAdjustments.map(withoutSegment))).toEqual(
        remittances.map((r) => r.input.providerAdjustments()),
      );
    }
  });

  test('a value holding a delimiter is refused, not written', async () => {
    const { input } = randomRemittance(prng(3), 'BAD*TRACE');
    await expect(write835ToString([input], OPTIONS)).rejects.toThrow('contains a delimiter');
  });
});
