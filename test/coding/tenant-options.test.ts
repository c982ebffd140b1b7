/** Tenant coding options from configuration reach the operation: a 340B tenant's drug lines carry JG. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { ingest: false, chargeCapture: false });
});
afterAll(async () => {
  await server.stop();
});

async function charges(tenant: string): Promise<any[]> {
  const token = await server.token(tenant, 'system/Encounter.rs system/Claim.r system/ChargeItem.r');
  const bundle = JSON.parse(readFileSync('fixtures/bundles/office-infliximab.json', 'utf8'));
  const res = await fhirFetch(`${server.fhir}/Encounter/$infusion-charges`, token, {
    method: 'POST',
    body: {
      resourceType: 'Parameters',
      parameter: [
        { name: 'setting', valueCode: 'office' },
        { name: 'bundle', resource: bundle },
      ],
    },
  });
  expect(res.status).toBe(200);
  return res.body.parameter.find((p: any) => p.name === 'claim').resource.item;
}

test('drug lines of a 340B tenant carry its modifier; other tenants do not', async () => {
  const modifiers = (items: any[], code: string): string[][] =>
    items
      .filter((i) => i.productOrService.coding[0].code === code)
      .map((i) => (i.modifier ?? []).map((m: any) => m.coding[0].code));
  const plain = await charges('sandbox');
  const hospital340B = await charges('clinic-b');
  expect(modifiers(plain, 'J1745').flat()).not.toContain('JG');
  expect(modifiers(hospital340B, 'J1745').every((m) => m.includes('JG'))).toBe(true);
  // Administration lines are not drugs: no 340B modifier.
  expect(modifiers(hospital340B, '96413').flat()).not.toContain('JG');
});
