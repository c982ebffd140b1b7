/**
 * Reading an 835 keeps no more of the input than the consumer keeps of the events: a consumer that
 * keeps every claim's patient control number and payer claim number (as posting keeps them for
 * the PaymentReconciliation) must not keep the chunks of text they were read from. V8 makes a
 * slice of 13 characters or more a view of the string it was cut from; such views kept a 100,000-
 * claim file (48 MB) alive whole (src/x12/parse.ts, `detached`).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from '@jest/globals';
import { read835 } from '../../src/x12/835/read835.ts';
import { enveloped, header } from './fixtures835.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CLAIMS = 20_000;

/** A claim payment of three lines, its patient control number and payer claim number 14 characters long. */
function claim(n: number): string[] {
  const pcn = `CLAIM-${String(n).padStart(8, '0')}`;
  const line = (i: number): string[] => [
    'SVC*HC:96365*100*80**1',
    'DTM*472*20261102',
    'CAS*CO*45*20',
    `REF*6R*${pcn}.${i}`,
    'AMT*B6*80',
  ];
  return [
    `CLP*${pcn}*1*300*240*0*12*ICN-${String(n).padStart(10, '0')}*11*1`,
    'NM1*QC*1*DOE*JANE****MI*MEMBER0001',
    'DTM*232*20261102',
    ...line(1),
    ...line(2),
    ...line(3),
  ];
}

/** The remittance, in 64 KB chunks of bytes as a file read hands them over. */
function input(): Buffer[] {
  const body = [...header((CLAIMS * 240).toFixed(2))];
  for (let n = 1; n <= CLAIMS; n++) {
    body.push(...claim(n));
  }
  return [...chunks(enveloped(body), 64 * 1024)].map((c) => Buffer.from(c, 'latin1'));
}

function* chunks(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length; at += size) {
    yield text.slice(at, at + size);
  }
}

describe('memory', () => {
  test('the claim numbers a consumer keeps do not keep the text they were read from', async () => {
    const bytes = input();
    const size = bytes.reduce((sum, c) => sum + c.length, 0);
    const kept: string[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for await (const event of read835(bytes)) {
      if (event.type === 'claim') {
        kept.push(event.claim.patientControlNumber, event.claim.payerClaimNumber ?? '');
      }
    }
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    expect(kept).toHaveLength(2 * CLAIMS);
    expect(kept.slice(0, 2)).toEqual(['CLAIM-00000001', 'ICN-0000000001']);
    // 40,000 strings of 14 characters and their array: ~3 MB. The text is ~8 MB (one byte a
    // character): kept whole, as it was, it came on top of that (10 MB retained in all).
    expect(size).toBeGreaterThan(7_000_000);
    expect(retained).toBeLessThan(size * 0.6);
  }, 60_000);
});
