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
// No Subscription exists at the EHR, so these writes notify nobody.
for (const { prefix, count } of batches) {
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
process.on('message', (message) => {
  if (message === 'cpu') {
    process.send?.({ cpu: process.cpuUsage() });
  }
});
process.once('SIGTERM', () => {
  ehr.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
