/**
 * The 005010X279A1 270 writer and 271 reader (src/x12/270, src/x12/271): a 270 has the TR3's
 * loops in order with consistent envelopes (read back by the independent x12-parser); a 271 is
 * read into its levels and benefit entries; a 271 with broken envelopes or a segment the 271
 * listing does not have is refused with a problem naming the segment, never a throw.
 */
import { Readable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { X12parser } from 'x12-parser';
import { write270 } from '../../src/x12/270/write270.ts';
import type { Inquiry270 } from '../../src/x12/270/types.ts';
import { read271 } from '../../src/x12/271/read271.ts';
import { ELIGIBILITY_271, isa } from './fixtures.ts';

const NOW = new Date('2026-12-04T14:30:00Z');

const INQUIRY: Inquiry270 = {
  payer: { name: 'ACME HEALTH PLAN', id: '60054' },
  provider: { name: 'RIVERBEND INFUSION CENTER', npi: '1234567893' },
  subscriber: {
    lastName: 'GARCIA',
    firstName: 'MARIA',
    birthDate: '1954-01-13',
    gender: 'F',
    memberId: 'XYZ100000001',
  },
  trace: { number: 'elig-0001', assigner: '1123456789' },
  date: '2026-12-07',
  serviceTypes: ['30', '50', '78'],
};

const OPTIONS = {
  sender: { id: '123456789' },
  receiver: { id: '60054' },
  controlNumbers: { isa: 17, gs: 17 },
  now: NOW,
  usage: 'T' as const,
  reference: 'elig-0001',
};

/** x12-parser's reading, as [id, elements...] (components joined back with ':'). */
async function segmentsOf(text: string): Promise<string[][]> {
  const out: string[][] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new X12parser();
    parser.on('data', (s: Record<string, string> & { name: string }) => {
      const elements: string[] = [];
      for (let n = 1; s[String(n)] !== undefined; n++) {
        const parts = [s[String(n)]!];
        for (let c = 1; s[`${n}-${c}`] !== undefined; c++) {
          parts.push(s[`${n}-${c}`]!);
        }
        elements.push(parts.join(':'));
      }
      out.push([s.name, ...elements]);
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from([Buffer.from(text, 'ascii')]).pipe(parser);
  });
  return out;
}

describe('270', () => {
  test('a subscriber inquiry: the TR3 loops in order, TRN on the subscriber, one EQ per service type, envelopes consistent', async () => {
    const text = await write270([INQUIRY], OPTIONS);
    const ids = text
      .split('~')
      .filter((s) => s !== '')
      .map((s) => s.split('*').slice(0, 2).join('*'));
    expect(ids).toEqual([
      'ISA*00',
      'GS*HS',
      'ST*270',
      'BHT*0022',
      'HL*1',
      'NM1*PR',
      'HL*2',
      'NM1*1P',
      'HL*3',
      'TRN*1',
      'NM1*IL',
      'DMG*D8',
      'DTP*291',
      'EQ*30',
      'EQ*50',
      'EQ*78',
      'SE*15',
      'GE*1',
      'IEA*1',
    ]);
    expect(text).toContain('GS*HS*123456789*60054*20261204*1430*17*X*005010X279A1~');
    expect(text).toContain('ST*270*0001*005010X279A1~');
    expect(text).toContain('BHT*0022*13*elig-0001*20261204*1430~');
    expect(text).toContain('HL*3*2*22*0~');
    expect(text).toContain('TRN*1*elig-0001*1123456789~');
    expect(text).toContain('NM1*IL*1*GARCIA*MARIA****MI*XYZ100000001~');
    expect(text).toContain('DTP*291*D8*20261207~');
    // The independent reader sees the same segments.
    const parsed = await segmentsOf(text);
    expect(parsed.map((s) => s[0])).toEqual(ids.map((s) => s.split('*')[0]));
    expect(parsed.find((s) => s[0] === 'NM1' && s[1] === 'PR')).toEqual([
      'NM1',
      'PR',
      '2',
      'ACME HEALTH PLAN',
      '',
      '',
      '',
      '',
      'PI',
      '60054',
    ]);
  });

  test('a dependent: the subscriber in 2000C says a child follows; the TRN, name and EQs are on 2000D', async () => {
    const text = await write270(
      [
        {
          ...INQUIRY,
          dependent: { lastName: 'GARCIA', firstName: 'LUIS', birthDate: '2010-05-02', gender: 'M' },
        },
      ],
      OPTIONS,
    );
    const segments = text.split('~').filter((s) => s !== '');
    const at = (prefix: string): number => segments.findIndex((s) => s.startsWith(prefix));
    expect(segments).toContain('HL*3*2*22*1');
    expect(segments).toContain('HL*4*3*23*0');
    expect(at('NM1*IL')).toBeLessThan(at('HL*4'));
    expect(at('TRN*1')).toBeGreaterThan(at('HL*4'));
    expect(segments).toContain('NM1*03*1*GARCIA*LUIS');
    expect(at('EQ*30')).toBeGreaterThan(at('NM1*03'));
  });

  test('refuses what it cannot write: no service type, a bad service type code, a bad TRN03', async () => {
    await expect(write270([{ ...INQUIRY, serviceTypes: [] }], OPTIONS)).rejects.toThrow(/service type/);
    await expect(write270([{ ...INQUIRY, serviceTypes: ['chemo'] }], OPTIONS)).rejects.toThrow(/1365/);
    await expect(
      write270([{ ...INQUIRY, trace: { number: 'x', assigner: '123' } }], OPTIONS),
    ).rejects.toThrow(/TRN03/);
  });
});

const ANSWER = (body: readonly string[], control = '000000501'): string =>
  [
    isa('*', '^', ':', '~', control).slice(0, -1),
    'GS*HB*60054*123456789*20261204*1430*501*X*005010X279A1',
    'ST*271*0001*005010X279A1',
    'BHT*0022*11*elig-0001*20261204*1430',
    'HL*1**20*1',
    'NM1*PR*2*ACME HEALTH PLAN*****PI*60054',
    'HL*2*1*21*1',
    'NM1*1P*2*RIVERBEND INFUSION CENTER*****XX*1234567893',
    'HL*3*2*22*0',
    'TRN*2*elig-0001*1123456789',
    ...body,
    `SE*${body.length + 9}*0001`,
    'GE*1*501',
    `IEA*1*${control}`,
  ].join('~') + '~';

describe('271', () => {
  test('levels, trace, plan dates and benefit entries (active, deductible remaining, co-insurance, authorization)', async () => {
    const text = ANSWER([
      'NM1*IL*1*GARCIA*MARIA****MI*XYZ100000001',
      'DMG*D8*19540113*F',
      'DTP*346*D8*20260101',
      'EB*1*IND*30^50**PPO GOLD',
      'EB*C*IND*30***23*1500',
      'EB*C*IND*30***29*250.5',
      'EB*A*IND*50*****0.2***Y*Y',
      'MSG*PRIOR AUTHORIZATION REQUIRED FOR CHEMOTHERAPY',
      'LS*2120',
      'NM1*PR*2*OTHER PLAN*****PI*99999',
      'LE*2120',
    ]);
    const read = await read271(text);
    if (!read.ok) {
      throw new Error(read.problem);
    }
    const [response] = read.responses;
    expect(response?.reference).toBe('elig-0001');
    const subscriber = response?.levels.find((l) => l.level === 'subscriber');
    expect(subscriber?.traces).toEqual([{ type: '2', number: 'elig-0001', assigner: '1123456789' }]);
    expect(subscriber?.party).toMatchObject({ entity: 'IL', name: 'GARCIA', id: 'XYZ100000001' });
    expect(subscriber?.birthDate).toBe('1954-01-13');
    expect(subscriber?.dates).toEqual([{ qualifier: '346', start: '2026-01-01' }]);
    expect(
      subscriber?.benefits.map((b) => [b.code, b.serviceTypes, b.timePeriod, b.amount, b.percent]),
    ).toEqual([
      ['1', ['30', '50'], undefined, undefined, undefined],
      ['C', ['30'], '23', 1500, undefined],
      ['C', ['30'], '29', 250.5, undefined],
      ['A', ['50'], undefined, undefined, 0.2],
    ]);
    const coinsurance = subscriber?.benefits[3];
    expect(coinsurance?.authorizationRequired).toBe('Y');
    expect(coinsurance?.inNetwork).toBe('Y');
    expect(coinsurance?.messages).toEqual(['PRIOR AUTHORIZATION REQUIRED FOR CHEMOTHERAPY']);
    expect(coinsurance?.entities).toEqual([
      { entity: 'PR', name: 'OTHER PLAN', idQualifier: 'PI', id: '99999' },
    ]);
  });

  test('a rejection (AAA) is read on its level', async () => {
    const read = await read271(ANSWER(['AAA*Y**75*C', 'NM1*IL*1*GARCIA*MARIA****MI*XYZ100000001']));
    expect(read.ok).toBe(true);
    const subscriber = read.ok ? read.responses[0]?.levels.find((l) => l.level === 'subscriber') : undefined;
    expect(subscriber?.rejections).toEqual([{ valid: 'Y', reason: '75', followUp: 'C' }]);
  });

  test('the parser fixture with other delimiters reads (repetitions, components)', async () => {
    const read = await read271(ELIGIBILITY_271);
    expect(read.ok).toBe(true);
    const benefits = read.ok ? read.responses[0]?.levels.find((l) => l.level === 'subscriber')?.benefits : [];
    expect(benefits?.[0]?.serviceTypes).toEqual(['1', '33', '98']);
    expect(benefits?.[2]?.procedure).toEqual({ qualifier: 'HC', code: '96365', modifiers: [] });
  });

  test.each([
    ['an unknown segment', ANSWER(['NM1*IL*1*GARCIA*MARIA****MI*X1', 'ZZZ*1*2']), /ZZZ.*not a segment/],
    [
      'a trace and benefits under a receiver level (HL03 21)',
      ANSWER(['NM1*IL*1*GARCIA', 'EB*1']).replace('HL*3*2*22*0', 'HL*3*2*21*0'),
      /belongs/,
    ],
    ['a wrong segment count', ANSWER(['NM1*IL*1*GARCIA']).replace('SE*10*0001', 'SE*11*0001'), /SE01|count/i],
    [
      'IEA naming another interchange',
      ANSWER(['NM1*IL*1*GARCIA']).replace('IEA*1*000000501', 'IEA*1*000000502'),
      /IEA|control/i,
    ],
    [
      'a truncated interchange',
      ANSWER(['NM1*IL*1*GARCIA']).split('GE*1')[0] ?? '',
      /end|IEA|GE|missing|unterminated/i,
    ],
    ['a 277 instead of a 271', ANSWER(['NM1*IL*1*GARCIA']).replace('ST*271', 'ST*277'), /ST01/],
    ['a bad date', ANSWER(['NM1*IL*1*GARCIA', 'DTP*346*D8*20261340']), /not a date/],
    ['not X12 at all', '{"resourceType":"OperationOutcome"}', /ISA|X12|interchange/i],
  ])('refuses %s with a problem, without throwing', async (_what, text, problem) => {
    const read = await read271(text);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.problem).toMatch(problem);
  });
});
