import { describe, expect, test } from '@jest/globals';
import {
  parseClientCreateArgs,
  parseClientDisableArgs,
  parseClientListArgs,
  parseClientRotateArgs,
  UsageError,
} from '../../src/cli/client-command.ts';

function usageError(argv: string[], parse: (argv: string[]) => unknown = parseClientCreateArgs): UsageError {
  try {
    parse(argv);
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
    expect(err.usage).toMatch(/client rotate-key/);
  });

  test('--help', () => {
    const err = usageError(['--help']);
    expect(err.help).toBe(true);
  });
});

describe('client create --out, list, disable, rotate-key', () => {
  test('--out names the client file', () => {
    expect(parseClientCreateArgs(['--tenant=a', '--scope=system/*.rs', '--out', '/tmp/c.json']).out).toBe(
      '/tmp/c.json',
    );
    expect(usageError(['--tenant=a', '--scope=system/*.rs', '--out', ' ']).message).toMatch(/--out/);
  });

  test('list takes an optional tenant', () => {
    expect(parseClientListArgs([])).toEqual({});
    expect(parseClientListArgs(['--tenant', 'acme'])).toEqual({ tenant: 'acme' });
    expect(usageError(['acme'], parseClientListArgs).message).toMatch(/acme/);
  });

  test('disable and rotate-key take exactly one client_id', () => {
    expect(parseClientDisableArgs(['c-1'])).toEqual({ clientId: 'c-1' });
    expect(parseClientRotateArgs(['c-1', '--alg', 'rs384', '--out', 'k.json'])).toEqual({
      clientId: 'c-1',
      alg: 'RS384',
      out: 'k.json',
    });
    expect(parseClientRotateArgs(['c-1'])).toEqual({ clientId: 'c-1', alg: 'ES384' });
    for (const argv of [[], ['a', 'b'], ['bad id!']]) {
      expect(usageError(argv, parseClientDisableArgs).message).toMatch(/client_id/);
      expect(usageError(argv, parseClientRotateArgs).message).toMatch(/client_id/);
    }
    expect(usageError(['c-1', '--alg', 'HS256'], parseClientRotateArgs).message).toMatch(/--alg/);
  });
});
