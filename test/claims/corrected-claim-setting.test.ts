/**
 * How a payer takes a fixed claim (config `payers[].correctedClaim`): as a replacement (frequency 7
 * naming the original and the payer's claim number, the default) or as a new claim (frequency 1,
 * naming no prior claim). The claim workflow's build step decides, for the corrected claim of an
 * adjudicated claim (what a "corrected claim needed" Task or a denial work item leads to).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import { claimIdFor, correctionIdFor } from '../../src/claims/workflow/identity.ts';
import type { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
} from '../../src/contract/canonical.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { fixture, payer } from './fixtures.ts';
import { officeTenant, sweepWorker } from './sweep-worker.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-corrected-setting-'));
let store: SqliteStore;
const ENCOUNTERS = ['Encounter/enc-1'];

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A tenant whose payer has the setting, the fixture's visit stored, and its original claim
 * adjudicated by the payer (claim number ICN-ORIGINAL-1) and taken over for correction.
 */
async function adjudicatedOriginal(
  tenant: string,
  correctedClaim: PayerEndpoint['correctedClaim'],
): Promise<{ worker: ClaimWorkflowWorker; original: string }> {
  const endpoint: PayerEndpoint = { ...payer('commercial'), ...(correctedClaim ? { correctedClaim } : {}) };
  const config = officeTenant(tenant, { payers: [endpoint] });
  const f = fixture('commercial');
  const coverage = {
    ...f.input.coverages[0]!,
    payor: [{ reference: 'Organization/payer-1', identifier: { value: endpoint.payerId } }],
  };
  for (const resource of [
    f.input.patient,
    ...f.input.conditions,
    // The care setting the workflow reads from the visit (the fixture's build input names it apart).
    ...f.input.encounters.map((e) => ({
      ...e,
      type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    })),
    coverage,
    ...f.input.chargeItems,
  ]) {
    await store.resources.create(tenant, resource, { id: resource.id! });
  }
  const original = claimIdFor(ENCOUNTERS);
  const built = buildClaim({ ...f.input, coverages: [coverage], payer: endpoint, id: original });
  await store.resources.create(
    tenant,
    {
      ...built,
      extension: [
        ...(built.extension ?? []),
        { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
        { url: EXT_CLAIM_PAYER, valueString: endpoint.id },
        {
          url: EXT_CLAIM_REPLACED_BY,
          valueReference: { reference: `Claim/${correctionIdFor(ENCOUNTERS, original)}` },
        },
      ],
    },
    { id: original },
  );
  const answer: ClaimResponse = {
    resourceType: 'ClaimResponse',
    status: 'active',
    type: built.type,
    use: 'claim',
    patient: built.patient,
    created: '2025-03-15',
    insurer: { display: endpoint.name },
    outcome: 'complete',
    identifier: [{ system: 'https://payer.example/claim-number', value: 'ICN-ORIGINAL-1' }],
    request: { reference: `Claim/${original}` },
  };
  await store.resources.create(tenant, answer);
  const worker = sweepWorker(store, config, () => new Date('2025-03-20T15:00:00Z'));
  return { worker, original };
}

async function correctedClaimOf(
  tenant: string,
  worker: ClaimWorkflowWorker,
  original: string,
): Promise<Claim> {
  await worker.buildAndScrub(tenant, { encounters: ENCOUNTERS, frequency: '7', replaces: original });
  return (await store.resources.read(tenant, 'Claim', correctionIdFor(ENCOUNTERS, original))) as Claim;
}

const frequencyOf = (claim: Claim): string | undefined =>
  claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode;

describe("the corrected claim follows the payer's setting", () => {
  test('replacement (the default): frequency 7, related to the original with the payer claim number', async () => {
    const { worker, original } = await adjudicatedOriginal('replacing', undefined);
    const corrected = await correctedClaimOf('replacing', worker, original);
    expect(frequencyOf(corrected)).toBe('7');
    expect(corrected.related?.[0]?.claim?.reference).toBe(`Claim/${original}`);
    expect(corrected.related?.[0]?.reference?.value).toBe('ICN-ORIGINAL-1');
  });

  test('new-claim: frequency 1, naming no prior claim or claim number', async () => {
    const { worker, original } = await adjudicatedOriginal('renewing', 'new-claim');
    const corrected = await correctedClaimOf('renewing', worker, original);
    expect(frequencyOf(corrected)).toBe('1');
    expect(corrected.related ?? []).toEqual([]);
    expect(JSON.stringify(corrected)).not.toContain('ICN-ORIGINAL-1');
    // Still the chain's corrected claim: the id a denial work item names, and scrubbed like any other.
    expect(corrected.id).toBe(correctionIdFor(ENCOUNTERS, original));
    expect(corrected.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode).toMatch(/^(ready|held)$/);
  });
});
