/**
 * The streaming X12 segment parser (src/x12/parse.ts) on 835-like and 271-like interchanges written
 * here: delimiters read from each ISA, line breaks after terminators, any chunking (bytes or text),
 * several interchanges in a row, and a refusal, with where, of everything that is not X12. The 837
 * files Dripline writes read back the same as with the independent x12-parser.
 */
import { Readable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { X12parser } from 'x12-parser';
import { officeInfusionContext, hospitalOutpatientContext } from '../../src/claims/x12-samples.ts';
import { write837ToString } from '../../src/x12/837/write837.ts';
import { delimitersOfIsa } from '../../src/x12/delimiters.ts';
import type { X12Segment } from '../../src/x12/parse.ts';
import { ELIGIBILITY_271, isa, REMIT_835 } from './fixtures.ts';
import {
  components,
  element,
  parseX12,
  repetitions,
  X12SyntaxError,
  X12Tokenizer,
} from '../../src/x12/parse.ts';

/** Every segment of `input` fed in the given chunks, as plain data for comparison. */
async function segmentsOf(chunks: readonly (string | Uint8Array)[]): Promise<X12Segment[]> {
  const out: X12Segment[] = [];
  for await (const s of parseX12(chunks)) {
    out.push(s);
  }
  return out;
}

async function failureOf(
  chunks: readonly (string | Uint8Array)[],
): Promise<{ error: unknown; read: string[] }> {
  const read: string[] = [];
  try {
    for await (const s of parseX12(chunks)) {
      read.push(s.id);
    }
  } catch (error) {
    return { error, read };
  }
  throw new Error(`parsed without error: ${read.join(' ')}`);
}

describe('835-like input', () => {
  test('delimiters come from the ISA; CRLF after terminators is not data; elements as written', async () => {
    const segments = await segmentsOf([REMIT_835]);
    expect(segments.map((s) => s.id)).toEqual([
      'ISA',
      'GS',
      'ST',
      'BPR',
      'TRN',
      'DTM',
      'N1',
      'N1',
      'LX',
      'CLP',
      'NM1',
      'SVC',
      'DTM',
      'CAS',
      'SVC',
      'CAS',
      'LQ',
      'SE',
      'GE',
      'IEA',
    ]);
    const [head, gs] = segments;
    expect(head?.delimiters).toEqual({ element: '*', repetition: '^', component: ':', segment: '~' });
    expect(head?.elements).toHaveLength(16);
    expect(element(head!, 6)).toBe('ACMEHEALTH     '); // ISA06 keeps its fixed width
    expect(element(head!, 13)).toBe('000000905');
    expect(element(head!, 16)).toBe(':');
    expect(element(gs!, 8)).toBe('005010X221A1');
    const clp = segments.find((s) => s.id === 'CLP')!;
    expect(element(clp, 1)).toBe('clm-office-1');
    expect(components(clp, 8)).toEqual(['11', 'B', '1']);
    const svc = segments.filter((s) => s.id === 'SVC');
    expect(components(svc[1]!, 1)).toEqual(['HC', 'J1745', 'JW']);
    expect(element(svc[0]!, 4)).toBe('');
    expect(element(svc[0]!, 5)).toBe('1');
    expect(element(svc[0]!, 9)).toBe(''); // past the last element
    for (const s of segments) {
      expect(s.elements.some((e) => /[\r\n~]/.test(e))).toBe(false);
    }
    // Positions count segments; offsets point at each segment's first character in the input.
    expect(segments.map((s) => s.position)).toEqual(segments.map((_, i) => i + 1));
    for (const s of segments) {
      expect(REMIT_835.slice(s.offset, s.offset + s.id.length)).toBe(s.id);
    }
    // SE01 counts ST..SE: the fixture is consistent, as read.
    const st = segments.findIndex((s) => s.id === 'ST');
    const se = segments.findIndex((s) => s.id === 'SE');
    expect(Number(element(segments[se]!, 1))).toBe(se - st + 1);
  });

  test('the same segments however the input is cut: every split point, single characters, bytes', async () => {
    const whole = await segmentsOf([REMIT_835]);
    for (let cut = 0; cut <= REMIT_835.length; cut++) {
      const two = await segmentsOf([REMIT_835.slice(0, cut), REMIT_835.slice(cut)]);
      expect(two).toEqual(whole);
    }
    expect(await segmentsOf(Array.from({ length: REMIT_835.length }, (_, i) => REMIT_835.charAt(i)))).toEqual(
      whole,
    );
    const bytes = Buffer.from(REMIT_835, 'ascii');
    const byteChunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) {
      byteChunks.push(bytes.subarray(i, i + 7));
    }
    expect(await segmentsOf(byteChunks)).toEqual(whole);
  });

  test('a stream (Readable) works as input, and a multi-byte character split across chunks survives', async () => {
    const withAccent = REMIT_835.replace('GARCIA*MARIA', 'GARCÍA*MARÍA');
    const bytes = Buffer.from(withAccent, 'utf8');
    const at = bytes.indexOf(Buffer.from('Í', 'utf8')) + 1; // inside the two bytes of Í
    const segments = await segmentsOf([bytes.subarray(0, at), bytes.subarray(at)]);
    expect(
      element(
        segments.find((s) => s.id === 'NM1')!,
        3,
      ),
    ).toBe('GARCÍA');
    const fromStream: X12Segment[] = [];
    for await (const s of parseX12(Readable.from([bytes.subarray(0, 300), bytes.subarray(300)]))) {
      fromStream.push(s);
    }
    expect(fromStream).toEqual(segments);
  });
});

describe('271-like input', () => {
  test('other delimiters, repetitions, and a newline as the terminator', async () => {
    const segments = await segmentsOf([ELIGIBILITY_271]);
    expect(segments).toHaveLength(18);
    const head = segments[0]!;
    expect(head.delimiters).toEqual({ element: '|', repetition: '{', component: '>', segment: '\n' });
    const eb = segments.filter((s) => s.id === 'EB');
    expect(repetitions(eb[0]!, 3)).toEqual(['1', '33', '98']);
    expect(repetitions(eb[1]!, 3)).toEqual(['30']);
    expect(element(eb[1]!, 8)).toBe('500');
    expect(element(eb[2]!, 12)).toBe('Y');
    expect(components(eb[2]!, 13)).toEqual(['HC', '96365']);
    for (const s of segments) {
      expect(s.elements.some((e) => /[\r\n]/.test(e))).toBe(false);
    }
    const whole = segments;
    for (let cut = 0; cut <= ELIGIBILITY_271.length; cut += 3) {
      expect(await segmentsOf([ELIGIBILITY_271.slice(0, cut), ELIGIBILITY_271.slice(cut)])).toEqual(whole);
    }
    // CRLF line ends after an LF-terminated ISA: the CR before each terminator is not data.
    const crlf = ELIGIBILITY_271.slice(0, 106) + ELIGIBILITY_271.slice(106).replaceAll('\n', '\r\n');
    expect((await segmentsOf([crlf])).map((s) => s.elements)).toEqual(whole.map((s) => s.elements));
  });

  test('before 00501, ISA11 is the standards identifier U, not a repetition separator', async () => {
    const old = ELIGIBILITY_271.replace(
      isa('|', '{', '>', '\n', '000000412'),
      isa('|', 'U', '>', '\n', '000000412', '00401'),
    );
    const segments = await segmentsOf([old]);
    expect(segments[0]!.delimiters.repetition).toBeUndefined();
    expect(
      repetitions(
        segments.find((s) => s.id === 'EB')!,
        3,
      ),
    ).toEqual(['1{33{98']);
  });
});

describe('several interchanges and the tokenizer', () => {
  test('interchanges in a row each bring their own delimiters', async () => {
    const both = await segmentsOf([`${REMIT_835}\r\n${ELIGIBILITY_271}\r\n`]);
    expect(both.map((s) => s.id).filter((id) => id === 'ISA' || id === 'IEA')).toEqual([
      'ISA',
      'IEA',
      'ISA',
      'IEA',
    ]);
    const second = both.findIndex((s, i) => i > 0 && s.id === 'ISA');
    expect(both[second - 1]!.delimiters.element).toBe('*');
    expect(both[second]!.delimiters.element).toBe('|');
    expect(both.slice(second).map((s) => s.elements)).toEqual(
      (await segmentsOf([ELIGIBILITY_271])).map((s) => s.elements),
    );
    expect(both[both.length - 1]!.position).toBe(both.length);
  });

  test('push hands out segments as they complete; end checks the input closed its interchange', () => {
    const tokenizer = new X12Tokenizer();
    const ids = (text: string): string[] => [...tokenizer.push(text)].map((s) => s.id);
    expect(ids(REMIT_835.slice(0, 50))).toEqual([]);
    expect(ids(REMIT_835.slice(50, 110))).toEqual(['ISA']);
    expect(ids(REMIT_835.slice(110, 200))).toEqual(['GS', 'ST']);
    expect(() => tokenizer.end()).toThrow(/ends inside a segment/);
    expect(ids(REMIT_835.slice(200))).toHaveLength(17);
    expect(() => tokenizer.end()).not.toThrow();
  });
});

describe('what is not X12 is refused, saying where', () => {
  // [what, input, message, offset of the fault, segments read before it]
  const cases: [string, string, RegExp, number, number][] = [
    ['no ISA at the start', `GS*HP*A*B~${REMIT_835}`, /must begin with an ISA/, 0, 0],
    [
      'an ISA that is not fixed-width',
      REMIT_835.replace('ACMEHEALTH     ', 'ACMEHEALTH'),
      /not fixed-width/,
      0,
      0,
    ],
    [
      'two delimiters the same',
      REMIT_835.replace(isa('*', '^', ':', '~', '000000905'), isa('*', '^', '~', '~', '000000905')),
      /same character/,
      0,
      0,
    ],
    [
      'a letter as a delimiter',
      REMIT_835.replace(isa('*', '^', ':', '~', '000000905'), isa('*', '^', 'X', '~', '000000905')),
      /letter, digit or space/,
      0,
      0,
    ],
    [
      'an empty segment',
      REMIT_835.replace('LX*1~', 'LX*1~~'),
      /empty segment/,
      REMIT_835.indexOf('LX*1~') + 5,
      9,
    ],
    [
      'a segment id that is not one',
      REMIT_835.replace('LQ*HE', 'lq*HE'),
      /"lq" is not a segment id/,
      REMIT_835.indexOf('LQ*HE'),
      16,
    ],
    [
      'a second ISA before the IEA',
      REMIT_835.replace('GE*1*905~', isa('*', '^', ':', '~', '000000906')),
      /ISA inside an interchange/,
      REMIT_835.indexOf('GE*1*905~'),
      18,
    ],
    [
      'data after the last terminator',
      `${REMIT_835}\r\nGARBAGE`,
      /ends inside an ISA|must begin with an ISA/,
      REMIT_835.length + 2,
      20,
    ],
    [
      'input that stops before the IEA',
      REMIT_835.slice(0, REMIT_835.indexOf('GE*')),
      /ends before the IEA/,
      REMIT_835.indexOf('GE*'),
      18,
    ],
    [
      'input that stops inside a segment',
      REMIT_835.slice(0, REMIT_835.indexOf('GE*') + 4),
      /ends inside a segment/,
      REMIT_835.indexOf('GE*'),
      18,
    ],
    ['input that stops inside the ISA', REMIT_835.slice(0, 80), /ends inside an ISA/, 0, 0],
    ['an empty input', '\r\n', /holds no interchange/, 2, 0],
  ];
  test.each(cases)('%s', async (_name, input, message, offset, readBefore) => {
    const { error, read } = await failureOf([input]);
    expect(error).toBeInstanceOf(X12SyntaxError);
    expect((error as X12SyntaxError).message).toMatch(message);
    expect((error as X12SyntaxError).offset).toBe(offset);
    // Everything before the fault was read.
    expect(read).toHaveLength(readBefore);
  });

  test('a wrong start is refused at once, before the 106 characters of an ISA have arrived', () => {
    const tokenizer = new X12Tokenizer();
    expect(() => [...tokenizer.push('IS')]).not.toThrow();
    expect(() => [...tokenizer.push('X*00')]).toThrow(/must begin with an ISA/);
  });

  test('delimitersOfIsa says what is wrong without throwing', () => {
    expect(delimitersOfIsa('ISA*00')).toEqual({
      ok: false,
      problem: expect.stringMatching(/106-character ISA/),
    });
    expect(delimitersOfIsa(isa('*', '^', ':', '~', '000000001'))).toEqual({
      ok: true,
      delimiters: { element: '*', repetition: '^', component: ':', segment: '~' },
    });
  });
});

describe('the 837 files Dripline writes', () => {
  /** x12-parser's reading, as [id, elements...] (it trims values and joins components back here). */
  async function independent(x12: string): Promise<string[][]> {
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
      Readable.from([Buffer.from(x12, 'ascii')]).pipe(parser);
    });
    return out;
  }

  test.each([false, true])('read the same as with x12-parser (line breaks: %s)', async (lineBreaks) => {
    const x12 = await write837ToString(
      [officeInfusionContext(1), officeInfusionContext(2, null), hospitalOutpatientContext(3)],
      {
        kind: '837P',
        sender: { id: 'DRIPLINE01', name: 'Dripline' },
        receiver: { id: 'CLEARHOUSE', name: 'Clear House' },
        controlNumbers: { isa: 7, gs: 8 },
        now: new Date('2026-12-01T09:30:00Z'),
        usage: 'T',
        lineBreaks,
        onError: () => undefined,
      },
    );
    const ours = (await segmentsOf([x12])).map((s) => [
      s.id,
      ...(s.id === 'ISA' ? s.elements.map((e) => e.trim()) : s.elements),
    ]);
    expect(ours.length).toBeGreaterThan(60);
    // x12-parser reports the newline after the last terminator as one more, empty, segment.
    expect(ours).toEqual((await independent(x12)).filter((s) => s[0] !== ''));
  });
});
