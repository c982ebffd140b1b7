/**
 * The sandbox EHR's office staff (fictional): people who sign in to launch the billing app, each
 * with a PractitionerRole whose code says what they do there. Nurses get a role too; physicians
 * have none, so signing in as one shows what a person without a role sees.
 */
import type { Practitioner, PractitionerRole } from '@medplum/fhirtypes';

/** The sandbox EHR's own code system for staff roles (Dripline maps these codes in its config). */
export const STAFF_ROLE_SYSTEM = 'https://sandbox.dripline.dev/ehr/CodeSystem/staff-role';

const STAFF: readonly { id: string; given: string; family: string; role: string; display: string }[] = [
  { id: 'staff-biller', given: 'Avery', family: 'Okafor', role: 'biller', display: 'Billing specialist' },
  { id: 'staff-coder', given: 'Jordan', family: 'Reyes', role: 'coder', display: 'Certified coder' },
  { id: 'staff-admin', given: 'Sam', family: 'Whitfield', role: 'admin', display: 'Revenue cycle manager' },
  { id: 'staff-viewer', given: 'Riley', family: 'Chen', role: 'viewer', display: 'Front desk' },
];

export function staffResources(nurseIds: readonly string[]): (Practitioner | PractitionerRole)[] {
  const people: Practitioner[] = STAFF.map((s) => ({
    resourceType: 'Practitioner',
    id: s.id,
    active: true,
    name: [{ family: s.family, given: [s.given] }],
  }));
  const roles: PractitionerRole[] = [
    ...STAFF.map((s) => ({ id: s.id, role: s.role, display: s.display })),
    ...nurseIds.map((id) => ({ id, role: 'nurse', display: 'Infusion nurse' })),
  ].map((s) => ({
    resourceType: 'PractitionerRole',
    id: `role-${s.id}`,
    active: true,
    practitioner: { reference: `Practitioner/${s.id}` },
    code: [{ coding: [{ system: STAFF_ROLE_SYSTEM, code: s.role, display: s.display }] }],
  }));
  return [...people, ...roles];
}
