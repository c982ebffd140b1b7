import { describe, expect, test } from '@jest/globals';
import type { ParsedScope } from '../../src/auth/scopes.ts';
import {
  formatScope,
  isAllowed,
  narrowScopes,
  parseGrantedScopes,
  parseScope,
  requiredScopeFor,
  toScopeInteraction,
  validateRegisteredScopes,
} from '../../src/auth/scopes.ts';

function parsed(raw: string): ParsedScope {
  const r = parseScope(raw);
  if (!r.ok) {
    throw new Error(`expected ${raw} to parse: ${r.message}`);
  }
  return r.scope;
}

function narrow(requested: string, registered: string): string {
  const r = narrowScopes(requested, registered);
  if (!r.ok) {
    throw new Error(`expected a grant, got: ${r.message}`);
  }
  return r.scope;
}

describe('parseScope', () => {
  test.each([
    ['system/Claim.rs', 'system', 'Claim', ['read', 'search'], 2],
    ['system/Claim.c', 'system', 'Claim', ['create'], 2],
    ['system/*.cruds', 'system', '*', ['create', 'read', 'update', 'delete', 'search'], 2],
    ['system/Coverage.cud', 'system', 'Coverage', ['create', 'update', 'delete'], 2],
    ['system/Claim.ds', 'system', 'Claim', ['delete', 'search'], 2],
    ['patient/Observation.rs', 'patient', 'Observation', ['read', 'search'], 2],
    ['user/Patient.r', 'user', 'Patient', ['read'], 2],
  ])('v2 %s', (raw, context, type, interactions, version) => {
    expect(parsed(raw)).toEqual({ context, resourceType: type, interactions, raw, version });
  });

  test.each([
    ['system/Claim.read', ['read', 'search']],
    ['system/Claim.write', ['create', 'update', 'delete']],
    ['system/Claim.*', ['create', 'read', 'update', 'delete', 'search']],
    ['system/*.*', ['create', 'read', 'update', 'delete', 'search']],
    ['system/*.read', ['read', 'search']],
  ])('v1 %s maps to v2 permissions', (raw, interactions) => {
    const s = parsed(raw);
    expect(s.interactions).toEqual(interactions);
    expect(s.version).toBe(1);
  });

  test.each([
    'system/Claim.sr', // out of order
    'system/Claim.rr', // duplicate
    'system/Claim.', // empty permissions
    'system/Claim.x',
    'system/Claim.crudsx',
    'system/Claim.READ',
    'system/Claim.r.s',
    'system/claim.rs', // resource types start upper-case
    'system/.rs',
    'system/Cla-im.rs',
    'system/Claim.toString',
    'system/Claim.constructor',
  ])('rejects malformed %s', (raw) => {
    const r = parseScope(raw);
    expect(r.ok).toBe(false);
    expect(r.ok ? undefined : r.reason).toBe('invalid');
  });

  test.each([
    'openid',
    'fhirUser',
    'launch',
    'launch/patient',
    'offline_access',
    'online_access',
    'system/Claim',
    'admin/Claim.rs',
    '',
  ])('not a resource scope: %s', (raw) => {
    const r = parseScope(raw);
    expect(r.ok ? undefined : r.reason).toBe('not-resource-scope');
  });

  test('query-parameter scopes are recognized and not parsed as resource-level', () => {
    const r = parseScope('system/Observation.rs?category=laboratory');
    expect(r.ok).toBe(false);
    expect(r.ok ? undefined : r.reason).toBe('query-parameter');
    // a malformed one is just invalid
    expect(parseScope('system/Observation.sr?category=x').ok).toBe(false);
  });
});

describe('isAllowed', () => {
  const granted = parseGrantedScopes('system/Claim.rs system/Coverage.c system/Patient.read');

  test.each([
    ['Claim', 'read', true],
    ['Claim', 'search', true],
    ['Claim', 'create', false],
    ['Claim', 'update', false],
    ['Claim', 'delete', false],
    ['Coverage', 'create', true],
    ['Coverage', 'read', false],
    ['Patient', 'read', true],
    ['Patient', 'search', true],
    ['Patient', 'update', false],
    ['Organization', 'read', false],
  ] as const)('%s %s → %s', (type, interaction, expected) => {
    expect(isAllowed(granted, type, interaction)).toBe(expected);
  });

  test('wildcard type', () => {
    const all = parseGrantedScopes('system/*.rs');
    expect(isAllowed(all, 'Claim', 'read')).toBe(true);
    expect(isAllowed(all, 'Anything', 'search')).toBe(true);
    expect(isAllowed(all, 'Claim', 'create')).toBe(false);
    expect(isAllowed(parseGrantedScopes('system/*.*'), 'Claim', 'delete')).toBe(true);
  });

  test('only system/ scopes count', () => {
    expect(isAllowed(parseGrantedScopes('patient/Claim.cruds user/*.cruds'), 'Claim', 'read')).toBe(false);
  });

  test('nothing granted', () => {
    expect(isAllowed([], 'Claim', 'read')).toBe(false);
    expect(isAllowed(parseGrantedScopes('openid system/Claim.rs?status=active'), 'Claim', 'read')).toBe(
      false,
    );
  });

  test('vread/history count as read, patch as update', () => {
    expect(toScopeInteraction('vread')).toBe('read');
    expect(toScopeInteraction('history-instance')).toBe('read');
    expect(toScopeInteraction('history-type')).toBe('read');
    expect(toScopeInteraction('history')).toBe('read');
    expect(toScopeInteraction('patch')).toBe('update');
    expect(toScopeInteraction('search-type')).toBe('search');
    expect(toScopeInteraction('delete')).toBe('delete');
  });

  test('requiredScopeFor / formatScope', () => {
    expect(requiredScopeFor('Claim', 'read')).toBe('system/Claim.r');
    expect(requiredScopeFor('Coverage', 'search')).toBe('system/Coverage.s');
    expect(formatScope('system', '*', ['search', 'create', 'read'])).toBe('system/*.crs');
  });
});

describe('narrowScopes', () => {
  test('exact match is granted as written', () => {
    expect(narrow('system/Claim.rs', 'system/Claim.rs')).toBe('system/Claim.rs');
  });

  test('subset of a registered scope', () => {
    expect(narrow('system/Claim.r', 'system/Claim.cruds')).toBe('system/Claim.r');
  });

  test('registered wildcard covers a concrete type', () => {
    expect(narrow('system/Claim.r', 'system/*.rs')).toBe('system/Claim.r');
    expect(narrow('system/Claim.rs system/Coverage.s', 'system/*.rs')).toBe(
      'system/Claim.rs system/Coverage.s',
    );
  });

  test('requested permissions are intersected', () => {
    expect(narrow('system/Claim.cruds', 'system/Claim.rs')).toBe('system/Claim.rs');
    expect(narrow('system/Claim.cruds', 'system/*.r system/Claim.c')).toBe('system/Claim.cr');
  });

  test('union of several registered scopes covers a requested one fully', () => {
    expect(narrow('system/Claim.rs', 'system/Claim.r system/Claim.s')).toBe('system/Claim.rs');
  });

  test('a wildcard request is narrowed to the registered concrete types', () => {
    expect(narrow('system/*.rs', 'system/Claim.r system/Coverage.rs')).toBe(
      'system/Claim.r system/Coverage.rs',
    );
    expect(narrow('system/*.cruds', 'system/*.rs system/Claim.c')).toBe('system/*.rs system/Claim.c');
    expect(narrow('system/*.rs', 'system/*.cruds')).toBe('system/*.rs');
  });

  test('v1 request: kept as written when fully granted, narrowed to v2 otherwise', () => {
    expect(narrow('system/Claim.read', 'system/Claim.rs')).toBe('system/Claim.read');
    expect(narrow('system/Claim.read', 'system/*.*')).toBe('system/Claim.read');
    expect(narrow('system/Claim.*', 'system/Claim.read')).toBe('system/Claim.rs');
    expect(narrow('system/Claim.write', 'system/Claim.cruds')).toBe('system/Claim.write');
    expect(narrow('system/Claim.rs', 'system/Claim.read')).toBe('system/Claim.rs');
  });

  test('unregistered scopes are dropped, the rest granted', () => {
    const r = narrowScopes('system/Claim.rs system/Patient.rs', 'system/Claim.cruds');
    expect(r).toMatchObject({ ok: true, scope: 'system/Claim.rs', dropped: ['system/Patient.rs'] });
  });

  test('query-parameter scopes are dropped, never widened', () => {
    const r = narrowScopes('system/Observation.rs?category=laboratory system/Claim.r', 'system/*.cruds');
    expect(r).toMatchObject({
      ok: true,
      scope: 'system/Claim.r',
      dropped: ['system/Observation.rs?category=laboratory'],
    });
    expect(narrowScopes('system/Observation.rs?category=laboratory', 'system/*.cruds').ok).toBe(false);
  });

  test('registered query-parameter scopes cover nothing', () => {
    expect(narrowScopes('system/Observation.rs', 'system/Observation.rs?category=laboratory').ok).toBe(false);
  });

  test('duplicates are collapsed', () => {
    expect(narrow('system/Claim.rs  system/Claim.rs', 'system/Claim.rs')).toBe('system/Claim.rs');
  });

  test('granted ParsedScopes are returned', () => {
    const r = narrowScopes('system/Claim.cruds', 'system/Claim.rs');
    expect(r.ok && r.granted).toEqual([parsed('system/Claim.rs')]);
  });

  test.each([
    ['', 'empty request'],
    ['   ', 'blank request'],
    ['system/Patient.rs', 'nothing registered matches'],
    ['system/Claim.c', 'no permission overlap'],
    ['patient/Claim.rs', 'patient context'],
    ['user/Claim.rs', 'user context'],
    ['system/Claim.rs patient/Claim.rs', 'one patient scope spoils the request'],
    ['openid system/Claim.rs', 'non-resource scope'],
    ['offline_access', 'refresh tokens'],
    ['system/Claim.sr', 'malformed'],
  ])('rejects %p (%s)', (requested) => {
    expect(narrowScopes(requested, 'system/Claim.rs').ok).toBe(false);
  });
});

describe('validateRegisteredScopes', () => {
  test('accepts v1 and v2 system scopes and normalizes spacing', () => {
    expect(
      validateRegisteredScopes('  system/Claim.cruds   system/Coverage.read system/Claim.cruds '),
    ).toMatchObject({
      ok: true,
      scope: 'system/Claim.cruds system/Coverage.read',
    });
  });

  test.each(['', 'patient/Claim.rs', 'system/Claim.rs?status=active', 'openid', 'system/Claim.sr'])(
    'rejects %p',
    (s) => {
      expect(validateRegisteredScopes(s).ok).toBe(false);
    },
  );
});
