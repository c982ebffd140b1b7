/**
 * A stand-in for src/store/sqlite/audit-thread.ts that says it is ready and never files anything:
 * appends then stay in the audit journal, as they do when a process dies before its thread files
 * them (sqlite-audit-log.test.ts). Loaded by `new Worker(url)`: plain Node, Node's modules only.
 */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (message: unknown) => {
  if (message === 'stop') {
    parentPort?.close();
  }
});
parentPort?.postMessage({ ready: true });
