/**
 * `npm start`. The compile cache is enabled first and the server loaded after it (./start.ts), by
 * a dynamic import: static imports are all compiled before any module's code runs.
 */
import { enableCompileCacheForProcess } from './compile-cache.ts';

enableCompileCacheForProcess();
await import('./start.ts');
