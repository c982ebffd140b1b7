/**
 * bench:ingest's Dripline processes, as README "Running several processes" lays them out on one
 * host: configuration from the environment and DRIPLINE_CONFIG, the embedded store in DATA_DIR
 * shared by both processes.
 *
 *   node scripts/bench/ingest-node.ts receiver   # WORKERS=none: authenticates, enqueues, acks
 *   node scripts/bench/ingest-node.ts worker     # the ingest worker (fetch-back, copies) only
 *   node scripts/bench/ingest-node.ts capture    # charge capture only (the charge-capture phase)
 *
 * The worker runs without the subscription scheduler: maintenance would subscribe at the EHR and
 * replace the secrets the bench seeded (the bench posts the notifications itself). Prints
 * `LISTENING <url>` once it listens; stops gracefully on SIGTERM (so `--cpu-prof` is written).
 */
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';

const role = process.argv[2];
if (role !== 'receiver' && role !== 'worker' && role !== 'capture') {
  throw new Error('usage: ingest-node.ts receiver|worker|capture');
}
const config = loadConfig();
const running = await startServer(config, createLogger(config.logLevel, process.stderr), {
  ingest: false,
  chargeCapture: role === 'capture',
});
if (role === 'worker') {
  running.ingest.worker.start();
}
process.stdout.write(`LISTENING ${running.url}\n`);
// bench:ingest asks for this process's CPU time over the IPC channel (all threads, µs).
process.on('message', (message) => {
  if (message === 'cpu') {
    process.send?.({ cpu: process.cpuUsage() });
  }
});
process.once('SIGTERM', () => {
  running.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
