/**
 * Fills Node's compile cache (NODE_COMPILE_CACHE) with Dripline's server-side modules, once per
 * test run (test/support/global-setup.ts), so that every child the tests start finds them stripped
 * and compiled.
 *
 * Why: Node writes the cache when a process exits, never when it is killed, and the tests end their
 * Dripline and sandbox children with SIGKILL (test/support/child.ts): without this, the modules only
 * a server loads (app, HTTP, workers, sandbox) were type-stripped and compiled again by every server
 * child — about 0.8 of the 2.6 CPU-seconds a start took to listen.
 *
 *   node test/support/warm-compile-cache.ts   (with NODE_COMPILE_CACHE set: it imports, then exits)
 *
 * It imports every module under src except the browser app (src/web/client) and the two entry
 * points that run on import (src/main.ts, src/cli/main.ts); importing a module only defines it.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const SRC = path.resolve(import.meta.dirname, '../../src');
const SKIPPED = new Set(['main.ts', path.join('cli', 'main.ts')]);

/** The server-side modules under src (relative paths), in a stable order. */
export function serverModules(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .filter((file) => !file.startsWith(path.join('web', 'client') + path.sep) && !SKIPPED.has(file))
    .sort();
}

if (import.meta.main) {
  for (const file of serverModules()) {
    await import(pathToFileURL(path.join(SRC, file)).href);
  }
  // Some modules start nothing but keep handles (pools, loggers): end here, which writes the cache.
  process.exit(0);
}
