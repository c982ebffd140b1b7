/**
 * `npm run cli -- prior-auth <order> [--tenant <id>] [--cancel] [--wait <seconds>]`: asks for the
 * prior authorization of an order now (or cancels it), as `POST /api/prior-auth` does — the job goes
 * on the durable queue of the store Dripline runs on, and the running server's prior authorization
 * worker takes it. With `--wait`, prints where the order's requests stand once the payer has
 * answered (or the time is up). The read is audited (client `cli`).
 */
import { parseArgs } from 'node:util';
import type { DriplineConfig } from '../config/config.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import { enqueueOrder } from '../coverage/pas/jobs.ts';
import {} from '../coverage/pas/records.ts';
import { statusOf } from '../coverage/pas/routes.ts';
import type { Store } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';

export class PriorAuthUsageError extends Error {
  override readonly name = 'PriorAuthUsageError';
}

export async function runPriorAuth(
  config: DriplineConfig,
  store: Store,
  argv: readonly string[],
  now: () => Date = () => new Date(),
): Promise<Record<string, unknown>> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { tenant: { type: 'string' }, cancel: { type: 'boolean' }, wait: { type: 'string' } },
  });
  const reference = positionals[0];
  const order = reference?.replace(/^MedicationRequest\//, '');
  if (!order || positionals.length > 1 || !/^[A-Za-z0-9\-.]{1,64}$/.test(order)) {
    throw new PriorAuthUsageError('prior-auth needs one order: MedicationRequest/<id> (or <id>)');
  }
  const tenant = values.tenant ?? (config.tenants.length === 1 ? config.tenants[0]?.id : undefined);
  if (!tenant || !config.tenants.some((t) => t.id === tenant)) {
    throw new PriorAuthUsageError(`name the tenant: --tenant <${config.tenants.map((t) => t.id).join('|')}>`);
  }
  if (!(await readOptional(store, tenant, 'MedicationRequest', order))) {
    throw new PriorAuthUsageError(`MedicationRequest/${order} is not on file for tenant ${tenant}`);
  }
  const waitSeconds = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 600) {
    throw new PriorAuthUsageError('--wait takes seconds (0 to 600)');
  }
  const queued = await enqueueOrder(store, tenant, order, {
    ...(values.cancel ? { cancel: true } : {}),
    reason: 'asked from the command line',
    at: now(),
  });
  const deadline = Date.now() + waitSeconds * 1000;
  let cases = await statusOf(store, tenant, order);
  while (Date.now() < deadline && !cases.some((c) => c['status'] !== undefined && c['status'] !== 'pended')) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    cases = await statusOf(store, tenant, order);
  }
  await recordAccess(
    store,
    tenant,
    {
      clientId: 'cli',
      interaction: 'search-type',
      resources: cases.map((c) => `Claim/${String(c['case'])}-1`),
      patients: [],
      query: `cli prior-auth MedicationRequest/${order}`,
    },
    { publicUrl: config.publicUrl, now: now() },
  );
  return {
    order: `MedicationRequest/${order}`,
    tenant,
    queued: queued.created,
    ...(values.cancel ? { cancel: true } : {}),
    cases,
  };
}
