/**
 * Every public 835 in ../shared/conformance/remittance (and its public/ folder) through the
 * reader: each is read and balanced, or reported unbalanced or malformed with the rule and the
 * segment. Several break the guide on purpose or by accident (the folder's README says which);
 * the expectations below say what Dripline concludes of each, and a file without an expectation
 * fails the test. Skipped, saying so, without the folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { read835 } from '../../src/x12/835/read835.ts';
import type { TransactionSummary835 } from '../../src/x12/835/types.ts';
import { X12SyntaxError } from '../../src/x12/parse.ts';
import { describeShared } from '../support/shared.ts';

interface Verdict {
  /** Per transaction set: accepted, claims, Σ CLP04 (and the rules of its warnings); or the rules its errors broke. */
  readonly sets?: readonly (
    | {
        readonly accepted: true;
        readonly claims: number;
        readonly paid: number;
        readonly warnings?: readonly string[];
      }
    | { readonly accepted: false; readonly rules: readonly string[] }
  )[];
  /** The input is refused whole: the syntax or envelope fault's message (a pattern). */
  readonly refused?: RegExp;
}

const EXPECTED: Readonly<Record<string, Verdict>> = {
  'lfh-cob-contractural-adjustment.835': {
    sets: [{ accepted: true, claims: 1, paid: 34, warnings: ['date', 'syntax'] }],
  },
  // BPR16 = 20002316 is no date (README: the sums balance, the format does not).
  'lfh-managed-care.835': { sets: [{ accepted: false, rules: ['date'] }] },
  // BPR02 150,000.00 = Σ CLP04 149,998.73 − PLB −1.27.
  'lfh-medicare-part-a.835': { sets: [{ accepted: true, claims: 2, paid: 149998.73 }] },
  'lfh-secondary-payment.835': {
    sets: [{ accepted: true, claims: 2, paid: 1222, warnings: ['date', 'syntax', 'syntax', 'code'] }],
  },
  // SVC01 is a bare HC: no procedure code, the elements shift, and the line does not balance.
  'lfh-tertiary-payment.835': {
    sets: [{ accepted: false, rules: ['required', 'code', 'balance-line'] }],
  },
  // Amounts masked as 999.99 and qualifiers as XX: structure only.
  'oopfactory-835-ExampleFromNth.txt': {
    sets: [
      { accepted: false, rules: ['code', 'balance-claim', 'balance-line', 'balance-transaction'] },
      { accepted: false, rules: ['code', 'balance-claim', 'balance-line', 'balance-transaction'] },
      { accepted: false, rules: ['code', 'balance-line', 'balance-claim', 'balance-transaction'] },
    ],
  },
  // A denied claim (CO-16 with N14), nothing paid (BPR*H…NON).
  'pyx12-835_mult_loops.txt': { sets: [{ accepted: true, claims: 1, paid: 0 }] },
  'x12parser-profee.edi': { sets: [{ accepted: true, claims: 3, paid: 45.75 }] },
  'public/at-nevada-medicaid.txt': { refused: /character 0: the ISA is not fixed-width/ },
  'public/at-wsfg-template-with-interest.txt': {
    refused: /segment 57 \(SE\): SE01 says 46 segments; the transaction has 55/,
  },
  'public/badx12-dental-era.edi': { sets: [{ accepted: true, claims: 1, paid: 132 }] },
  // Nine claims share one CLP01 and CLP07: read as nine, by position.
  'public/badx12-multiple-claims-single-check.edi': { sets: [{ accepted: true, claims: 9, paid: 810.8 }] },
  'public/chs-synthetic-double-counted-cas.835': {
    refused: /segment 18 \(SE\): SE01 says 17 segments; the transaction has 16/,
  },
  'public/diasks2-example1-no-envelope.835': { refused: /an interchange must begin with an ISA segment/ },
  'public/ks-bcbs-nc-enveloped.txt': { refused: /segment 34 \(SE\): SE01 says 33 segments/ },
  'public/ks-uhc-legacy.txt': { sets: [{ accepted: true, claims: 2, paid: 349.99 }] },
  'public/oopfactory-example1.txt': { sets: [{ accepted: false, rules: ['version'] }] },
  'public/oopfactory-multiple-interchanges.txt': {
    sets: [
      { accepted: false, rules: ['code', 'balance-claim', 'balance-line', 'balance-transaction'] },
      { accepted: false, rules: ['code', 'balance-claim', 'balance-line', 'balance-transaction'] },
      { accepted: false, rules: ['code', 'balance-line', 'balance-claim', 'balance-transaction'] },
    ],
  },
  'public/pyx12-835id-4010.txt': { sets: [{ accepted: false, rules: ['version'] }] },
};

describeShared(['conformance', 'remittance'], 'the public 835 samples', (dir) => {
  const files = [
    ...readdirSync(dir).filter((f) => f !== 'README.md' && f !== 'public'),
    ...readdirSync(path.join(dir, 'public')).map((f) => `public/${f}`),
  ].sort();

  test('every sample has an expectation', () => {
    expect(files.filter((f) => !(f in EXPECTED))).toEqual([]);
  });

  test.each(files.filter((f) => f in EXPECTED))('%s', async (file) => {
    const expected = EXPECTED[file] as Verdict;
    const summaries: TransactionSummary835[] = [];
    let refusal: unknown;
    try {
      for await (const event of read835([readFileSync(path.join(dir, file))])) {
        if (event.type === 'summary') {
          summaries.push(event.summary);
        }
      }
    } catch (error) {
      refusal = error;
    }
    if (expected.refused) {
      expect(refusal).toBeInstanceOf(X12SyntaxError);
      expect((refusal as Error).message).toMatch(expected.refused);
      return;
    }
    expect(refusal).toBeUndefined();
    expect(
      summaries.map((s) =>
        s.accepted
          ? {
              accepted: true,
              claims: s.claims,
              paid: s.totalPaid,
              ...(s.warningCount > 0 ? { warnings: s.findings.map((f) => f.rule) } : {}),
            }
          : {
              accepted: false,
              rules: [...new Set(s.findings.filter((f) => f.severity === 'error').map((f) => f.rule))],
            },
      ),
    ).toEqual(expected.sets);
    for (const s of summaries.filter((x) => !x.accepted)) {
      // Every error names its segment and where it is.
      for (const f of s.findings.filter((x) => x.severity === 'error')) {
        expect(f.segment).toBeGreaterThan(0);
        expect(f.segmentId).toMatch(/^[A-Z0-9]{2,3}$/);
      }
    }
  });
});
