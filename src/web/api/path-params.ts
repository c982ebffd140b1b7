/**
 * The app API's path parameters, checked once: a route's `:id` must be a FHIR id (else 400), and a
 * patient route's patient must exist in the caller's tenant (else 404). Each answers the request
 * itself and gives undefined, so a route reads `const id = pathId(req, res); if (!id) return;`.
 */
import type { Request, Response } from 'express';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { ID_RE, readOrUndefined } from './lookup.ts';

/** The route's `:id` when it is a FHIR id; otherwise answers 400 ("Invalid <what>"). */
export function pathId(req: Request, res: Response, what = 'id'): string | undefined {
  const id = req.params['id'];
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    sendOutcome(res, 400, outcome('invalid', `Invalid ${what}`));
    return undefined;
  }
  return id;
}

/**
 * The patient of a `/patients/:id/...` route, its id and reference (`Patient/<id>`), when the id
 * is valid and the patient is the tenant's; otherwise answers 400 or 404.
 */
export async function existingPatient(
  req: Request,
  res: Response,
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
): Promise<{ readonly id: string; readonly reference: string } | undefined> {
  const id = pathId(req, res);
  if (id === undefined) {
    return undefined;
  }
  const patient = `Patient/${id}`;
  if (!(await readOrUndefined(store, tenant, 'Patient', id))) {
    sendOutcome(res, 404, outcome('not-found', `${patient} not found`));
    return undefined;
  }
  return { id, reference: patient };
}
