import { describe, expect, test } from '@jest/globals';
import { parseClientCreateArgs, UsageError } from '../../src/cli/client-command.ts';

function usageError(argv: string[]): UsageError {
  try {
    parseClientCreateArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      return err;
    }
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('parseClientCreateArgs', () => {
  test('all flags', () => {
    expect(
      parseClientCreateArgs([
        '--tenant',
        'acme',
        '--scope',
        'system/Claim.cruds  system/Coverage.rs',
        '--name',
        'Biller',
        '--alg',
        'RS384',
      ]),
    ).toEqual({
      tenant: 'acme',
      scope: 'system/Claim.cruds system/Coverage.rs',
      name: 'Biller',
      alg: 'RS384',
    });
  });

  test('--flag=value form and defaults', () => {
    expect(parseClientCreateArgs(['--tenant=acme', '--scope=system/*.rs'])).toEqual({
      tenant: 'acme',
      scope: 'system/*.rs',
      alg: 'ES384',
    });
    expect(parseClientCreateArgs(['--tenant=acme', '--scope=system/*.rs', '--alg=es384']).alg).toBe('ES384');
  });

  test.each([
    [[], /--tenant/],
    [['--scope', 'system/Claim.rs'], /--tenant/],
    [['--tenant', 'acme'], /--scope/],
    [['--tenant', 'acme', '--scope', ''], /--scope/],
    [['--tenant', 'acme', '--scope', 'patient/Claim.rs'], /system\//],
    [['--tenant', 'acme', '--scope', 'system/Claim.sr'], /permissions/],
    [['--tenant', 'acme', '--scope', 'system/Claim.rs', '--alg', 'RS256'], /--alg must be ES384 or RS384/],
    [['--tenant', 'acme', '--scope', 'system/Claim.rs', '--bogus'], /bogus/],
    [['--tenant', 'acme', '--scope', 'system/Claim.rs', 'extra'], /extra/],
    [['--tenant'], /tenant/],
  ])('usage error for %p', (argv, message) => {
    const err = usageError(argv);
    expect(err.message).toMatch(message);
    expect(err.help).toBe(false);
    expect(err.usage).toMatch(/^Usage: dripline client create/);
  });

  test('--help', () => {
    const err = usageError(['--help']);
    expect(err.help).toBe(true);
  });
});
