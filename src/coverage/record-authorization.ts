/**
 * An authorization a payer gave outside PAS (phone, fax, portal), recorded by a person: the input
 * check and the write, shared by `POST /api/coverage/authorizations` (./ledger-routes.ts) and the
 * billers' app (src/web/api/coverage-actions.ts), so both accept and refuse the same things.
 *
 * The record is the ClaimResponse `authorizationOnFile` builds (./authorizations.ts: `use =
 * preauthorization`, preAuthRef, preAuthPeriod, addItems certified A1), under an id derived from
 * tenant, patient, payer and number: recording the same authorization twice keeps one (200), the
 * same number with other dates or services is a conflict (409; a changed authorization is a new
 * number, or a correction by FHIR update). The write and its AuditEvent (the person as the agent)
 * are one transaction. The claims recheck picks the change up like any other input of a claim.
 */
import { createHash } from 'node:crypto';
import type { ClaimResponse } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import { buildAuditEvent } from '../fhir/audit.ts';
import type { Store, TenantId } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';
import { authorizationOnFile, authorizationsOf } from './authorizations.ts';

export interface AuthorizationInput {
  readonly patient: string;
  /** The tenant's payer (config `payers[].id`). */
  readonly payer: string;
  readonly number: string;
  readonly start: string;
  readonly end: string;
  readonly services: readonly { readonly code: string; readonly units?: number }[];
}

export type AuthorizationInputCheck =
  | { readonly ok: true; readonly input: AuthorizationInput }
  | { readonly ok: false; readonly message: string };

const PATIENT_RE = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
/** Payer authorization numbers: letters, digits and - . / (X12 REF02 is up to 50 characters). */
const NUMBER_RE = /^[A-Za-z0-9][A-Za-z0-9\-./]{0,49}$/;
/** CPT (5 digits, or 4 and a letter) and HCPCS Level II (a letter and 4 digits). */
const CODE_RE = /^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_SERVICES = 20;
const MAX_UNITS = 99_999;

const isDate = (value: unknown): value is string =>
  typeof value === 'string' &&
  DATE_RE.test(value) &&
  new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value;

export const AUTHORIZATION_SHAPE =
  '{ "patient": "Patient/{id}", "payer": "<tenant payer id>", "number": string, "start": "YYYY-MM-DD", "end": "YYYY-MM-DD", "services"?: [{ "code": "CPT/HCPCS", "units"?: positive integer }] }';

/** Checks a request body against the tenant's payers. */
export function readAuthorizationInput(
  body: unknown,
  tenant: Pick<TenantConfig, 'payers'>,
): AuthorizationInputCheck {
  const fail = (message: string): AuthorizationInputCheck => ({ ok: false, message });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(`The body is ${AUTHORIZATION_SHAPE}`);
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter(
    (k) => !['patient', 'payer', 'number', 'start', 'end', 'services'].includes(k),
  );
  if (unknown.length > 0) {
    return fail(`Unknown field(s): ${unknown.join(', ')}; the body is ${AUTHORIZATION_SHAPE}`);
  }
  const { patient, payer, start, end, services } = b;
  const number = typeof b['number'] === 'string' ? b['number'].trim() : undefined;
  if (typeof patient !== 'string' || !PATIENT_RE.test(patient)) {
    return fail('"patient" is Patient/{id}');
  }
  if (typeof payer !== 'string' || !tenant.payers.some((p) => p.id === payer)) {
    return fail(`"payer" is one of the tenant's payers: ${tenant.payers.map((p) => p.id).join(', ')}`);
  }
  if (!number || !NUMBER_RE.test(number)) {
    return fail('"number" is the payer\'s authorization number: 1 to 50 letters, digits, "-", "." or "/"');
  }
  if (!isDate(start) || !isDate(end)) {
    return fail('"start" and "end" are dates (YYYY-MM-DD)');
  }
  if (end < start) {
    return fail('"end" is on or after "start"');
  }
  if (services !== undefined && (!Array.isArray(services) || services.length > MAX_SERVICES)) {
    return fail(`"services" lists at most ${MAX_SERVICES} services`);
  }
  const checked: { code: string; units?: number }[] = [];
  for (const s of (services ?? []) as unknown[]) {
    const service = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    const code = typeof service['code'] === 'string' ? service['code'].trim().toUpperCase() : '';
    const units = service['units'];
    if (!CODE_RE.test(code)) {
      return fail(`"${code || String(service['code'])}" is not a CPT or HCPCS code`);
    }
    if (
      units !== undefined &&
      (typeof units !== 'number' || !Number.isInteger(units) || units < 1 || units > MAX_UNITS)
    ) {
      return fail(`The units of ${code} are a whole number from 1 to ${MAX_UNITS}`);
    }
    if (checked.some((c) => c.code === code)) {
      return fail(`${code} is listed twice`);
    }
    checked.push({ code, ...(typeof units === 'number' ? { units } : {}) });
  }
  return { ok: true, input: { patient, payer, number, start, end, services: checked } };
}

export function recordedAuthorizationId(tenant: TenantId, input: AuthorizationInput): string {
  const key = `${tenant}|${input.patient}|${input.payer}|${input.number}`;
  return `auth-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export interface RecordAuthorizationDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly publicUrl: string;
  readonly now: () => Date;
}

export interface RecordAuthorizationResult {
  readonly status: 200 | 201 | 404 | 409;
  readonly message: string;
  readonly authorization?: string;
}

/** The same authorization (number, dates, services) as the one on file? */
function sameAuthorization(stored: ClaimResponse, wanted: ClaimResponse): boolean {
  const [a] = authorizationsOf([stored]);
  const [b] = authorizationsOf([wanted]);
  return JSON.stringify({ ...a, source: '' }) === JSON.stringify({ ...b, source: '' });
}

export async function recordAuthorization(
  deps: RecordAuthorizationDeps,
  tenant: TenantId,
  input: AuthorizationInput,
  actor: { clientId: string; user?: { reference: string; display?: string }; requestId?: string },
): Promise<RecordAuthorizationResult> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const payer = config?.payers.find((p) => p.id === input.payer);
  if (!config || !payer) {
    return { status: 404, message: `No payer ${input.payer}` };
  }
  const patientId = input.patient.slice('Patient/'.length);
  if (!(await readOptional(deps.store, tenant, 'Patient', patientId))) {
    return { status: 404, message: `${input.patient} not found` };
  }
  const now = deps.now();
  const id = recordedAuthorizationId(tenant, input);
  const resource: ClaimResponse & { id: string } = {
    ...authorizationOnFile({
      patient: input.patient,
      payerId: payer.payerId,
      number: input.number,
      start: input.start,
      end: input.end,
      services: input.services,
      now,
    }),
    id,
    insurer: { identifier: { value: payer.payerId }, display: payer.name },
  };
  const existing = await readOptional<ClaimResponse>(deps.store, tenant, 'ClaimResponse', id);
  if (existing) {
    return sameAuthorization(existing, resource)
      ? {
          status: 200,
          message: `Authorization ${input.number} is already on file`,
          authorization: `ClaimResponse/${id}`,
        }
      : {
          status: 409,
          message: `Authorization ${input.number} of ${payer.name} is on file with other dates or services; correct it there or record the payer's new number`,
          authorization: `ClaimResponse/${id}`,
        };
  }
  const audit = buildAuditEvent({
    id: `audit-${createHash('sha256').update(`${id}|recorded|${now.toISOString()}|${actor.clientId}`).digest('hex').slice(0, 32)}`,
    now,
    interaction: 'create',
    outcome: '0',
    clientId: actor.clientId,
    ...(actor.user ? { user: actor.user } : {}),
    ...(actor.requestId ? { requestId: actor.requestId } : {}),
    resources: [`ClaimResponse/${id}`],
    patients: [input.patient],
    publicUrl: deps.publicUrl,
  });
  await deps.store.resources.writeBatch(tenant, [
    { op: 'create', resource, options: { id } },
    { op: 'create', resource: audit, options: { id: audit.id } },
  ]);
  return {
    status: 201,
    message: `Authorization ${input.number} recorded: ${input.start} to ${input.end}`,
    authorization: `ClaimResponse/${id}`,
  };
}
