/**
 * Reading an 835 in steps (src/x12/835/resume835.ts): every claim payment comes out with a point
 * to resume at it; a read resumed at any such point hands out the same claim payments (positions,
 * header number loops, transaction sets) and summary adjustments as the whole read from there on,
 * reads nothing of the file before the point but its ISA, GS and ST header, and a file whose bytes
 * stop being one character each gives no resume point after that.
 */
import { describe, expect, test } from '@jest/globals';
import type { ResumableEvent835, ResumePoint835 } from '../../src/x12/835/resume835.ts';
import { read835Resumable } from '../../src/x12/835/resume835.ts';
import { enveloped, FULL_BODY } from './fixtures835.ts';

/** Two interchanges (other delimiters in the second), three transaction sets. */
function file(): string {
  const second = enveloped(FULL_BODY, { control: '000000772', st: '0002' });
  const third = enveloped(FULL_BODY, { control: '000000773', st: '0003' })
    .replaceAll('*', '|')
    .replaceAll('~', '!');
  return [enveloped(FULL_BODY), second, third].join('\n');
}

/** Opens `bytes` at an offset, in small chunks (to split segments), recording what was read. */
function opener(bytes: Buffer, reads: { start: number; bytes: number }[] = []) {
  return (start: number): AsyncIterable<Uint8Array> => ({
    async *[Symbol.asyncIterator]() {
      const read = { start, bytes: 0 };
      reads.push(read);
      for (let at = start; at < bytes.length; at += 37) {
        const chunk = bytes.subarray(at, Math.min(at + 37, bytes.length));
        read.bytes += chunk.length;
        yield await Promise.resolve(chunk); // a file's chunks arrive asynchronously
      }
    },
  });
}

async function events(bytes: Buffer, from?: ResumePoint835): Promise<ResumableEvent835[]> {
  const out: ResumableEvent835[] = [];
  for await (const event of read835Resumable(opener(bytes), from)) {
    out.push(event);
  }
  return out;
}

/** What a posting job uses of the events: claims by transaction and position, PLBs. */
const digest = (list: readonly ResumableEvent835[]): unknown[] =>
  list.map((e) =>
    e.type === 'claim'
      ? ['claim', e.claim.transaction, e.claim.position, e.claim.headerNumber, e.claim.patientControlNumber]
      : e.type === 'summary'
        ? ['summary', e.summary.transaction, e.summary.providerAdjustments]
        : ['header', e.header.transaction, e.header.trace.number, e.header.payee.id],
  );

describe('an 835 read in steps', () => {
  test('resumed at any claim payment, it reads on exactly as the whole read does from there', async () => {
    const bytes = Buffer.from(file(), 'utf8');
    const whole = await events(bytes);
    const claims = whole.filter((e) => e.type === 'claim');
    expect(claims).toHaveLength(12);
    expect(whole.filter((e) => e.type === 'summary').every((e) => e.summary.errorCount === 0)).toBe(true);
    for (const [i, claim] of claims.entries()) {
      const point = claim.resume as ResumePoint835;
      expect(point).toBeDefined();
      expect(bytes.subarray(point.at, point.at + 3).toString()).toBe('CLP');
      const resumed = await events(bytes, point);
      const from = whole.indexOf(claim);
      // The resumed read begins with its transaction set's header, then goes on as the whole one.
      const header = whole.slice(0, from).findLast((e) => e.type === 'header');
      expect(digest(resumed)).toEqual(digest([header as ResumableEvent835, ...whole.slice(from)]));
      // The claim payments read on carry the same resume points.
      expect(resumed.filter((e) => e.type === 'claim').map((e) => e.resume)).toEqual(
        claims.slice(i).map((e) => e.resume),
      );
      expect(resumed.find((e) => e.type === 'claim')?.claim).toEqual(claim.claim);
    }
  });

  test('reads nothing before the point but the context it needs', async () => {
    const bytes = Buffer.from(file(), 'utf8');
    const claims = (await events(bytes)).filter((e) => e.type === 'claim');
    const point = claims[9]?.resume as ResumePoint835;
    const reads: { start: number; bytes: number }[] = [];
    for await (const _ of read835Resumable(opener(bytes, reads), point)) {
      // read on
    }
    expect(reads.map((r) => r.start)).toEqual([point.isa, point.gs, point.st, point.at]);
    // The ISA, GS and header parts stop at what they need (a chunk past it at most).
    const headerBytes = bytes.indexOf('LX', point.st) - point.st;
    expect(reads[2]?.bytes).toBeLessThanOrEqual(headerBytes + 2 * 37);
    expect(reads[3]?.bytes).toBe(bytes.length - point.at);
  });

  test('after a multi-byte character, claim payments carry no resume point', async () => {
    const text = file();
    // A payee name with an accent in the second interchange: offsets after it are no longer bytes.
    const second = text.indexOf('ISA', 10);
    const accented =
      text.slice(0, second) + text.slice(second).replace('RIVERBEND INFUSION', 'RIVERBÉND INFUSION');
    const claims = (await events(Buffer.from(accented, 'utf8'))).filter((e) => e.type === 'claim');
    expect(claims.slice(0, 4).every((e) => e.resume !== undefined)).toBe(true);
    expect(claims.slice(4).every((e) => e.resume === undefined)).toBe(true);
  });
});
