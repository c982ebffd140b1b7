/** Chooses the store adapter from configuration: MongoDB when MONGODB_URL is set, else embedded SQLite. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DriplineConfig } from '../config/config.ts';
import type { Store } from './port.ts';
import { openSqliteStore } from './sqlite/index.ts';

export async function openStore(
  config: Pick<DriplineConfig, 'dataDir' | 'mongodbUrl' | 'mongodbDatabase'>,
  /** Progress of a reindex at open (after an upgrade that changed search parameters). */
  onReindexProgress?: (done: number, total: number) => void,
  /** Clock for meta.lastUpdated and job timestamps (default: the system clock). */
  now?: () => Date,
): Promise<Store> {
  const progress = { ...(onReindexProgress ? { onReindexProgress } : {}), ...(now ? { now } : {}) };
  if (config.mongodbUrl) {
    // Imported lazily so the embedded default never loads the driver.
    const { openMongoStore } = await import('./mongo/index.ts');
    return openMongoStore({ url: config.mongodbUrl, dbName: config.mongodbDatabase, ...progress });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return openSqliteStore({ path: path.join(config.dataDir, 'dripline.sqlite'), ...progress });
}
