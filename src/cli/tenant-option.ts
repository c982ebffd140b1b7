/**
 * `--tenant <id>` of the commands that work on one tenant's data: the tenant named, or the only
 * one configured. A missing or unknown name is a usage error listing the configured tenants.
 */
import type { DriplineConfig, TenantConfig } from '../config/config.ts';
import { UsageError } from './client-command.ts';

export function chosenTenant(config: DriplineConfig, named: string | undefined): TenantConfig {
  const configured = config.tenants.map((t) => t.id).join(', ') || '(none)';
  if (named === undefined) {
    const [only, ...others] = config.tenants;
    if (!only || others.length > 0) {
      throw new UsageError(`--tenant is needed: several tenants are configured (${configured})`);
    }
    return only;
  }
  const tenant = config.tenants.find((t) => t.id === named);
  if (!tenant) {
    throw new UsageError(`unknown tenant "${named}"; configured tenants: ${configured}`);
  }
  return tenant;
}
