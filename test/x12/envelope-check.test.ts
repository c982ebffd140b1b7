/**
 * Envelope checks on a parsed stream (src/x12/envelope-check.ts): well-formed interchanges pass
 * through unchanged; a count or control number that does not match, or a segment outside its
 * envelope, stops the stream at that segment. Dripline's own 837 batches pass.
 */
import { describe, expect, test } from '@jest/globals';
import { hospitalOutpatientContext, officeInfusionContext } from '../../src/claims/x12-samples.ts';
import { write837ToString } from '../../src/x12/837/write837.ts';
import { checkEnvelopes } from '../../src/x12/envelope-check.ts';
import type { X12Segment } from '../../src/x12/parse.ts';
import { parseX12, X12SyntaxError } from '../../src/x12/parse.ts';
import { ELIGIBILITY_271, REMIT_835 } from './fixtures.ts';

async function checked(input: string): Promise<X12Segment[]> {
  const out: X12Segment[] = [];
  for await (const s of checkEnvelopes(parseX12([input]))) {
    out.push(s);
  }
  return out;
}

async function refusal(input: string): Promise<{ error: X12SyntaxError; passed: string[] }> {
  const passed: string[] = [];
  try {
    for await (const s of checkEnvelopes(parseX12([input]))) {
      passed.push(s.id);
    }
  } catch (error) {
    expect(error).toBeInstanceOf(X12SyntaxError);
    return { error: error as X12SyntaxError, passed };
  }
  throw new Error('the envelopes were accepted');
}

describe('well-formed interchanges', () => {
  test('pass through unchanged, one after another', async () => {
    const both = `${REMIT_835}\r\n${ELIGIBILITY_271}`;
    const plain: X12Segment[] = [];
    for await (const s of parseX12([both])) {
      plain.push(s);
    }
    expect(await checked(both)).toEqual(plain);
  });

  test('a TA1 may stand in the interchange, outside the groups', async () => {
    const withTa1 = REMIT_835.replace('GS*HP', 'TA1*000000904*261130*2200*A*000~\r\nGS*HP');
    expect((await checked(withTa1)).map((s) => s.id)).toContain('TA1');
  });

  test("Dripline's 837 batches pass (several groups' worth of transactions, both kinds)", async () => {
    const envelope = {
      sender: { id: 'DRIPLINE01', name: 'Dripline' },
      receiver: { id: 'CLEARHOUSE', name: 'Clear House' },
      controlNumbers: { isa: 31, gs: 32 },
      now: new Date('2026-12-01T09:30:00Z'),
      usage: 'T' as const,
      lineBreaks: true,
    };
    const professional = await write837ToString(
      Array.from({ length: 12 }, (_, i) => officeInfusionContext(i + 1)),
      { ...envelope, kind: '837P' },
    );
    const institutional = await write837ToString(
      [hospitalOutpatientContext(1), hospitalOutpatientContext(2)],
      {
        ...envelope,
        kind: '837I',
      },
    );
    const segments = await checked(professional + institutional);
    expect(segments.filter((s) => s.id === 'ST')).toHaveLength(14);
  });
});

describe('faults stop the stream at the segment that shows them', () => {
  // prettier-ignore
  const cases: [string, string, string, RegExp][] = [
    ['SE01 miscounts', REMIT_835.replace('SE*16*0001', 'SE*15*0001'), 'SE', /SE01 says 15 segments; the transaction has 16/],
    ['SE02 differs from ST02', REMIT_835.replace('SE*16*0001', 'SE*16*0002'), 'SE', /SE02 0002 does not match ST02 0001/],
    ['GE01 miscounts', REMIT_835.replace('GE*1*905', 'GE*2*905'), 'GE', /GE01 says 2 transactions; the group has 1/],
    ['GE02 differs from GS06', REMIT_835.replace('GE*1*905', 'GE*1*906'), 'GE', /GE02 906 does not match GS06 905/],
    ['IEA01 miscounts', REMIT_835.replace('IEA*1*', 'IEA*0*'), 'IEA', /IEA01 says 0 groups; the interchange has 1/],
    ['IEA02 differs from ISA13', REMIT_835.replace('IEA*1*000000905', 'IEA*1*000000906'), 'IEA', /IEA02 000000906 does not match ISA13 000000905/],
    ['an SE missing', REMIT_835.replace('SE*16*0001~', ''), 'GE', /GE before the SE/],
    ['a GE missing', REMIT_835.replace('GE*1*905~', ''), 'IEA', /IEA before the GE/],
    ['a segment outside a transaction', REMIT_835.replace('GE*1*905~', 'DTM*405*20261201~\r\nGE*1*905~'), 'DTM', /outside a transaction set/],
    ['an ST outside a group', REMIT_835.replace('GS*HP*ACMEHEALTH*RIVERBEND*20261201*0930*905*X*005010X221A1~', ''), 'ST', /ST outside a functional group/],
    ['ST02 twice in a group', REMIT_835.replace('GE*1*905~', 'ST*835*0001~\r\nSE*2*0001~\r\nGE*2*905~'), 'ST', /ST02 0001 is used twice/],
  ];
  test.each(cases)('%s', async (_name, input, at, message) => {
    const { error, passed } = await refusal(input);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`(${at})`);
    // Every segment before the faulty one went through; the faulty one did not.
    expect(input.slice(error.offset, error.offset + at.length)).toBe(at);
    const before: string[] = [];
    for await (const s of parseX12([input])) {
      if (s.offset < error.offset) {
        before.push(s.id);
      }
    }
    expect(passed).toEqual(before);
  });

  test('an input that stops inside an envelope is refused (given segments without a tokenizer)', async () => {
    const segments: X12Segment[] = [];
    for await (const s of parseX12([REMIT_835])) {
      segments.push(s);
    }
    const cut = segments.slice(0, -2); // no GE, no IEA
    const read: string[] = [];
    await expect(
      (async () => {
        for await (const s of checkEnvelopes(cut)) {
          read.push(s.id);
        }
      })(),
    ).rejects.toThrow(/ends inside an interchange \(no GE\)/);
    expect(read).toHaveLength(cut.length);
  });
});
