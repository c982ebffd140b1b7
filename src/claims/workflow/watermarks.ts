/**
 * Change reads from a watermark, shared by the sweep and the held-claim recheck: each reads what
 * the store stamped since the last one, starting a little earlier (a write stamped just before may
 * commit just after), and moves its watermark to the latest stamp it read. Watermarks are the
 * store's own meta.lastUpdated stamps (its clock, not ours).
 */
import type { StoredResource } from '../../store/port.ts';

/** Changes are re-read from this long before the last sweep: a write stamped just before it may commit after it. */
export const SCAN_OVERLAP_MS = 60_000;

/** The latest meta.lastUpdated among what was read. */
export function latestOf(...lists: readonly (readonly StoredResource[])[]): string | undefined {
  let latest: string | undefined;
  for (const list of lists) {
    for (const r of list) {
      if (latest === undefined || Date.parse(r.meta.lastUpdated) > Date.parse(latest)) {
        latest = r.meta.lastUpdated;
      }
    }
  }
  return latest;
}
