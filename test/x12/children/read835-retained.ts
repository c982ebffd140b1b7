/**
 * A child process for test/x12/read835-memory.test.ts, started with --expose-gc: writes an 835 of
 * CLAIMS claim payments (in 64 KB chunks of bytes, as a file read hands them over), reads it
 * keeping every claim's patient control number and payer claim number, and prints one JSON line:
 * the input's size, how many numbers it kept, the first two, and the heap retained after a full
 * collection. In its own process the collection walks this heap only: in a jest worker it walked
 * the modules of every test file the worker had run (seconds, late in a run), and turning on
 * --expose-gc there changed the worker's V8 flags, so every later file's code caches were refused.
 */
import { read835 } from '../../../src/x12/835/read835.ts';
import { enveloped, header } from '../fixtures835.ts';

const claims = Number(process.argv[2]);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  throw new Error('run with --expose-gc');
}

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
  const body = [...header((claims * 240).toFixed(2))];
  for (let n = 1; n <= claims; n++) {
    body.push(...claim(n));
  }
  return [...chunks(enveloped(body), 64 * 1024)].map((c) => Buffer.from(c, 'latin1'));
}

function* chunks(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length; at += size) {
    yield text.slice(at, at + size);
  }
}

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
process.stdout.write(`${JSON.stringify({ size, kept: kept.length, first: kept.slice(0, 2), retained })}\n`);
