/**
 * The last contact with a payer's PAS subscription (src/coverage/pas/subscription-contact.ts): the
 * later instant and every event number received are kept, whatever order notifications are noted
 * in, concurrent ones included; what was recovered, and a count `$status` reported, are noted too;
 * another subscription starts it again; a record kept before ledgers were is read as it was meant.
 */
import { expect, test } from '@jest/globals';
import type { Basic } from '@medplum/fhirtypes';
import {
  EXT_PAS_EVENTS_RECEIVED,
  EXT_PAS_LAST_CONTACT,
  EXT_PAS_PAYER_SUBSCRIPTION,
} from '../../../src/contract/pas.ts';
import {
  contactRecordId,
  noteContact,
  noteReceived,
  noteRecovered,
  noteReported,
  readContact,
} from '../../../src/coverage/pas/subscription-contact.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { storePerTest } from '../../support/store-per-test.ts';

let store: SqliteStore;
storePerTest('dripline-pas-contact-', (opened) => {
  store = opened;
});

const T = 'clinic-contact';
const at = (minute: number): Date => new Date(Date.UTC(2026, 11, 6, 14, minute));

test('the later instant and every event number are kept, in any order', async () => {
  expect(await readContact(store, T, 'buckeye')).toBeUndefined();
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(10), numbers: [3], reported: 3 });
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(5), numbers: [2], reported: 2 });
  // 1 never came: missing since the first notification that showed it.
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(10).toISOString(),
    eventsReceived: 3,
    ledger: { through: 0, ahead: [2, 3], reported: 3, missingSince: at(10).toISOString() },
  });
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(12), numbers: [1], reported: 3 });
  // A heartbeat later: the time moves, the count stays.
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(20), reported: 3 });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(20).toISOString(),
    eventsReceived: 3,
    ledger: { through: 3, ahead: [], reported: 3 },
  });
});

test('concurrent notifications all count: each retries on the version it lost to', async () => {
  await Promise.all(
    [1, 2, 3, 4].map((n) =>
      noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(n), numbers: [n], reported: n }),
    ),
  );
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(4).toISOString(),
    eventsReceived: 4,
    ledger: { through: 4, ahead: [], reported: 4 },
  });
});

test('a recovery noted: those events are accounted for, the last contact stays what it was', async () => {
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(10), numbers: [1], reported: 4 });
  await noteRecovered(store, T, 'buckeye', { subscription: 's-1', through: 4, now: at(11) });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(10).toISOString(),
    eventsReceived: 4,
    ledger: { through: 4, ahead: [], reported: 4 },
  });
  // Of a subscription never heard from: kept without a contact instant.
  await noteRecovered(store, T, 'buckeye', { subscription: 's-2', through: 2, now: at(12) });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-2',
    eventsReceived: 2,
    ledger: { through: 2, ahead: [], reported: 2 },
  });
});

test('a $status count noted: the events past those received are missing, the last contact stays', async () => {
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(10), numbers: [1], reported: 1 });
  await noteReported(store, T, 'buckeye', { subscription: 's-1', reported: 3, now: at(40) });
  const missing = {
    subscription: 's-1',
    at: at(10).toISOString(),
    eventsReceived: 1,
    ledger: { through: 1, ahead: [], reported: 3, missingSince: at(40).toISOString() },
  };
  expect(await readContact(store, T, 'buckeye')).toEqual(missing);
  // The same answer again (the next check, still silent): nothing changes, the wait is not put off.
  await noteReported(store, T, 'buckeye', { subscription: 's-1', reported: 3, now: at(50) });
  expect(await readContact(store, T, 'buckeye')).toEqual(missing);
  // Of a subscription never heard from (the one it replaced was): kept about it, without an instant.
  await noteReported(store, T, 'buckeye', { subscription: 's-2', reported: 2, now: at(55) });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-2',
    eventsReceived: 0,
    ledger: { through: 0, ahead: [], reported: 2, missingSince: at(55).toISOString() },
  });
});

test('another subscription starts the contact again', async () => {
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(30), numbers: [9], reported: 9 });
  await noteContact(store, T, 'buckeye', { subscription: 's-2', at: at(31), reported: 0 });
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-2',
    at: at(31).toISOString(),
    eventsReceived: 0,
    ledger: { through: 0, ahead: [], reported: 0 },
  });
});

test('a contact kept before ledgers were (the highest number only) counts every event up to it received', async () => {
  const old: Basic & { id: string } = {
    resourceType: 'Basic',
    id: contactRecordId('buckeye'),
    code: { text: 'subscription-contact' },
    extension: [
      { url: EXT_PAS_PAYER_SUBSCRIPTION, valueString: 's-1' },
      { url: EXT_PAS_LAST_CONTACT, valueInstant: at(40).toISOString() },
      { url: EXT_PAS_EVENTS_RECEIVED, valueInteger: 5 },
    ],
  };
  await store.resources.writeBatch(T, [{ op: 'create', resource: old, options: { id: old.id } }]);
  const contact = await noteContact(store, T, 'buckeye', {
    subscription: 's-1',
    at: at(41),
    numbers: [6],
    reported: 6,
  });
  expect(contact.ledger).toEqual({ through: 6, ahead: [], reported: 6 });
});

test('events handed back by $events are received, the last contact stays; a replacement’s contact is left alone', async () => {
  await noteContact(store, T, 'buckeye', { subscription: 's-1', at: at(10), numbers: [3], reported: 3 });
  await noteReceived(store, T, 'buckeye', { subscription: 's-1', numbers: [1, 2], reported: 4, now: at(11) });
  // Received through 3; the answer counted a 4th: still missing, since first seen missing.
  expect(await readContact(store, T, 'buckeye')).toEqual({
    subscription: 's-1',
    at: at(10).toISOString(),
    eventsReceived: 3,
    ledger: { through: 3, ahead: [], reported: 4, missingSince: at(10).toISOString() },
  });
  await noteContact(store, T, 'buckeye', { subscription: 's-2', at: at(20), numbers: [1], reported: 1 });
  const replaced = await readContact(store, T, 'buckeye');
  await noteReceived(store, T, 'buckeye', { subscription: 's-1', numbers: [4], reported: 4, now: at(21) });
  expect(await readContact(store, T, 'buckeye')).toEqual(replaced);
});
