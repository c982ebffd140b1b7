/**
 * Who may do what in the billers' app, and how a person gets a role: the tenant's `ehrLaunch`
 * config names people (`roles`, by `fhirUser`) or the EHR's PractitionerRole codes (`roleCodes`).
 * Pure: the PractitionerRoles are read by the launch and handed in.
 */
import type { PractitionerRole } from '@medplum/fhirtypes';
import type { AppRole, EhrLaunchConfig } from '../config/config.ts';

export type Permission =
  /** The worklist, claims, queues, analytics (everything but the audit trail). */
  | 'read'
  /** The encounter in context (charges, documentation issues, its claim). */
  | 'read-encounter'
  | 'override'
  | 'resubmit'
  | 'assign'
  | 'record-authorization'
  /** Ask the payers about a patient's coverage again (eligibility). */
  | 'request-coverage'
  /** Open an appeal of a denial or underpayment and download its packet. */
  | 'appeal'
  /** A patient's audit trail. */
  | 'audit';

export const ROLE_PERMISSIONS: Readonly<Record<AppRole, readonly Permission[]>> = {
  viewer: ['read', 'read-encounter'],
  clinician: ['read-encounter'],
  coder: ['read', 'read-encounter', 'override'],
  biller: [
    'read',
    'read-encounter',
    'override',
    'resubmit',
    'assign',
    'record-authorization',
    'request-coverage',
    'appeal',
  ],
  admin: [
    'read',
    'read-encounter',
    'override',
    'resubmit',
    'assign',
    'record-authorization',
    'request-coverage',
    'appeal',
    'audit',
  ],
};

/** When several PractitionerRoles map to roles, the one granting most wins (this order). */
const PRECEDENCE: readonly AppRole[] = ['admin', 'biller', 'coder', 'clinician', 'viewer'];

export function can(role: AppRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * A `fhirUser` in one form: relative ("Practitioner/123") when it lies under the EHR's FHIR base
 * (`iss`), else the absolute URL as given. EHRs send either; config may name either.
 */
export function normalizeFhirUser(fhirUser: string, iss: string): string | undefined {
  const value = fhirUser.trim();
  const relative = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
  if (relative.test(value)) {
    return value;
  }
  const base = iss.replace(/\/+$/, '') + '/';
  if (value.startsWith(base) && relative.test(value.slice(base.length))) {
    return value.slice(base.length);
  }
  return /^https?:\/\/\S+\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(value) ? value : undefined;
}

/** The role config gives a person by name, if any. */
export function roleByConfig(launch: EhrLaunchConfig, fhirUser: string): AppRole | undefined {
  for (const [who, role] of Object.entries(launch.roles ?? {})) {
    if (normalizeFhirUser(who, launch.iss) === fhirUser) {
      return role;
    }
  }
  return undefined;
}

/** The role the person's PractitionerRole codes map to (the most granting one), if any. */
export function roleByPractitionerRoles(
  launch: EhrLaunchConfig,
  roles: readonly PractitionerRole[],
): AppRole | undefined {
  const found = new Set<AppRole>();
  for (const role of roles) {
    if (role.active === false) {
      continue;
    }
    for (const coding of (role.code ?? []).flatMap((c) => c.coding ?? [])) {
      const mapped = launch.roleCodes?.[`${coding.system ?? ''}|${coding.code ?? ''}`];
      if (mapped) {
        found.add(mapped);
      }
    }
  }
  return PRECEDENCE.find((r) => found.has(r));
}
