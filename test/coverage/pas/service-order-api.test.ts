/**
 * Prior authorization of a service order (ServiceRequest: home hydration) asked for on demand, as
 * ingest asks for it when the order arrives: `POST /api/prior-auth` with `ServiceRequest/{id}` (the
 * read scope of that type), `GET /api/prior-auth?order=ServiceRequest/{id}`, and the CLI's
 * `prior-auth ServiceRequest/<id>`, over real HTTP against the sandbox payer's PAS endpoint. The
 * payer's rule (a table of the test's) names the service codes; a drug order named by a bare id is
 * still a MedicationRequest.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, Organization, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { PriorAuthUsageError, runPriorAuth } from '../../../src/cli/prior-auth-command.ts';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { loadPriorAuthTable } from '../../../src/coverage/pas/auth-rules.ts';
import { PRIOR_AUTH_QUEUE, sourceOf, stateOf } from '../../../src/coverage/pas/records.ts';
import { sandboxPayers } from '../../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../../src/store/port.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import { fhirFetch, startTestServer } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing, coverage, order, orderer, patient } from './fixtures.ts';

const TENANT = 'clinic-s';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const SCOPE = 'system/ServiceRequest.r system/Claim.cr system/ClaimResponse.r system/Task.r';

let payer: SandboxPayer;
let server: TestServer;
let token: string;

const serviceOrder = (id: string, code: string): ServiceRequest & { id: string } => ({
  resourceType: 'ServiceRequest',
  id,
  status: 'active',
  intent: 'order',
  code: { coding: [{ system: HCPCS, code }] },
  quantityQuantity: { value: 5, unit: 'days' },
  occurrencePeriod: { start: '2026-12-07', end: '2026-12-11' },
  subject: { reference: 'Patient/pat-1' },
  authoredOn: '2026-12-03T09:00:00-05:00',
  requester: { reference: 'Practitioner/prac-1' },
  reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E86.0' }] }],
});

const ask = (body: object, bearer = token): Promise<{ status: number; body: any; headers: Headers }> =>
  fhirFetch(`${server.url}/api/prior-auth`, bearer, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });

async function requestsFor(reference: string): Promise<(Claim & StoredResource)[]> {
  return (
    await searchAll<Claim>(server.running.store, TENANT, 'Claim', [
      { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
    ])
  ).filter((c) => sourceOf(c)?.startsWith(`${reference}/`));
}

beforeAll(async () => {
  payer = await startSandboxPayer({ pas: { reviewDelayMs: 300 } });
  const [endpoint] = (await sandboxPayers(
    payer,
    [{ id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01', kind: 'commercial' }],
    { priorAuth: true },
  )) as [PayerEndpoint];
  const defaults = loadPriorAuthTable();
  // The payer authorizes home hydration (S9373) and home nursing visits (99601) first.
  const priorAuth = {
    ...defaults,
    byPayer: [
      {
        payerId: 'BHP01',
        effective: '2025-01-01',
        hcpcs: ['S9373', '99601'],
        therapyClasses: [],
        exempt: [],
        verification: 'UNVERIFIED' as const,
      },
    ],
  };
  const tenant = { id: TENANT, name: TENANT, timeZone: 'America/New_York', billing, payers: [endpoint] };
  server = await startTestServer(
    {},
    {
      priorAuthWorker: { pollMs: 50, priorAuth },
      claimWorkflow: { tenants: [{ ...tenant, connections: [], coding: {} }] },
      ingest: false,
      chargeCapture: false,
      claims: false,
    },
    { tenants: [tenant] },
  );
  token = await server.token(TENANT, SCOPE);
  const payerOrg: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'payer-1',
    identifier: [{ system: 'https://ehr.test/sid/payer-id', value: 'BHP01' }],
    name: 'Buckeye Health Plan',
  };
  const resources: (Resource & { id: string })[] = [
    payerOrg,
    patient,
    coverage,
    orderer,
    order,
    serviceOrder('sr-hydration', 'S9373'),
    serviceOrder('sr-nursing', '99601'),
  ];
  for (const r of resources) {
    const { meta: _meta, ...plain } = r;
    await server.running.store.resources.create(TENANT, plain, { id: r.id });
  }
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await payer?.stop();
});

describe('POST /api/prior-auth with a service order', () => {
  test('asked, sent as PAS and certified; the status answers by ServiceRequest', async () => {
    const asked = await ask({ order: 'ServiceRequest/sr-hydration' });
    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({ order: 'ServiceRequest/sr-hydration', queued: true });
    expect(asked.headers.get('location')).toBe('/api/prior-auth?order=ServiceRequest/sr-hydration');
    const certified = await waitFor('the hydration request certified', async () => {
      const [request] = await requestsFor('ServiceRequest/sr-hydration');
      return request && stateOf(request) === 'certified' ? request : undefined;
    });
    expect(certified.item?.[0]?.productOrService.coding?.[0]?.code).toBe('S9373');
    // The payer received one case for the service.
    expect(payer.pas.cases().filter((c) => c.items.some((i) => i.code === 'S9373'))).toHaveLength(1);
    const status = await fhirFetch(`${server.url}/api/prior-auth?order=ServiceRequest/sr-hydration`, token);
    expect(status.status).toBe(200);
    expect(status.body).toEqual({
      order: 'ServiceRequest/sr-hydration',
      cases: [
        expect.objectContaining({
          payer: 'buckeye',
          status: 'certified',
          items: [expect.objectContaining({ decision: 'certified', number: expect.stringMatching(/^AUTH/) })],
        }),
      ],
    });
    // A drug order of the same id space is another order: nothing asked for it.
    const drug = await fhirFetch(`${server.url}/api/prior-auth?order=MedicationRequest/sr-hydration`, token);
    expect(drug.body.cases).toEqual([]);
  });

  test('bad asks: an unknown service order (404), a reference of another type (400), no read scope for service orders (403)', async () => {
    const unknown = await ask({ order: 'ServiceRequest/nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.issue?.[0]?.diagnostics ?? unknown.body.issue?.[0]?.details?.text).toMatch(
      /ServiceRequest\/nope/,
    );
    const other = await ask({ order: 'Patient/pat-1' });
    expect(other.status).toBe(400);
    expect(other.body.resourceType).toBe('OperationOutcome');
    const drugOnly = await server.token(TENANT, 'system/MedicationRequest.r system/Claim.c');
    const refused = await ask({ order: 'ServiceRequest/sr-nursing' }, drugOnly);
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(await requestsFor('ServiceRequest/sr-nursing')).toEqual([]);
  });
});

describe('npm run cli -- prior-auth ServiceRequest/<id>', () => {
  test('queued on the server’s store; --wait answers where the service order stands', async () => {
    const result = await runPriorAuth(server.config, server.running.store, [
      'ServiceRequest/sr-nursing',
      '--tenant',
      TENANT,
      '--wait',
      '20',
    ]);
    expect(result).toMatchObject({ order: 'ServiceRequest/sr-nursing', tenant: TENANT, queued: true });
    expect(result['cases']).toEqual([
      expect.objectContaining({ payer: 'buckeye', status: 'certified', items: [expect.anything()] }),
    ]);
    const [request] = await requestsFor('ServiceRequest/sr-nursing');
    expect(request?.item?.[0]?.productOrService.coding?.[0]?.code).toBe('99601');
  });

  test('an unknown service order or another type is a usage error; nothing is queued', async () => {
    const before = (await server.running.store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'ready', 100)).length;
    const run = (argv: string[]): Promise<unknown> => runPriorAuth(server.config, server.running.store, argv);
    await expect(run(['ServiceRequest/nope', '--tenant', TENANT])).rejects.toThrow(
      /ServiceRequest\/nope is not on file/,
    );
    await expect(run(['Encounter/enc-1', '--tenant', TENANT])).rejects.toThrow(PriorAuthUsageError);
    expect((await server.running.store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'ready', 100)).length).toBe(
      before,
    );
  });
});
