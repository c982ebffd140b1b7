/**
 * A child process for test/remittance/intake-memory.test.ts, started with a small heap
 * (NODE_OPTIONS=--max-old-space-size): writes an 835 of CLAIMS claim payments, then either takes
 * it in through the intake as one buffer (`intake`) or reads every event of it into one array
 * (`hold`, what not streaming costs). Given a file (the test's), the 835 is read from it when an
 * earlier child wrote it there, else written and kept there: the file's children write it once.
 * Prints one JSON line: the claims read and the heap at the end.
 * Running out of heap ends the process with a fatal error, which is what the test looks for.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { officeInfusionContext } from '../../../src/claims/x12-samples.ts';
import { receiveRemittance } from '../../../src/remittance/intake.ts';
import { read835 } from '../../../src/x12/835/read835.ts';
import type { Event835 } from '../../../src/x12/835/types.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import { openPostingFixture, paymentOf, remittance, TENANT, WRITE_OPTIONS } from '../support.ts';

const mode = process.argv[2];
const claims = Number(process.argv[3]);
/** Where the 835 is kept for the next child of the test file (written once, read as one buffer). */
const file = process.argv[4];

async function written835(): Promise<Buffer> {
  const template = officeInfusionContext(1).claim;
  const payment = paymentOf(template);
  const payments = Array.from({ length: claims }, (_, i) => ({
    ...payment,
    patientControlNumber: `clm-mem-${i + 1}`,
  }));
  return Buffer.from(await write835ToString([remittance(payments)], WRITE_OPTIONS), 'utf8');
}

let bytes: Buffer;
if (file !== undefined && existsSync(file)) {
  bytes = readFileSync(file);
} else {
  bytes = await written835();
  if (file !== undefined) {
    // Renamed into place: a child killed mid-write leaves no half file for the next one.
    writeFileSync(`${file}.partial`, bytes);
    renameSync(`${file}.partial`, file);
  }
}

let read = 0;
if (mode === 'hold') {
  const events: Event835[] = [];
  for await (const event of read835([bytes])) {
    events.push(event);
  }
  read = events.filter((e) => e.type === 'claim').length;
} else {
  const fixture = await openPostingFixture();
  try {
    const result = await receiveRemittance(fixture.intake, TENANT, [bytes], { source: 'test' });
    read = result.report.transactions[0]?.claims ?? 0;
  } finally {
    await fixture.close();
  }
}
process.stdout.write(
  `${JSON.stringify({ mode, bytes: bytes.length, claims: read, heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`,
);
