/**
 * The whole FHIR contract: every contract file, so CANONICALS lists every URL Dripline defines.
 * Code may import a single contract file; whatever lists or checks all URLs imports this one.
 */
import { registry, type Canonical } from './registry.ts';

export * from './canonical.ts';
export * from './authorization.ts';
export * from './pas.ts';
export * from './eligibility.ts';
export * from './remittance.ts';
export * from './recovery.ts';
export * from './appeals.ts';
export * from './analytics.ts';

/** Every canonical URL Dripline defines, with its kind and meaning. */
export const CANONICALS: readonly Canonical[] = registry;
