/**
 * The last contact with a payer's PAS subscription (src/coverage/pas/subscription-contact.ts): the
 * later instant and the higher event number are kept, whatever order notifications are noted in,
 * concurrent ones included; another subscription starts it again.
 */
import { expect, test } from '@jest/globals';
import { noteContact, readContact } from '../../../src/coverage/pas/subscription-contact.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { storePerTest } from '../../support/store-per-test.ts';

let store: SqliteStore;
storePerTest('dripline-pas-contact-', (opened) => {
  store = opened;
});

const T = 'clinic-contact';
const at = (minute: number): Date => new Date(Date.UTC(2026, 11, 6, 14, minute));

test('the later instant and the higher event number are kept, in any order', async () => {
  expect(await readContact(store, T, 'buckeye')).toBeUndefined();
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(10), highestEvent: 3 });
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(5), highestEvent: 2 });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(10).toISOString(),
    eventsReceived: 3,
  });
  // A heartbeat later: the time moves, the count stays.
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(20) });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(20).toISOString(),
    eventsReceived: 3,
  });
});

test('concurrent notifications all count: each retries on the version it lost to', async () => {
  await Promise.all(
    [1, 2, 3, 4].map((n) =>
      noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(n), highestEvent: n }),
    ),
  );
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(4).toISOString(),
    eventsReceived: 4,
  });
});

test('another subscription starts the contact again', async () => {
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(30), highestEvent: 9 });
  await noteContact(store, T, 'buckeye', { subscription: 's-2', at: at(31) });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-2',
    at: at(31).toISOString(),
    eventsReceived: 0,
  });
});
