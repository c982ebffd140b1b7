/**
 * Node's on-disk compile cache (https://nodejs.org/api/module.html#module-compile-cache) for this
 * process and every thread and child it starts. Dripline runs its TypeScript sources directly, so
 * each process and each worker thread (charge capture's planning thread, the audit and checkpoint
 * threads) strips and compiles its modules when it starts; with the cache it reuses the code
 * compiled before. The planning thread, which a busy capture process starts mid-load, was ready in
 * ~160 ms instead of ~260 (~200 ms of CPU instead of ~340). Threads and children read the directory
 * from NODE_COMPILE_CACHE in the environment they inherit, so it is set here for them.
 *
 * The directory: NODE_COMPILE_CACHE when the operator set one, else under the project's own
 * node_modules/.cache — written by whoever installed the project, not a world-writable temp
 * directory, since Node runs what it finds there. Node checks each entry against its module's
 * source, so an edited file is compiled afresh; a directory that cannot be written leaves the
 * cache off and changes nothing else.
 */
import { constants, enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The directory used when NODE_COMPILE_CACHE is not set. */
export function defaultCompileCacheDirectory(): string {
  return fileURLToPath(new URL('../node_modules/.cache/dripline-node-compile', import.meta.url));
}

/** Enables the cache for modules loaded from now on, here and in the threads and children started after. */
export function enableCompileCacheForProcess(
  directory: string = process.env['NODE_COMPILE_CACHE'] ?? defaultCompileCacheDirectory(),
): string | undefined {
  const result = enableCompileCache(directory);
  if (
    result.status !== constants.compileCacheStatus.ENABLED &&
    result.status !== constants.compileCacheStatus.ALREADY_ENABLED
  ) {
    return undefined;
  }
  const enabled = result.directory ?? directory;
  process.env['NODE_COMPILE_CACHE'] = enabled;
  return enabled;
}
