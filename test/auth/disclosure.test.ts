/**
 * A scope grants exactly what it names: an operation that answers with data of other types needs
 * read on each of them, and its 403 names every scope missing (issue: a token with only
 * `system/Claim.r` got full 837s with patients' names, addresses, birth dates and member ids).
 * The checks come before anything is read, so these run on an empty store.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({}, { ingest: false, chargeCapture: false, claims: false });
});
afterAll(async () => {
  await server.stop();
});

/** The scopes a 403 names (RFC 6750 `scope` in WWW-Authenticate), sorted. */
function namedScopes(challenge: string | null): string[] {
  const scope = /scope="([^"]*)"/.exec(challenge ?? '')?.[1];
  return scope === undefined ? [] : scope.split(' ').sort();
}

const X12_READS = [
  'system/Claim.r',
  'system/Coverage.r',
  'system/Organization.r',
  'system/Patient.r',
  'system/Practitioner.r',
  'system/RelatedPerson.r',
];

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  /** Every scope the route needs, one v2 scope each. */
  readonly needs: readonly string[];
}

const CASES: readonly Case[] = [
  { name: 'one claim as X12', method: 'GET', path: '/fhir/Claim/c1/$x12', needs: X12_READS },
  {
    name: 'a batch of claims as X12',
    method: 'GET',
    path: '/fhir/Claim/$x12?kind=837P',
    needs: [...X12_READS, 'system/Claim.s'],
  },
  {
    name: 'an X12 batch file',
    method: 'GET',
    path: '/api/claims/x12-batches/b1',
    needs: [...X12_READS, 'system/DocumentReference.r'],
  },
  {
    name: 'the same file through the FHIR API',
    method: 'GET',
    path: '/fhir/DocumentReference/b1',
    needs: [...X12_READS, 'system/DocumentReference.r'],
  },
  {
    name: 'a search of batch files',
    method: 'GET',
    path: '/fhir/DocumentReference',
    needs: [...X12_READS, 'system/DocumentReference.s'],
  },
  {
    name: 'making an X12 batch',
    method: 'POST',
    path: '/api/claims/x12-batches',
    body: { payer: 'nobody', kind: '837P' },
    needs: ['system/Claim.r', 'system/Claim.s', 'system/Claim.u', 'system/DocumentReference.c'],
  },
  {
    name: 'the worklist',
    method: 'GET',
    path: '/api/claims/worklist',
    needs: ['system/Claim.r', 'system/Claim.s', 'system/Task.r', 'system/Task.s'],
  },
  {
    name: '$infusion-charges',
    method: 'POST',
    path: '/fhir/Encounter/$infusion-charges',
    body: { resourceType: 'Parameters', parameter: [{ name: 'setting', valueCode: 'office' }] },
    needs: ['system/ChargeItem.r', 'system/Claim.r', 'system/Encounter.r'],
  },
];

async function call(c: Case, token: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fhirFetch(`${server.url}${c.path}`, token, {
    method: c.method,
    ...(c.body !== undefined ? { body: c.body } : {}),
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

describe('operations need read on every type they disclose', () => {
  test('a token with only system/Claim.r gets no 837: 403 naming every other type an 837 carries', async () => {
    const res = await call(CASES[0]!, await server.token('sandbox', 'system/Claim.r'));
    expect(res.status).toBe(403);
    expect(res.challenge).toMatch(/^Bearer realm="dripline", error="insufficient_scope", scope="/);
    expect(namedScopes(res.challenge)).toEqual(X12_READS.filter((s) => s !== 'system/Claim.r'));
  });

  test.each(CASES.map((c) => [c.name, c] as const))(
    '%s: each needed scope, when it is the one missing, is named alone',
    async (_name, c) => {
      for (const missing of c.needs) {
        const granted = c.needs.filter((s) => s !== missing).join(' ');
        const res = await call(c, await server.token('sandbox', granted));
        expect([missing, res.status]).toEqual([missing, 403]);
        expect(namedScopes(res.challenge)).toEqual([missing]);
      }
    },
  );

  test.each(CASES.map((c) => [c.name, c] as const))(
    '%s: with every needed scope, no 403',
    async (_name, c) => {
      const res = await call(c, await server.token('sandbox', c.needs.join(' ')));
      expect(res.status).not.toBe(403);
      expect(res.status).not.toBe(401);
    },
  );

  test('a wildcard read scope alone is not enough where a search or a write is needed', async () => {
    const readAll = await server.token('sandbox', 'system/*.r');
    const batch = await call(CASES[1]!, readAll);
    expect(batch.status).toBe(403);
    expect(namedScopes(batch.challenge)).toEqual(['system/Claim.s']);
    const worklist = await call(CASES[6]!, readAll);
    expect(namedScopes(worklist.challenge)).toEqual(['system/Claim.s', 'system/Task.s']);
  });
});
