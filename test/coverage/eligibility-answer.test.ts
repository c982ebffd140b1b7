/**
 * A payer's eligibility answer read into one shape (src/coverage/eligibility): a 271 mapped to a
 * CoverageEligibilityResponse, its summary (in force, plan dates, deductible and out-of-pocket
 * remaining, co-insurance, authorization), and the findings the work item and the scrubber share
 * (inactive on the date of service, another payer, rejected). A 271 that cannot be read, or that
 * answers another inquiry, is an `invalid` answer with an OperationOutcome.
 */
import { describe, expect, test } from '@jest/globals';
import { readFhirAnswer, readX12Answer } from '../../src/coverage/eligibility/answers.ts';
import { eligibilityFindings } from '../../src/coverage/eligibility/findings.ts';
import { eligibilityRequest, inquiryOf } from '../../src/coverage/eligibility/request.ts';
import type { EligibilityAsk } from '../../src/coverage/eligibility/request.ts';
import { benefitsFor, summarize } from '../../src/coverage/eligibility/summary.ts';
import { isa } from '../x12/fixtures.ts';

const NOW = new Date('2026-12-04T14:30:00Z');

const ASK: EligibilityAsk = {
  id: 'elig-1',
  trace: 'elig-1',
  patient: {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'Garcia', given: ['Maria'] }],
    birthDate: '1954-01-13',
  },
  coverage: {
    resourceType: 'Coverage',
    id: 'c1',
    status: 'active',
    subscriberId: 'XYZ1',
    beneficiary: { reference: 'Patient/p1' },
    payor: [{ reference: 'Organization/o1' }],
  },
  payer: { name: 'Acme Health Plan', payerId: '60054' },
  provider: { name: 'Riverbend Infusion Center', npi: '1234567893', taxId: '123456789' },
  date: '2026-12-07',
  serviceTypes: ['30', '50'],
  procedures: ['J9045'],
  now: NOW,
};
const REQUEST = eligibilityRequest(ASK);

const answer271 = (body: readonly string[], reference = 'elig-1'): string =>
  [
    isa('*', '^', ':', '~', '000000501').slice(0, -1),
    'GS*HB*60054*123456789*20261204*1430*501*X*005010X279A1',
    'ST*271*0001*005010X279A1',
    `BHT*0022*11*${reference}*20261204*1430`,
    'HL*1**20*1',
    'NM1*PR*2*ACME HEALTH PLAN*****PI*60054',
    'HL*2*1*21*1',
    'NM1*1P*2*RIVERBEND INFUSION CENTER*****XX*1234567893',
    'HL*3*2*22*0',
    `TRN*2*${reference}*1123456789`,
    'NM1*IL*1*GARCIA*MARIA****MI*XYZ1',
    ...body,
    `SE*${body.length + 10}*0001`,
    'GE*1*501',
    'IEA*1*000000501',
  ].join('~') + '~';

const read = (body: readonly string[]) =>
  readX12Answer({ status: 200, text: answer271(body) }, REQUEST, {
    responseId: 'elig-1-r',
    reference: 'elig-1',
    now: NOW,
  });

describe('the request', () => {
  test('FHIR: purposes validation and benefits, an item per service type and per drug; the 270: the same question', () => {
    expect(REQUEST.purpose).toEqual(['validation', 'benefits']);
    expect(
      REQUEST.item?.map((i) => i.category?.coding?.[0]?.code ?? i.productOrService?.coding?.[0]?.code),
    ).toEqual(['30', '50', 'J9045']);
    const inquiry = inquiryOf(ASK);
    expect(inquiry.subscriber).toMatchObject({
      lastName: 'Garcia',
      memberId: 'XYZ1',
      birthDate: '1954-01-13',
    });
    expect(inquiry.serviceTypes).toEqual(['30', '50']);
    expect(inquiry.trace).toEqual({ number: 'elig-1', assigner: '1123456789' });
  });
});

describe('a 271 in the CoverageEligibilityResponse shape', () => {
  test('active, plan year, deductible total and remaining, out-of-pocket, co-insurance and authorization per service type', async () => {
    const result = await read([
      'DTP*346*D8*20260101',
      'DTP*347*D8*20261231',
      'EB*1*IND*30',
      'EB*C*IND*30***23*1500****Y',
      'EB*C*IND*30***29*400****Y',
      'EB*G*IND*30***23*6000****Y',
      'EB*G*IND*30***29*4100****Y',
      'EB*A*IND*50*****0.2***Y*Y',
      'EB*B*IND*50***27*25****Y',
    ]);
    expect(result.kind).toBe('answered');
    if (result.kind !== 'answered') {
      return;
    }
    expect(result.response.request.reference).toBe('CoverageEligibilityRequest/elig-1');
    expect(result.response.insurance?.[0]?.coverage.reference).toBe('Coverage/c1');
    const summary = summarize(result.response);
    expect(summary).toMatchObject({
      outcome: 'complete',
      inforce: true,
      planStart: '2026-01-01',
      planEnd: '2026-12-31',
      payerId: '60054',
    });
    const visit = benefitsFor(summary, ['50', '30']);
    expect(visit).toMatchObject({
      deductible: { total: 1500, remaining: 400 },
      outOfPocket: { total: 6000, remaining: 4100 },
      coinsurancePercent: 20,
      copay: 25,
      authorizationRequired: true,
    });
    expect(
      eligibilityFindings({
        summary,
        coverageLabel: 'Coverage/c1',
        expectedPayer: { payerId: '60054', name: 'Acme' },
        payersOnFile: ['60054'],
        dates: ['2026-12-07'],
      }),
    ).toEqual([]);
  });

  test('coverage ended last month: not in force on the date of service → eligibility-inactive', async () => {
    const result = await read(['DTP*346*D8*20250101', 'DTP*347*D8*20261130', 'EB*6*IND*30']);
    const summary = result.kind === 'answered' ? summarize(result.response) : undefined;
    expect(summary).toMatchObject({ inforce: false, planEnd: '2026-11-30' });
    const findings = eligibilityFindings({
      summary,
      coverageLabel: 'Coverage/c1',
      payersOnFile: ['60054'],
      dates: ['2026-12-07'],
    });
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['eligibility-inactive', 'error']]);
    expect(findings[0]?.message).toContain('2026-12-07');
  });

  test('another payer is primary (EB R with its name) → eligibility-payer-differs', async () => {
    const result = await read([
      'EB*1*IND*30',
      'EB*R*IND*30',
      'LS*2120',
      'NM1*PR*2*BIG BLUE*****PI*77777',
      'LE*2120',
    ]);
    const summary = result.kind === 'answered' ? summarize(result.response) : undefined;
    expect(summary?.otherPayers).toEqual([{ name: 'BIG BLUE', payerId: '77777' }]);
    const findings = eligibilityFindings({
      summary,
      coverageLabel: 'Coverage/c1',
      payersOnFile: ['60054'],
      dates: ['2026-12-07'],
    });
    expect(findings.map((f) => f.ruleId)).toEqual(['eligibility-payer-differs']);
  });

  test('member not found (AAA 75) → outcome error → eligibility-rejected', async () => {
    const result = await read(['AAA*Y**75*C']);
    const summary = result.kind === 'answered' ? summarize(result.response) : undefined;
    expect(summary?.outcome).toBe('error');
    expect(summary?.errors.map((e) => e.code)).toEqual(['75']);
    const findings = eligibilityFindings({
      summary,
      coverageLabel: 'Coverage/c1',
      payersOnFile: [],
      dates: ['2026-12-07'],
    });
    expect(findings.map((f) => f.ruleId)).toEqual(['eligibility-rejected']);
  });

  test('a 271 with an unknown segment, or one answering another inquiry, is invalid with an OperationOutcome', async () => {
    const unknown = await read(['EB*1*IND*30', 'XYZ*1']);
    expect(unknown.kind).toBe('invalid');
    expect(unknown.kind === 'invalid' ? unknown.outcome.issue[0]?.details?.text : '').toMatch(
      /segment 1\d \(XYZ\)/,
    );
    const elsewhere = await readX12Answer(
      {
        status: 200,
        text:
          answer271(['EB*1*IND*30'], 'elig-2') +
          answer271(['EB*1*IND*30'], 'elig-3').replace(/000000501/g, '000000502'),
      },
      REQUEST,
      { responseId: 'elig-1-r', reference: 'elig-1', now: NOW },
    );
    expect(elsewhere.kind).toBe('invalid');
  });
});

describe('a FHIR payer answer', () => {
  test('an OperationOutcome is a refusal; JSON that is not a CoverageEligibilityResponse, or one about another request, is invalid', () => {
    const refusal = readFhirAnswer(
      {
        status: 400,
        text: JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'invalid' }],
        }),
      },
      REQUEST,
      { responseId: 'r', payerBase: 'http://payer' },
    );
    expect(refusal.kind).toBe('refused');
    expect(
      readFhirAnswer({ status: 200, text: 'not json' }, REQUEST, {
        responseId: 'r',
        payerBase: 'http://payer',
      }).kind,
    ).toBe('invalid');
    const otherRequest = {
      resourceType: 'CoverageEligibilityResponse',
      status: 'active',
      purpose: ['validation'],
      patient: { reference: 'Patient/p1' },
      created: NOW.toISOString(),
      request: { reference: 'CoverageEligibilityRequest/someone-else' },
      outcome: 'complete',
      insurer: { display: 'Acme' },
    };
    const read2 = readFhirAnswer({ status: 200, text: JSON.stringify(otherRequest) }, REQUEST, {
      responseId: 'r',
      payerBase: 'http://payer',
    });
    expect(read2.kind).toBe('invalid');
    const mine = readFhirAnswer(
      {
        status: 200,
        text: JSON.stringify({
          ...otherRequest,
          request: { reference: 'http://dripline/fhir/CoverageEligibilityRequest/elig-1' },
        }),
      },
      REQUEST,
      { responseId: 'r', payerBase: 'http://payer' },
    );
    expect(mine.kind).toBe('answered');
  });
});
