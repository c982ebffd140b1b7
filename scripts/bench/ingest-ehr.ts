/**
 * bench:ingest's EHR: the sandbox EHR in its own process (its own event loop and CPU time, as a
 * real EHR would be), seeded with the bench's patients, coverage, encounters, medications and the
 * MedicationAdministrations the id-only notifications point at. It registers Dripline's SMART
 * Backend Services client and prints one line, `READY {"connection": …}` (the EhrConnectionConfig
 * Dripline needs), then serves until SIGTERM/SIGKILL.
 *
 *   node scripts/bench/ingest-ehr.ts '<json: [{ "prefix": "ma-p1", "count": 3000 }, …]>'
 */
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import {
  administration,
  MEDICATIONS,
  PATIENTS,
  VISIT_MEDICATION,
  VISIT_PREFIX,
  visitEncounter,
} from './ingest-load.ts';
import {
  DAY_MEDICATIONS,
  DAY_PREFIX,
  dayAdministrations,
  dayEncounter,
  dayVisits,
} from './ingest-day-shape.ts';
import type { DayStatus } from './ingest-day-shape.ts';

const batches = JSON.parse(process.argv[2] ?? '[]') as { prefix: string; count: number }[];
const ehr = await startSandboxEhr({ port: 0, seed: false });
await ehr.createResource({ resourceType: 'Organization', id: 'payer-1', name: 'Payer One' });
await ehr.createResource({ resourceType: 'Practitioner', id: 'nurse-1', name: [{ family: 'Nurse' }] });
for (let m = 0; m < MEDICATIONS; m++) {
  await ehr.createResource({
    resourceType: 'Medication',
    id: `med-${m}`,
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: String(1000 + m) }] },
  });
}
for (let p = 0; p < PATIENTS; p++) {
  await ehr.createResource({
    resourceType: 'Patient',
    id: `pat-${p}`,
    name: [{ family: `Family${p}`, given: ['Bench'] }],
    birthDate: '1960-01-01',
  });
  await ehr.createResource({
    resourceType: 'Coverage',
    id: `cov-${p}`,
    status: 'active',
    beneficiary: { reference: `Patient/pat-${p}` },
    payor: [{ reference: 'Organization/payer-1' }],
  });
  await ehr.createResource({
    resourceType: 'Encounter',
    id: `enc-${p}`,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/pat-${p}` },
    period: { start: '2026-11-26T08:00:00Z', end: '2026-11-26T12:00:00Z' },
  });
}
await ehr.createResource(VISIT_MEDICATION);
for (const medication of DAY_MEDICATIONS) {
  await ehr.createResource(medication);
}
// No Subscription exists at the EHR, so these writes notify nobody.
for (const { prefix, count } of batches) {
  if (prefix.startsWith(DAY_PREFIX)) {
    // The day-shaped phase's visits as they arrive: the encounters, and the administrations their
    // notifications will point at (created once, as documented; the encounters change in waves).
    for (let i = 0; i < dayVisits(count); i++) {
      await ehr.createResource(dayEncounter(prefix, i, 'arrived'));
      for (const administration of dayAdministrations(prefix, i)) {
        await ehr.createResource(administration);
      }
    }
    continue;
  }
  for (let i = 0; i < count; i++) {
    if (prefix.startsWith(VISIT_PREFIX)) {
      await ehr.createResource(visitEncounter(prefix, i));
    }
    const { meta: _meta, ...resource } = administration(prefix, i);
    await ehr.createResource(resource);
  }
}
const connection = await sandboxConnection(ehr);
process.stdout.write(`READY ${JSON.stringify({ connection })}\n`);
// bench:ingest asks for this process's CPU time over the IPC channel (all threads, µs).
process.on('message', (message: unknown) => {
  if (message === 'cpu') {
    process.send?.({ cpu: process.cpuUsage() });
    return;
  }
  // The day-shaped phase's next wave of encounter changes (./ingest-day-shape.ts): made through the
  // EHR's own write path, as its users would; no Subscription exists here, so nobody is notified.
  const advance = (message as { advance?: { prefix: string; count: number; status: DayStatus } }).advance;
  if (advance) {
    void (async () => {
      for (let i = 0; i < advance.count; i++) {
        await ehr.updateResource(dayEncounter(advance.prefix, i, advance.status));
      }
      process.send?.({ advanced: advance.count });
    })();
  }
});
process.once('SIGTERM', () => {
  ehr.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
