/**
 * Stable line keys: a hash of what identifies a charge — encounter, code, modifiers, the sorted
 * administration ids, date of service and kind — never array positions. The same inputs give the
 * same keys, and correcting one administration only changes the keys of lines it is part of.
 */
import { hash } from 'node:crypto';
import type { ChargeLine } from '../types.ts';

export function lineKey(
  line: Pick<
    ChargeLine,
    'encounterId' | 'code' | 'modifiers' | 'administrationIds' | 'dateOfService' | 'kind'
  >,
): string {
  const material = JSON.stringify([
    line.encounterId,
    line.code.system,
    line.code.code,
    [...line.modifiers].sort(),
    [...line.administrationIds].sort(),
    line.dateOfService,
    line.kind,
  ]);
  // One-shot hash: the same digest as createHash().update().digest() without a Hash object per line.
  return hash('sha256', material, 'hex').slice(0, 32);
}
