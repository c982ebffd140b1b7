/**
 * Child process of kill9.test.ts: Dripline as `npm start` runs it (configuration from the
 * environment and the DRIPLINE_CONFIG file, embedded store in DATA_DIR), printing one line once it
 * listens, so the test can SIGKILL it mid-burst and start it again on the same port and data.
 *
 *   node test/ingest/kill9-server.ts
 *
 * Prints `LISTENING <url>` on stdout, once its compiled modules are in Node's compile cache (the
 * next start reuses them though this one is SIGKILLed: test/support/listening.ts). Logs (pino
 * JSON) go to stderr.
 *
 * One test knob, KILL9_LEASE_MS: when set, the ingest worker is the production IngestWorker, wired
 * exactly as createIngest wires it, but with that lease length instead of the built-in 60 s (which
 * no configuration reaches yet). A worker killed mid-job leaves its jobs leased until the lease
 * expires; with 60 s, the proof would spend a minute waiting for them. Unset, the server starts
 * exactly as src/main.ts starts it.
 *
 * And DRIPLINE_HELD_START=1 (test/support/child.ts spawnHeldDriplineChild): the modules load,
 * then it waits for a line on stdin before it reads its configuration, opens the store or takes
 * its port, so a test can spawn it ahead of need (a restart's module loading done before the kill).
 *
 * And KILL9_SWEEP_MS: when set, the claim workflow looks for encounters to bill that often instead
 * of every 5 s (DEFAULT_SWEEP_MS; no configuration reaches it either). The claims proof waits for
 * submissions in flight and then for billing to settle: most of that wait was sweep ticks.
 */
import { mayBeCoded } from '../../src/charges/group.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ehrClientCache } from '../../src/ehr/ingest-port.ts';
import { SubscriptionManager } from '../../src/ingest/subscription-manager.ts';
import { IngestWorker } from '../../src/ingest/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import { systemClock } from '../../src/time/clock.ts';
import { announceListening, awaitHeldStart } from '../support/listening.ts';

await awaitHeldStart();
const config = loadConfig();
const logger = createLogger(config.logLevel, process.stderr);
/** A test knob in milliseconds (an integer >= 100), or undefined when unset. */
function knobMs(name: string): number | undefined {
  const value = process.env[name] ? Number(process.env[name]) : undefined;
  if (value !== undefined && (!Number.isInteger(value) || value < 100)) {
    throw new Error(`${name} must be an integer >= 100 (got ${String(value)})`);
  }
  return value;
}
const leaseMs = knobMs('KILL9_LEASE_MS');
const sweepMs = knobMs('KILL9_SWEEP_MS');

const running = await startServer(config, logger, {
  ...(leaseMs === undefined ? {} : { ingest: false }),
  ...(sweepMs === undefined ? {} : { claimWorkflow: { sweepMs } }),
});
let stopWorker = (): Promise<void> => Promise.resolve();
if (leaseMs !== undefined) {
  // What createIngest builds, with the lease length set (and startServer's clock).
  const now = systemClock(config.clockOffsetMs);
  const ehrFor = ehrClientCache({ now });
  const worker = new IngestWorker({
    store: running.store,
    connections: running.ingest.connections,
    ehrFor,
    maintainer: new SubscriptionManager({
      store: running.store,
      directory: running.ingest.directory,
      ehrFor,
      publicUrl: config.publicUrl,
      logger,
      now,
    }),
    publicUrl: config.publicUrl,
    logger,
    leaseMs,
    now,
    // As startServer wires it: changes of an encounter no version of which could be coded start
    // no charge capture.
    mayBeCoded,
  });
  worker.start();
  stopWorker = () => worker.stop();
  // The receiver (mounted by startServer) wakes the built-in worker after each enqueue; forward
  // that to this one, as production would (otherwise it would only poll, every 250 ms when idle).
  running.ingest.worker.notify = () => worker.notify();
  // As Ingest.start(): one maintenance pass per connection now (subscriptions, gaps).
  await running.ingest.maintainNow();
}
announceListening(running.url);

process.once('SIGTERM', () => {
  // The replacement worker first (it finishes the job in hand), then the server closes the store.
  stopWorker()
    .then(() => running.stop())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});
