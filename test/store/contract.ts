/**
 * The storage contract: every Store adapter (embedded SQLite, MongoDB) must pass this suite, which
 * talks to the adapter through the port (src/store/port.ts) only.
 *
 * Isolation inside one store: each test works in its own random tenant and its own random job
 * queue, so tests never see each other's data (lease() is cross-tenant, hence the per-test queue).
 *
 * Behaviour pinned here where port.ts leaves room (see each test):
 * - `ifNoneExistIdentifier` without `system` matches the value under any system (FHIR token rule).
 * - create with an explicit id that already exists → 409.
 * - a lease that expires on the job's final attempt dead-letters the job on the next lease() call.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import type { Store } from '../../src/store/port.ts';
import { describeResourceContract } from './contract-resources.ts';
import { describeSearchContract } from './contract-search.ts';
import { describeJobLeaseContract } from './contract-jobs.ts';
import { describeJobSchedulingContract } from './contract-job-scheduling.ts';
import { describeAuthContract } from './contract-auth.ts';

const warned = new Set<string>();

function warnOnce(message: string): void {
  if (!warned.has(message)) {
    warned.add(message);
    console.warn(message);
  }
}

export function describeStoreContract(
  name: string,
  open: () => Promise<Store | undefined>,
  skipReason?: string,
): void {
  if (skipReason !== undefined) {
    const message = `${name} contract skipped: ${skipReason}`;
    describe(`${name} store contract`, () => {
      warnOnce(message);
      test.skip(message, () => undefined);
    });
    return;
  }

  describe(`${name} store contract`, () => {
    let opened: Store | undefined;
    let unavailable = false;

    beforeAll(async () => {
      opened = await open();
      if (!opened) {
        unavailable = true;
        warnOnce(`${name} contract skipped: open() yielded no store`);
      }
    });

    afterAll(async () => {
      await opened?.close();
    });

    /** A test that becomes a no-op (after one warning) when the store could not be opened. */
    function it(title: string, fn: (store: Store) => Promise<void>): void {
      test(title, async () => {
        if (unavailable || !opened) {
          return;
        }
        await fn(opened);
      });
    }

    describeResourceContract(it);
    describeSearchContract(it, () => opened);
    describeJobLeaseContract(it);
    describeJobSchedulingContract(it);
    describeAuthContract(it);
  });
}
