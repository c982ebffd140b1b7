/**
 * The PAS notify route logs each notification it takes, as the app's other routes do: the ids of
 * the tenant, payer and subscription, the notification's type and status, and how many events it
 * carried — never what the events say (a PAS Response Bundle names the patient). Over real HTTP:
 * the sandbox payer's handshake, its decision's event notification and a heartbeat.
 */
import { expect, test } from '@jest/globals';
import { advancingClock } from '../../../src/time/clock.ts';
import { waitFor } from '../../support/wait.ts';
import { subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const T = 'clinic-notify-log';
const rig = subscriptionRig(clock, [T], 'mr-log', 'J1745');
const { h, keptActive } = rig;

/** The server's log lines about PAS notifications, parsed. */
const notifyLines = (): Record<string, unknown>[] =>
  rig
    .server()
    .logs.flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"PAS notification'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('each notification is logged with its subscription and counts, and nothing it says', async () => {
  expect(await h.ask('mr-log', T)).toBe(202);
  const kept = await keptActive(T);
  await h.stateReached('mr-log', 'pended', 20_000, T);
  await rig.payer().pas.finishReviews();
  await h.stateReached('mr-log', 'certified', 20_000, T);
  rig.payer().pas.heartbeatNow();
  const accepted = await waitFor(
    'the heartbeat logged',
    () => {
      const lines = notifyLines().filter((l) => l['msg'] === 'PAS notification accepted');
      return lines.some((l) => l['type'] === 'heartbeat') ? lines : undefined;
    },
    10_000,
  );
  const seen = accepted.map((l) => [l['type'], l['subscription'], l['events'], l['status']]);
  expect(seen).toEqual(
    expect.arrayContaining([
      ['handshake', kept, 0, 'requested'],
      ['event-notification', kept, 1, 'active'],
      ['heartbeat', kept, 0, 'active'],
    ]),
  );
  for (const line of accepted) {
    expect(line).toMatchObject({ tenant: T, payer: 'buckeye', component: 'pas-notify' });
  }
  // Nothing of the patient, her coverage or the payer's answer reaches the log.
  const text = JSON.stringify(notifyLines());
  for (const phi of ['Alvarez', 'Rosa', 'MRN1001', 'W123456789', '1961-04-12', 'ClaimResponse']) {
    expect(text).not.toContain(phi);
  }
}, 40_000);
