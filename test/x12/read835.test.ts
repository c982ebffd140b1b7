/**
 * The 835 reader (src/x12/835/read835.ts): every loop a payer sends read into typed data; the
 * balancing rules of the guide reported per rule with their amounts; bad input (amounts and dates
 * that are not, unknown or misplaced segments, wrong counts, an interchange cut short, delimiters
 * that lie) reported with the segment and its position; several interchanges, groups and
 * transaction sets in one input; and a stream of any length read as it arrives.
 */
import { describe, expect, test } from '@jest/globals';
import { read835 } from '../../src/x12/835/read835.ts';
import type { ClaimPayment835, Event835, Header835, TransactionSummary835 } from '../../src/x12/835/types.ts';
import { X12SyntaxError } from '../../src/x12/parse.ts';
import { isa } from './fixtures.ts';
import { enveloped, FULL_BODY, header } from './fixtures835.ts';

interface Read {
  headers: Header835[];
  claims: ClaimPayment835[];
  summaries: TransactionSummary835[];
}

async function readAll(input: string | readonly (string | Uint8Array)[]): Promise<Read> {
  const out: Read = { headers: [], claims: [], summaries: [] };
  for await (const event of read835(typeof input === 'string' ? [input] : input)) {
    collect(out, event);
  }
  return out;
}

function collect(out: Read, event: Event835): void {
  if (event.type === 'header') {
    out.headers.push(event.header);
  } else if (event.type === 'claim') {
    out.claims.push(event.claim);
  } else {
    out.summaries.push(event.summary);
  }
}

async function refusal(input: string): Promise<X12SyntaxError> {
  try {
    await readAll(input);
  } catch (error) {
    expect(error).toBeInstanceOf(X12SyntaxError);
    return error as X12SyntaxError;
  }
  throw new Error('the input was read without a syntax error');
}

describe('every loop of the 835', () => {
  test('the header: payment, trace, references, payer and payee with their addresses and contacts', async () => {
    const { headers, summaries } = await readAll(enveloped(FULL_BODY));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.findings).toEqual([]);
    expect(summaries[0]?.accepted).toBe(true);
    const h = headers[0] as Header835;
    expect(h.payment).toEqual({
      handling: 'I',
      amount: 691,
      creditDebit: 'C',
      method: 'ACH',
      format: 'CCP',
      originatingCompany: '1512345678',
      date: '2026-12-03',
    });
    expect(h.trace).toEqual({ type: '1', number: 'EFT0001', originator: '1512345678' });
    expect(h.currency).toBe('USD');
    expect(h.references).toEqual([
      { qualifier: 'EV', value: 'RIVERBEND01' },
      { qualifier: 'F2', value: '1' },
    ]);
    expect(h.productionDate).toBe('2026-12-01');
    expect(h.payer).toEqual({
      name: 'ACME HEALTH PLAN',
      idQualifier: 'XV',
      id: 'ACME01',
      address: { lines: ['PO BOX 100'], city: 'COLUMBUS', state: 'OH', postalCode: '43215' },
      references: [{ qualifier: '2U', value: 'SBX-ACME' }],
      contacts: [
        { function: 'CX', name: 'CLAIMS', numbers: [{ qualifier: 'TE', value: '8005550100' }] },
        {
          function: 'BL',
          name: 'EDI SUPPORT',
          numbers: [
            { qualifier: 'TE', value: '8005550101' },
            { qualifier: 'EM', value: 'edi@acme.example' },
          ],
        },
      ],
    });
    expect(h.payee).toMatchObject({
      name: 'RIVERBEND INFUSION',
      idQualifier: 'XX',
      id: '1234567893',
      references: [{ qualifier: 'TJ', value: '123456789' }],
    });
    expect(h.envelope).toEqual({
      sender: 'ZZ:ACMEHEALTH',
      receiver: 'ZZ:RIVERBEND',
      interchangeControlNumber: '000000771',
      usage: 'T',
      groupSender: 'ACMEHEALTH',
      groupReceiver: 'RIVERBEND',
      groupControlNumber: '771',
      version: '005010X221A1',
    });
  });

  test('a claim payment: CLP, its CAS, names, MOA, references, dates, amounts, quantities and lines', async () => {
    const { claims } = await readAll(enveloped(FULL_BODY));
    expect(claims.map((c) => [c.patientControlNumber, c.status, c.position, c.headerNumber])).toEqual([
      ['CLAIM-A', '1', 1, '1'],
      ['CLAIM-B', '4', 2, '1'],
      ['CLAIM-A', '22', 3, '2'],
      ['CLAIM-C', '2', 4, '2'],
    ]);
    const a = claims[0] as ClaimPayment835;
    expect(a).toMatchObject({
      charge: 1200,
      paid: 850,
      patientResponsibility: 150,
      filingIndicator: '12',
      payerClaimNumber: 'PAYERCLM001',
      facilityType: '11',
      frequency: '1',
      adjustments: [
        { group: 'OA', reason: '23', amount: 80 },
        { group: 'PI', reason: '94', amount: -10 },
      ],
      outpatient: { remarks: ['MA01', 'N432'] },
      references: [{ qualifier: '1L', value: 'GRP100' }],
      dates: [
        { qualifier: '232', value: '2026-11-02' },
        { qualifier: '233', value: '2026-11-02' },
        { qualifier: '050', value: '2026-11-20' },
      ],
      amounts: [{ qualifier: 'AU', value: 1000 }],
      quantities: [{ qualifier: 'CA', value: 1 }],
    });
    expect(a.names.map((n) => [n.entity, n.last, n.idQualifier, n.id])).toEqual([
      ['QC', 'GARCIA', 'MI', 'XYZ100000001'],
      ['IL', 'GARCIA', 'MI', 'XYZ100000000'],
      ['74', 'GARCIA', undefined, undefined],
      ['82', 'NGUYEN', 'XX', '1245319599'],
      ['TT', 'SECOND PAYER INC', 'PI', 'SEC01'],
    ]);
    expect(a.services).toHaveLength(2);
    expect(a.services[1]).toMatchObject({
      position: 2,
      procedure: { qualifier: 'HC', code: 'J1745', modifiers: ['JZ'] },
      charge: 800,
      paid: 620,
      units: 2,
      billedProcedure: { qualifier: 'HC', code: 'J1745', modifiers: [] },
      billedUnits: 3,
      dates: [{ qualifier: '472', value: '2026-11-02' }],
      adjustments: [
        { group: 'CO', reason: '45', amount: 80 },
        { group: 'PR', reason: '2', amount: 100 },
      ],
      references: [{ qualifier: '6R', value: 'CLAIM-A.2' }],
      amounts: [{ qualifier: 'B6', value: 720 }],
      quantities: [{ qualifier: 'ZK', value: 2 }],
      remarks: ['M20', 'N657'],
    });
    expect(claims[2]).toMatchObject({ status: '22', charge: -500, paid: -400 });
    expect(claims[3]?.inpatient).toEqual({
      coveredDays: 1,
      amounts: [{ qualifier: 'MIA04', value: 0 }],
      remarks: ['MA15'],
    });
  });

  test('the summary: the provider-level adjustments and the sums', async () => {
    const { summaries } = await readAll(enveloped(FULL_BODY));
    const summary = summaries[0] as TransactionSummary835;
    expect(summary.claims).toBe(4);
    expect(summary.totalCharge).toBe(1600);
    expect(summary.totalPaid).toBe(890.5);
    expect(summary.providerAdjustments.map((a) => ({ ...a, segment: 0 }))).toEqual([
      {
        provider: '1234567893',
        fiscalPeriodDate: '2026-12-31',
        reason: 'WO',
        reference: 'PAYERCLM999',
        amount: 200,
        segment: 0,
      },
      { provider: '1234567893', fiscalPeriodDate: '2026-12-31', reason: 'L6', amount: -0.5, segment: 0 },
    ]);
  });

  test('several interchanges, each with its delimiters, groups and transaction sets', async () => {
    const first = enveloped(FULL_BODY, { control: '000000001' });
    const secondBody = [...header('0', 'NOPAY1'), 'CLP*CLAIM-D*4*100*0**12*PAYERCLM004', 'CAS*CO*16*100'];
    const twoSets =
      isa('|', '{', '>', '\n', '000000002') +
      [
        'GS|HP|ACMEHEALTH|RIVERBEND|20261201|0930|2|X|005010X221A1',
        ...['0001', '0002'].flatMap((st) => [
          `ST|835|${st}|005010X221A1`,
          ...secondBody.map((s) => s.replaceAll('*', '|')),
          `SE|${secondBody.length + 2}|${st}`,
        ]),
        'GE|2|2',
        'IEA|1|000000002',
      ].join('\n') +
      '\n';
    const { summaries, headers } = await readAll([first, '\r\n', twoSets]);
    expect(summaries.map((s) => [s.transaction, s.claims, s.accepted])).toEqual([
      [1, 4, true],
      [2, 1, true],
      [3, 1, true],
    ]);
    expect(
      headers.map((h) => [h.envelope.interchangeControlNumber, h.controlNumber, h.trace.number]),
    ).toEqual([
      ['000000001', '0001', 'EFT0001'],
      ['000000002', '0001', 'NOPAY1'],
      ['000000002', '0002', 'NOPAY1'],
    ]);
  });

  test('a stream of any chunking gives the same events; claims come out before the input ends', async () => {
    const text = enveloped(FULL_BODY);
    const whole = await readAll(text);
    const bytes = Buffer.from(text, 'utf8');
    const oneByOne = await readAll([...bytes].map((b) => Uint8Array.of(b)));
    expect(oneByOne).toEqual(whole);

    // A lazily produced remittance of 3,000 claims: the first claim is read while most of the
    // input has not been produced yet (nothing waits for the whole file).
    const claims = 3_000;
    const body = (i: number): string => `CLP*C${i}*1*100*80**12*P${i}~SVC*HC:96365*100*80**1~CAS*CO*45*20~`;
    let produced = 0;
    function* lazy(): Generator<string> {
      yield `${isa('*', '^', ':', '~', '000000009')}GS*HP*A*B*20261201*0930*9*X*005010X221A1~ST*835*0001*005010X221A1~${header(
        String(claims * 80),
      )
        .map((s) => `${s}~`)
        .join('')}`;
      for (let i = 0; i < claims; i++) {
        produced++;
        yield body(i);
      }
      yield `SE*${claims * 3 + 16 + 2}*0001~GE*1*9~IEA*1*000000009~`;
    }
    let producedAtFirstClaim = -1;
    let read = 0;
    let accepted = false;
    for await (const event of read835(lazy())) {
      if (event.type === 'claim') {
        read++;
        if (producedAtFirstClaim < 0) {
          producedAtFirstClaim = produced;
        }
      } else if (event.type === 'summary') {
        accepted = event.summary.accepted;
      }
    }
    expect(read).toBe(claims);
    expect(accepted).toBe(true);
    expect(producedAtFirstClaim).toBeLessThan(10);
  });
});

describe('balancing, per rule of the guide', () => {
  test('a line whose SVC02 − CAS is not SVC03: balance-line with its amounts; the set is rejected', async () => {
    const body = FULL_BODY.map((s) => (s === 'SVC*HC:96365*400*300**1' ? 'SVC*HC:96365*400*301**1' : s));
    const { summaries } = await readAll(enveloped(body));
    const s = summaries[0] as TransactionSummary835;
    expect(s.accepted).toBe(false);
    expect(s.findings.map((f) => f.rule)).toEqual(['balance-line']);
    expect(s.findings[0]).toMatchObject({
      segmentId: 'SVC',
      element: 'SVC03',
      amounts: { charge: 400, adjustments: 100, paid: 301 },
    });
    expect(s.findings[0]?.segment).toBe(body.indexOf('SVC*HC:96365*400*301**1') + 4);
  });

  test('a claim whose CLP03 − CAS is not CLP04: balance-claim naming both sums of adjustments', async () => {
    const body = FULL_BODY.map((s) => (s === 'CAS*OA*23*80' ? 'CAS*OA*23*81' : s));
    const { summaries } = await readAll(enveloped(body));
    const s = summaries[0] as TransactionSummary835;
    expect(s.findings.map((f) => f.rule)).toEqual(['balance-claim']);
    expect(s.findings[0]).toMatchObject({
      segmentId: 'CLP',
      element: 'CLP04',
      amounts: { charge: 1200, claimAdjustments: 71, lineAdjustments: 280, paid: 850 },
    });
    expect(s.findings[0]?.message).toContain('CLAIM-A');
  });

  test('a payment that is not Σ CLP04 − Σ PLB: balance-transaction', async () => {
    const body = FULL_BODY.map((s) => (s.startsWith('BPR*') ? s.replace('*691*', '*691.01*') : s));
    const { summaries } = await readAll(enveloped(body));
    const s = summaries[0] as TransactionSummary835;
    expect(s.accepted).toBe(false);
    expect(s.findings).toEqual([
      expect.objectContaining({
        rule: 'balance-transaction',
        segmentId: 'BPR',
        element: 'BPR02',
        amounts: { payment: 691.01, claimsPaid: 890.5, providerAdjustments: 199.5 },
      }),
    ]);
  });

  test('a debit (BPR03 D) balances as a negative payment', async () => {
    const body = [
      ...header('50').map((s) => (s.startsWith('BPR*') ? s.replace('*50*C*ACH*', '*50*D*ACH*') : s)),
      'CLP*CLAIM-A*22*-500*-50**12*PAYERCLM000',
      'CAS*CO*45*-450',
    ];
    const { summaries } = await readAll(enveloped(body));
    expect(summaries[0]?.findings).toEqual([]);
  });

  test('one transaction set that does not balance leaves the others of the file accepted', async () => {
    const bad = FULL_BODY.map((s) => (s === 'CAS*PR*1*59.5' ? 'CAS*PR*1*59.4' : s));
    const input = `${enveloped(bad, { control: '000000001' })}\r\n${enveloped(FULL_BODY, { control: '000000002' })}`;
    const { summaries } = await readAll(input);
    expect(summaries.map((s) => s.accepted)).toEqual([false, true]);
    // The claim's CAS changed, its CLP04 did not: the claim rule fails (and CLP05 no longer agrees).
    expect(summaries[0]?.findings.map((f) => f.rule)).toEqual(['balance-claim', 'patient-responsibility']);
  });
});

describe('bad input: a report naming the segment and its position', () => {
  test('amounts that are not numbers, dates that are not dates', async () => {
    const body = FULL_BODY.map((s) =>
      s === 'SVC*HC:96365*400*300**1'
        ? 'SVC*HC:96365*4OO*300**1'
        : s === 'DTM*472*20261102'
          ? 'DTM*472*20261131'
          : s.startsWith('CLP*CLAIM-B')
            ? 'CLP*CLAIM-B*4*300*0.001**12*PAYERCLM002*11*1'
            : s,
    );
    const { summaries } = await readAll(enveloped(body));
    const findings = summaries[0]?.findings ?? [];
    expect(summaries[0]?.accepted).toBe(false);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rule: 'amount',
          segmentId: 'SVC',
          element: 'SVC02',
          segment: body.indexOf('SVC*HC:96365*4OO*300**1') + 4,
        }),
        expect.objectContaining({ rule: 'date', segmentId: 'DTM', element: 'DTM02' }),
        expect.objectContaining({ rule: 'amount', segmentId: 'CLP', element: 'CLP04' }),
      ]),
    );
    expect(findings.find((f) => f.rule === 'amount')?.message).toContain('"4OO" is not an amount');
  });

  test('an unknown segment, and a known one outside its loop', async () => {
    const body = [...FULL_BODY.slice(0, 20), 'ZZZ*1', ...FULL_BODY.slice(20)];
    body.splice(body.indexOf('LX*2') + 1, 0, 'LQ*HE*N1');
    const { summaries } = await readAll(enveloped(body));
    const findings = summaries[0]?.findings ?? [];
    expect(findings.map((f) => [f.rule, f.segmentId, f.segment])).toEqual([
      ['segment-unknown', 'ZZZ', 24],
      ['segment-order', 'LQ', body.indexOf('LQ*HE*N1') + 4],
    ]);
  });

  test('a 4010 remittance is refused as another version; a CAS with group CR is named', async () => {
    const { summaries } = await readAll(enveloped(FULL_BODY, { version: '004010X091A1' }));
    expect(summaries[0]).toMatchObject({ accepted: false, claims: 0 });
    expect(summaries[0]?.findings[0]).toMatchObject({ rule: 'version', segmentId: 'ST' });
    const cr = await readAll(enveloped(FULL_BODY.map((s) => (s === 'CAS*OA*23*80' ? 'CAS*CR*23*80' : s))));
    expect(cr.summaries[0]?.findings[0]).toMatchObject({ rule: 'code', element: 'CAS01' });
  });

  test('a missing BPR, TRN, payer or payee', async () => {
    const body = FULL_BODY.filter((s) => !s.startsWith('TRN*') && !s.startsWith('N1*PE'));
    const { summaries } = await readAll(enveloped(body));
    expect(summaries[0]?.findings.map((f) => f.message)).toEqual([
      'TRN (the check or EFT trace number) is required',
      'loop 1000B (N1*PE, the payee) is required',
    ]);
  });

  test('SE01 and GE01 counts that are wrong, an interchange cut short, refuse the whole input', async () => {
    const good = enveloped(FULL_BODY);
    const wrongSe = good.replace(/SE\*(\d+)\*0001/, (_m, n: string) => `SE*${Number(n) + 1}*0001`);
    expect((await refusal(wrongSe)).message).toMatch(/SE01 says \d+ segments; the transaction has \d+/);
    const wrongGe = good.replace('GE*1*771', 'GE*2*771');
    expect((await refusal(wrongGe)).message).toContain('GE01 says 2 transactions; the group has 1');
    const cut = good.slice(0, good.indexOf('CLP*CLAIM-C'));
    expect((await refusal(cut)).message).toMatch(/ends inside a segment|ends before the IEA/);
  });

  test('an envelope that lies about its delimiters', async () => {
    // The ISA declares `|` as the element separator; the rest of the file uses `*`.
    const good = enveloped(FULL_BODY);
    const lying = good.slice(0, 106).replaceAll('*', '|') + good.slice(106);
    const error = await refusal(lying);
    expect(error.message).toMatch(/character 108: "GS\*HP\*ACMEHEAL.*" is not a segment id/);
    expect(error.offset).toBe(108);
  });
});
