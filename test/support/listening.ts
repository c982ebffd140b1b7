/**
 * How a Dripline child of the tests says it is ready: `LISTENING <url>` on stdout, once Node's
 * compile cache holds what the child compiled so far.
 *
 * Node writes NODE_COMPILE_CACHE only when a process exits normally, and the kill -9 proofs end
 * their children with SIGKILL: without the flush, every server child type-stripped and compiled
 * the server's modules afresh (~1 CPU-s of its ~2 to start), the restarted child of a proof
 * included. Flushed before the line, so a child killed at any time after it leaves the cache
 * behind for the next start. A no-op when the process runs without a compile cache.
 */
import { flushCompileCache } from 'node:module';

export function announceListening(url: string): void {
  flushCompileCache();
  process.stdout.write(`LISTENING ${url}\n`);
}

/**
 * Under DRIPLINE_HELD_START=1 (test/support/child.ts spawnHeldDriplineChild), waits for a line on
 * stdin: called once the child's modules are loaded, before it reads its configuration, opens its
 * store or takes its port. Exits when stdin closes first (the test process went away). A no-op
 * otherwise.
 */
export async function awaitHeldStart(): Promise<void> {
  if (process.env['DRIPLINE_HELD_START'] !== '1') {
    return;
  }
  await new Promise<void>((resolve) => {
    const gone = (): never => process.exit(1);
    process.stdin.once('end', gone);
    process.stdin.once('data', () => {
      process.stdin.off('end', gone);
      process.stdin.destroy();
      resolve();
    });
  });
}
