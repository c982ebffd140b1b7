/** What a person may do in the billers' app (src/web/roles.ts says what each role grants). */
export type AppRole = 'biller' | 'coder' | 'clinician' | 'viewer' | 'admin';
export const APP_ROLES: readonly AppRole[] = ['biller', 'coder', 'clinician', 'viewer', 'admin'];
