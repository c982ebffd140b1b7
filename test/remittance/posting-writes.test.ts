/**
 * What posting a claim payment writes (src/remittance/post-claim-payment.ts): four resources per
 * claim payment — the ExplanationOfBenefit, the claim's next version, its Provenance and one
 * AuditEvent that names all three (each with its lifecycle) and the patient — and, posted again,
 * nothing.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { AuditEvent, Claim } from '@medplum/fhirtypes';
import { receiveRemittance } from '../../src/remittance/intake.ts';
import { REMITTANCE_CLIENT } from '../../src/remittance/post-claim-payment.ts';
import { postRemittanceFile } from '../../src/remittance/post-file.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { PostingFixture } from './support.ts';
import {
  openPostingFixture,
  paymentOf,
  remittance,
  SECONDARY,
  seedSubmittedClaims,
  TENANT,
  WRITE_OPTIONS,
} from './support.ts';

let fx: PostingFixture;

beforeEach(async () => {
  fx = await openPostingFixture();
});

afterEach(async () => {
  jest.restoreAllMocks();
  await fx.close();
});

/** Every resource operation written through the store from now on, as "op Type". */
function recordWrites(): string[] {
  const written: string[] = [];
  const original = fx.store.resources.writeBatch.bind(fx.store.resources);
  jest
    .spyOn(fx.store.resources, 'writeBatch')
    .mockImplementation((tenant: string, operations: readonly BatchOperation[]) => {
      for (const o of operations) {
        if ('resource' in o) {
          written.push(`${o.op} ${o.resource.resourceType}`);
        }
      }
      return original(tenant, operations);
    });
  return written;
}

async function accepted(text: string): Promise<string> {
  const result = await receiveRemittance(fx.intake, TENANT, [text], { source: 'test' });
  if (result.outcome !== 'accepted') {
    throw new Error(result.outcome);
  }
  return result.document;
}

const tally = (written: readonly string[]): Record<string, number> =>
  written.reduce<Record<string, number>>((t, w) => ({ ...t, [w]: (t[w] ?? 0) + 1 }), {});

describe('posting a claim payment', () => {
  test('writes four resources: the EOB, the claim, its Provenance and one AuditEvent naming them all', async () => {
    const claims = await seedSubmittedClaims(fx.store, 3);
    const document = await accepted(
      await write835ToString([remittance(claims.map((c) => paymentOf(c)))], WRITE_OPTIONS),
    );
    const written = recordWrites();
    const result = await postRemittanceFile(fx.posting, TENANT, { document });
    expect(result.posted).toBe(3);
    expect(tally(written)).toEqual({
      'create ExplanationOfBenefit': 3,
      'update Claim': 3,
      'create Provenance': 3,
      'create AuditEvent': 3,
      'create PaymentReconciliation': 1,
    });

    const audits = await searchAll<AuditEvent>(fx.store, TENANT, 'AuditEvent');
    expect(audits).toHaveLength(3);
    for (const claim of claims) {
      const audit = audits.find((a) =>
        a.entity?.some((e) => e.what?.reference === `Claim/${claim.id}/_history/2`),
      );
      const named = Object.fromEntries(
        (audit?.entity ?? []).map((e) => [
          (e.what?.reference ?? '').replace(/\/[^/]+$/, '').replace(/^(\w+)\/.*/, '$1'),
          e.lifecycle?.code ?? e.role?.display,
        ]),
      );
      expect(named).toEqual({
        ExplanationOfBenefit: 'originate',
        Claim: 'amend',
        Provenance: 'originate',
        Patient: 'Patient',
      });
      expect(audit?.agent?.[0]?.who?.identifier?.value).toBe(REMITTANCE_CLIENT);
      expect(audit?.entity?.find((e) => e.role?.display === 'Patient')?.what?.reference).toBe(
        claim.patient.reference,
      );
    }

    // Posted again: nothing is written but the (unchanged) reconciliation is not rewritten either.
    written.length = 0;
    const again = await postRemittanceFile(fx.posting, TENANT, { document });
    expect([again.posted, again.already]).toEqual([0, 3]);
    expect(written).toEqual([]);
  });

  test("another payer's payment does not move the claim: the EOB and its own AuditEvent", async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const document = await accepted(
      await write835ToString(
        [remittance([paymentOf(claim as Claim & { id: string })], { payerId: SECONDARY.payerId })],
        WRITE_OPTIONS,
      ),
    );
    const written = recordWrites();
    await postRemittanceFile(fx.posting, TENANT, { document });
    expect(tally(written)).toEqual({
      'create ExplanationOfBenefit': 1,
      'create AuditEvent': 1,
      'create PaymentReconciliation': 1,
    });
  });
});
