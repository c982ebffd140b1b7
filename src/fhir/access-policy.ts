/**
 * The repository's access policy for one authenticated client: its tenant, its client id (the
 * AuditEvents' agent) and its scopes, checked for every interaction with what the interaction
 * discloses (src/auth/disclosure.ts). Shared by the FHIR routes (./routes.ts) and the lean read
 * (./lean-read.ts), so both refuse the same requests the same way.
 */
import type { AuthContext, InsufficientScopeError } from '../auth/bearer.ts';
import { interactionNeeds, requireScopes } from '../auth/disclosure.ts';
import type { AccessPolicy } from './repository.ts';

/**
 * fhir-router turns what the repository throws into a bare OperationOutcome; the policy keeps the
 * scope error itself (`denied`) so a route can answer with its challenge
 * (`WWW-Authenticate ... insufficient_scope, scope=...`).
 */
export function accessPolicy(auth: AuthContext): AccessPolicy & { denied?: InsufficientScopeError } {
  const policy: AccessPolicy & { denied?: InsufficientScopeError } = {
    tenant: auth.tenant,
    clientId: auth.clientId,
    assert: (resourceType, interaction) => {
      try {
        requireScopes(auth, interactionNeeds(resourceType, interaction));
      } catch (err) {
        policy.denied ??= err as InsufficientScopeError;
        throw err;
      }
    },
  };
  return policy;
}
