/**
 * Tenant coding options from configuration reach the operation: a 340B tenant's drug lines carry JG;
 * a tenant's family override (coding.familyOverrides, R1.2) decides the administration code.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { CMS_SCENARIOS } from './engine/scenario-table-cms.ts';
import { toFhirBundle } from './fhir-bundle.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    {},
    { ingest: false, chargeCapture: false },
    {
      tenants: [
        {
          id: 'clinic-c',
          name: 'Clinic billing belimumab as TPD',
          coding: { familyOverrides: { medicare: { J0490: 'therapeutic' } } },
        },
      ],
    },
  );
});
afterAll(async () => {
  await server.stop();
});

async function charges(tenant: string, bundle: unknown = officeInfliximab()): Promise<any[]> {
  const token = await server.token(tenant, 'system/Encounter.rs system/Claim.r system/ChargeItem.r');
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

function officeInfliximab(): unknown {
  return JSON.parse(readFileSync('fixtures/bundles/office-infliximab.json', 'utf8'));
}

test('a tenant family override decides the administration code; other tenants keep the class rule', async () => {
  const belimumab = CMS_SCENARIOS.find((s) => s.name.includes('tenant override'))!;
  const bundle = toFhirBundle({ ...belimumab.input, options: {} });
  const codes = (items: any[]) => items.map((i) => i.productOrService.coding[0].code).sort();
  expect(codes(await charges('sandbox', bundle))).toEqual(['96413', 'J0490']);
  expect(codes(await charges('clinic-c', bundle))).toEqual(['96365', 'J0490']);
});

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
