/**
 * Remittance as the server runs it: the intake (files kept under `{dataDir}/remittance`), the
 * posting worker it wakes, the per-tenant inbox watcher (`{dataDir}/remittance/{tenant}/inbox/`,
 * ./inbox.ts) and the HTTP routes (./routes.ts) for the server to mount at `/api/remittance`.
 */
import path from 'node:path';
import type { Router } from 'express';
import type { TokenService } from '../auth/token-service.ts';
import type { TenantConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/port.ts';
import { RemittanceInbox } from './inbox.ts';
import type { IntakeDeps } from './intake.ts';
import { createRemittanceRoutes } from './routes.ts';
import { RemittanceWorker } from './worker.ts';
import type { ClaimPaymentPostedHook } from './posted.ts';
import type { PaymentEvaluator } from './post-claim-payment.ts';

/**
 * The largest 835 accepted (bytes). A 100,000-claim remittance is about 60 MB; 1 GiB leaves room
 * for the largest payer files while refusing a runaway upload before it fills the disk.
 */
export const MAX_REMITTANCE_BYTES = 1024 * 1024 * 1024;

export interface RemittanceWiringDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly leaseMs: number;
  readonly now: () => Date;
  readonly maxBytes?: number;
  /** What runs for each posted claim payment, in its posting transaction (denial and underpayment work). */
  readonly hooks?: readonly ClaimPaymentPostedHook[];
  /** The payment against the tenant's contracts, recorded on each EOB line (expected vs paid). */
  readonly evaluate?: PaymentEvaluator;
}

export interface Remittance {
  readonly intake: IntakeDeps;
  readonly worker: RemittanceWorker;
  readonly inbox: RemittanceInbox;
  readonly router: Router;
}

export function createRemittance(deps: RemittanceWiringDeps): Remittance {
  const remittanceDir = path.join(deps.dataDir, 'remittance');
  const worker = new RemittanceWorker({
    store: deps.store,
    publicUrl: deps.publicUrl,
    now: deps.now,
    logger: deps.logger.child({ component: 'remittance' }),
    remittanceDir,
    tenants: deps.tenants,
    leaseMs: deps.leaseMs,
    ...(deps.hooks ? { hooks: deps.hooks } : {}),
    ...(deps.evaluate ? { evaluate: deps.evaluate } : {}),
  });
  const intake: IntakeDeps = {
    store: deps.store,
    remittanceDir,
    tenants: deps.tenants,
    now: deps.now,
    maxBytes: deps.maxBytes ?? MAX_REMITTANCE_BYTES,
    notify: () => worker.notify(),
  };
  const router = createRemittanceRoutes({
    intake,
    // A manually matched payment is posted as the worker posts (the same hooks and contracts).
    matching: {
      store: deps.store,
      publicUrl: deps.publicUrl,
      now: deps.now,
      logger: deps.logger.child({ component: 'remittance-match' }),
      tenants: deps.tenants,
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
      ...(deps.evaluate ? { evaluate: deps.evaluate } : {}),
    },
    tokenService: deps.tokenService,
    now: deps.now,
  });
  const inbox = new RemittanceInbox({
    intake,
    tenants: deps.tenants,
    logger: deps.logger.child({ component: 'remittance-inbox' }),
  });
  return { intake, worker, inbox, router };
}
