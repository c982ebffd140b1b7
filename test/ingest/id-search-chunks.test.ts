/**
 * readByIds (src/ingest/id-search.ts): more ids than one `_id` search takes are asked for in
 * searches of at most MAX_IDS_PER_SEARCH ids, all in flight at once — the worker reads its next
 * batch's focuses while it writes the batch in hand, and searches asked one after another only
 * when the one before has answered finished after the batch in hand (bench:ingest id-only) — and
 * an EHR that ignores `_id` is still told apart. The EHR here answers each search as a FHIR
 * server does (the resources whose ids were asked for), and holds every answer until the searches
 * it expects are all asked.
 */
import { describe, expect, test } from '@jest/globals';
import type { Resource } from '@medplum/fhirtypes';
import type { EhrPort } from '../../src/ingest/ehr-port.ts';
import { IdSearchIgnoredError, MAX_IDS_PER_SEARCH, readByIds } from '../../src/ingest/id-search.ts';

/** An EHR that answers `_id` searches once `expected` of them are in flight (or fails the test after 2 s). */
function holdingEhr(
  expected: number,
  answer: (ids: string[]) => Resource[],
): { ehr: EhrPort; asked: string[][] } {
  const asked: string[][] = [];
  const waiting: (() => void)[] = [];
  const ehr: EhrPort = {
    readUrl: () => Promise.reject(new Error('no reads here')),
    capabilities: () => Promise.reject(new Error('not asked')),
    operation: () => Promise.reject(new Error('not asked')),
    searchAll: (_type, params) => {
      const ids = (params['_id'] ?? '').split(',');
      asked.push(ids);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${asked.length} of ${expected} searches in flight`)),
          2000,
        );
        waiting.push(() => {
          clearTimeout(timer);
          resolve({ resources: answer(ids), truncated: false });
        });
        if (waiting.length === expected) {
          waiting.forEach((release) => release());
        }
      });
    },
  };
  return { ehr, asked };
}

const ids = Array.from({ length: 2 * MAX_IDS_PER_SEARCH + 7 }, (_, i) => `ma-${i}`);
const administration = (id: string): Resource => ({ resourceType: 'Patient', id });

describe('readByIds', () => {
  test('asks for every chunk at once and gathers the answers by id', async () => {
    const { ehr, asked } = holdingEhr(3, (wanted) =>
      wanted.filter((id) => id !== 'ma-5').map(administration),
    );
    const found = await readByIds(ehr, 'Patient', [...ids, 'ma-1']);
    expect(asked.map((chunk) => chunk.length)).toEqual([MAX_IDS_PER_SEARCH, MAX_IDS_PER_SEARCH, 7]);
    expect(new Set(asked.flat()).size).toBe(ids.length);
    expect([...found.keys()].sort()).toEqual(ids.filter((id) => id !== 'ma-5').sort());
  });

  test('an EHR that answers with resources not asked for ignored `_id`', async () => {
    const { ehr } = holdingEhr(3, () => [administration('someone-else')]);
    await expect(readByIds(ehr, 'Patient', ids)).rejects.toBeInstanceOf(IdSearchIgnoredError);
  });
});
