// Pure parts of the MongoDB adapter: StoreQuery → filter/sort translation and the document
// layout of indexed resources. Exact objects, no server needed.
import { describe, expect, test } from '@jest/globals';
import { OperationOutcomeError } from '@medplum/core';
import {
  MATCH_NOTHING,
  assertPaging,
  dateEntryCondition,
  escapeRegex,
  filterCondition,
  lastUpdatedCondition,
  toMongoFilter,
  toMongoSort,
  toSearchFields,
} from '../../src/store/mongo/query.ts';
import { clientOptions, supportsTransactions, uriHasOption } from '../../src/store/mongo/connection.ts';
import type { StoreFilter, StoreQuery } from '../../src/store/port.ts';

const upper = (s: string) => `N(${s})`;

function query(partial: Partial<StoreQuery>): StoreQuery {
  return { resourceType: 'Claim', filters: [], sort: [], count: 20, offset: 0, total: false, ...partial };
}

describe('toSearchFields', () => {
  test('lays out entries, sort keys and identifiers', () => {
    expect(
      toSearchFields(
        {
          entries: [
            { code: 'status', kind: 'token', value: 'active' },
            { code: 'identifier', kind: 'token', system: 'urn:sys', value: 'A1' },
            { code: 'patient', kind: 'reference', value: 'Patient/p1' },
            {
              code: 'created',
              kind: 'date',
              start: '2026-01-01T00:00:00.000Z',
              end: '2026-01-02T00:00:00.000Z',
            },
            { code: 'name', kind: 'string', value: 'jose' },
          ],
          sortKeys: { created: '2026-01-01T00:00:00.000Z', 'bad.code': 'x', $where: 'y' },
          identifiers: [{ system: 'urn:sys', value: 'A1' }, { value: 'B2' }],
        },
        upper,
      ),
    ).toEqual({
      tok: [
        { c: 'status', s: '', v: 'active' },
        { c: 'identifier', s: 'urn:sys', v: 'A1' },
      ],
      ref: [{ c: 'patient', v: 'Patient/p1' }],
      date: [{ c: 'created', s: '2026-01-01T00:00:00.000Z', e: '2026-01-02T00:00:00.000Z' }],
      str: [{ c: 'name', v: 'N(jose)' }],
      sort: { created: '2026-01-01T00:00:00.000Z' },
      ident: [
        { s: 'urn:sys', v: 'A1' },
        { s: '', v: 'B2' },
      ],
    });
  });
});

describe('filterCondition: token', () => {
  test('one value without system', () => {
    expect(filterCondition({ code: 'status', kind: 'token', values: [{ value: 'active' }] }, upper)).toEqual({
      tok: { $elemMatch: { c: 'status', v: 'active' } },
    });
  });

  test('system given, and system null meaning "no system"', () => {
    expect(
      filterCondition(
        { code: 'identifier', kind: 'token', values: [{ system: 'urn:a', value: 'X' }] },
        upper,
      ),
    ).toEqual({
      tok: { $elemMatch: { c: 'identifier', s: 'urn:a', v: 'X' } },
    });
    expect(
      filterCondition({ code: 'identifier', kind: 'token', values: [{ system: null, value: 'X' }] }, upper),
    ).toEqual({
      tok: { $elemMatch: { c: 'identifier', s: '', v: 'X' } },
    });
  });

  test('several values without system become $in', () => {
    expect(
      filterCondition(
        { code: 'status', kind: 'token', values: [{ value: 'active' }, { value: 'draft' }] },
        upper,
      ),
    ).toEqual({ tok: { $elemMatch: { c: 'status', v: { $in: ['active', 'draft'] } } } });
  });

  test('mixed values become $or inside one $elemMatch', () => {
    expect(
      filterCondition(
        {
          code: 'identifier',
          kind: 'token',
          values: [{ system: 'urn:a', value: 'X' }, { value: 'Y' }, { system: null, value: 'Z' }],
        },
        upper,
      ),
    ).toEqual({
      tok: {
        $elemMatch: {
          c: 'identifier',
          $or: [{ s: 'urn:a', v: 'X' }, { v: 'Y' }, { s: '', v: 'Z' }],
        },
      },
    });
  });

  test('not: no entry of the code matches any value', () => {
    expect(
      filterCondition({ code: 'status', kind: 'token', values: [{ value: 'cancelled' }], not: true }, upper),
    ).toEqual({ tok: { $not: { $elemMatch: { c: 'status', v: 'cancelled' } } } });
  });

  test('no values: nothing matches; not with no values: no condition', () => {
    expect(filterCondition({ code: 'status', kind: 'token', values: [] }, upper)).toEqual(MATCH_NOTHING);
    expect(filterCondition({ code: 'status', kind: 'token', values: [], not: true }, upper)).toBeUndefined();
  });

  test('_id is the top-level id field', () => {
    expect(filterCondition({ code: '_id', kind: 'token', values: [{ value: 'a' }] }, upper)).toEqual({
      id: 'a',
    });
    expect(
      filterCondition({ code: '_id', kind: 'token', values: [{ value: 'a' }, { value: 'b' }] }, upper),
    ).toEqual({
      id: { $in: ['a', 'b'] },
    });
    expect(
      filterCondition({ code: '_id', kind: 'token', values: [{ value: 'a' }], not: true }, upper),
    ).toEqual({
      id: { $nin: ['a'] },
    });
  });
});

describe('filterCondition: reference and string', () => {
  test('reference: exact value, OR as $in', () => {
    expect(filterCondition({ code: 'patient', kind: 'reference', values: ['Patient/1'] }, upper)).toEqual({
      ref: { $elemMatch: { c: 'patient', v: 'Patient/1' } },
    });
    expect(
      filterCondition({ code: 'patient', kind: 'reference', values: ['Patient/1', 'Patient/2'] }, upper),
    ).toEqual({
      ref: { $elemMatch: { c: 'patient', v: { $in: ['Patient/1', 'Patient/2'] } } },
    });
    expect(filterCondition({ code: 'patient', kind: 'reference', values: [] }, upper)).toEqual(MATCH_NOTHING);
  });

  test('string: normalized, anchored prefix regex with escaping', () => {
    expect(filterCondition({ code: 'name', kind: 'string', values: ['a.b'] }, upper)).toEqual({
      str: { $elemMatch: { c: 'name', v: { $regex: '^N\\(a\\.b\\)' } } },
    });
    expect(filterCondition({ code: 'name', kind: 'string', values: ['x', 'y'] }, (s) => s)).toEqual({
      str: { $elemMatch: { c: 'name', $or: [{ v: { $regex: '^x' } }, { v: { $regex: '^y' } }] } },
    });
  });

  test('string exact: equality on the normalized value', () => {
    expect(filterCondition({ code: 'name', kind: 'string', values: ['Jo'], exact: true }, upper)).toEqual({
      str: { $elemMatch: { c: 'name', v: 'N(Jo)' } },
    });
    expect(
      filterCondition({ code: 'name', kind: 'string', values: ['a', 'b'], exact: true }, (s) => s),
    ).toEqual({
      str: { $elemMatch: { c: 'name', v: { $in: ['a', 'b'] } } },
    });
  });

  test('escapeRegex escapes every metacharacter', () => {
    const special = '.*+?^${}()|[]\\/';
    expect(new RegExp(`^${escapeRegex(special)}$`).test(special)).toBe(true);
  });
});

describe('date prefixes', () => {
  const vs = '2026-03-01T00:00:00.000Z';
  const ve = '2026-03-02T00:00:00.000Z';

  test('entry conditions follow port.ts', () => {
    expect(dateEntryCondition('eq', vs, ve)).toEqual({ s: { $gte: vs }, e: { $lte: ve } });
    expect(dateEntryCondition('ne', vs, ve)).toEqual({ $or: [{ s: { $lt: vs } }, { e: { $gt: ve } }] });
    expect(dateEntryCondition('lt', vs, ve)).toEqual({ s: { $lt: vs } });
    expect(dateEntryCondition('gt', vs, ve)).toEqual({ e: { $gt: ve } });
    expect(dateEntryCondition('le', vs, ve)).toEqual({ s: { $lt: ve } });
    expect(dateEntryCondition('ge', vs, ve)).toEqual({ e: { $gt: vs } });
    expect(dateEntryCondition('sa', vs, ve)).toEqual({ s: { $gte: ve } });
    expect(dateEntryCondition('eb', vs, ve)).toEqual({ e: { $lte: vs } });
  });

  test('a date filter is one $elemMatch on the code', () => {
    expect(
      filterCondition({ code: 'created', kind: 'date', prefix: 'ge', start: vs, end: ve }, upper),
    ).toEqual({
      date: { $elemMatch: { c: 'created', e: { $gt: vs } } },
    });
    expect(
      filterCondition({ code: 'created', kind: 'date', prefix: 'eq', start: vs, end: ve }, upper),
    ).toEqual({
      date: { $elemMatch: { c: 'created', s: { $gte: vs }, e: { $lte: ve } } },
    });
  });

  test('filter bounds are canonicalized; a non-instant is a bad request', () => {
    expect(
      filterCondition(
        { code: 'created', kind: 'date', prefix: 'lt', start: '2026-03-01T01:00:00+01:00', end: ve },
        upper,
      ),
    ).toEqual({ date: { $elemMatch: { c: 'created', s: { $lt: vs } } } });
    expect(() =>
      filterCondition({ code: 'created', kind: 'date', prefix: 'lt', start: 'yesterday', end: ve }, upper),
    ).toThrow(OperationOutcomeError);
    expect(() =>
      filterCondition(
        { code: '_lastUpdated', kind: 'date', prefix: 'lt', start: vs, end: '+020000-01-01T00:00:00.000Z' },
        upper,
      ),
    ).toThrow(OperationOutcomeError);
  });

  test('_lastUpdated: the instant [lu, lu + 1 ms) on the top-level field', () => {
    expect(lastUpdatedCondition('eq', vs, ve)).toEqual({ lastUpdated: { $gte: vs, $lt: ve } });
    expect(lastUpdatedCondition('ne', vs, ve)).toEqual({
      $or: [{ lastUpdated: { $lt: vs } }, { lastUpdated: { $gte: ve } }],
    });
    expect(lastUpdatedCondition('lt', vs, ve)).toEqual({ lastUpdated: { $lt: vs } });
    expect(lastUpdatedCondition('eb', vs, ve)).toEqual({ lastUpdated: { $lt: vs } });
    expect(lastUpdatedCondition('gt', vs, ve)).toEqual({ lastUpdated: { $gte: ve } });
    expect(lastUpdatedCondition('sa', vs, ve)).toEqual({ lastUpdated: { $gte: ve } });
    expect(lastUpdatedCondition('le', vs, ve)).toEqual({ lastUpdated: { $lt: ve } });
    expect(lastUpdatedCondition('ge', vs, ve)).toEqual({ lastUpdated: { $gte: vs } });
    expect(
      filterCondition({ code: '_lastUpdated', kind: 'date', prefix: 'gt', start: vs, end: ve }, upper),
    ).toEqual({ lastUpdated: { $gte: ve } });
  });

  test('_lastUpdated agrees with the general rule on a 1 ms range', () => {
    // Brute-force: for instants around the value range, the reduced condition on lu must equal
    // the port's rule on the entry [lu, lu + 1 ms).
    const iso = (ms: number) => new Date(ms).toISOString();
    const vsMs = Date.parse(vs);
    const veMs = Date.parse(ve);
    const rule: Record<string, (es: string, ee: string) => boolean> = {
      eq: (es, ee) => es >= vs && ee <= ve,
      ne: (es, ee) => !(es >= vs && ee <= ve),
      lt: (es) => es < vs,
      gt: (_es, ee) => ee > ve,
      le: (es) => es < ve,
      ge: (_es, ee) => ee > vs,
      sa: (es) => es >= ve,
      eb: (_es, ee) => ee <= vs,
    };
    const evalCondition = (cond: Record<string, unknown>, lu: string): boolean => {
      if (Array.isArray(cond['$or'])) {
        return (cond['$or'] as Record<string, unknown>[]).some((c) => evalCondition(c, lu));
      }
      const ops = cond['lastUpdated'] as Record<string, string>;
      return Object.entries(ops).every(([op, v]) =>
        op === '$lt' ? lu < v : op === '$gte' ? lu >= v : op === '$lte' ? lu <= v : lu > v,
      );
    };
    for (const [prefix, check] of Object.entries(rule)) {
      for (const ms of [vsMs - 2, vsMs - 1, vsMs, vsMs + 1, veMs - 2, veMs - 1, veMs, veMs + 1]) {
        const cond = lastUpdatedCondition(prefix as 'eq', vs, ve);
        expect([prefix, ms, evalCondition(cond, iso(ms))]).toEqual([prefix, ms, check(iso(ms), iso(ms + 1))]);
      }
    }
  });
});

describe('toMongoFilter / toMongoSort', () => {
  test('no filters: tenant and type only', () => {
    expect(toMongoFilter('t1', query({}), upper)).toEqual({ tenant: 't1', type: 'Claim' });
  });

  test('afterId (keyset paging) is a condition on the top-level id, after the filters', () => {
    const filters: StoreFilter[] = [{ code: 'status', kind: 'token', values: [{ value: 'active' }] }];
    expect(toMongoFilter('t1', query({ filters, afterId: 'claim-9' }), upper)).toEqual({
      tenant: 't1',
      type: 'Claim',
      $and: [{ tok: { $elemMatch: { c: 'status', v: 'active' } } }, { id: { $gt: 'claim-9' } }],
    });
  });

  test('filters are AND-ed in order, even two on the same array', () => {
    const filters: StoreFilter[] = [
      { code: 'status', kind: 'token', values: [{ value: 'active' }] },
      { code: 'use', kind: 'token', values: [{ value: 'claim' }] },
      { code: 'patient', kind: 'reference', values: ['Patient/1'] },
      { code: 'status', kind: 'token', values: [], not: true },
    ];
    expect(toMongoFilter('t1', query({ filters }), upper)).toEqual({
      tenant: 't1',
      type: 'Claim',
      $and: [
        { tok: { $elemMatch: { c: 'status', v: 'active' } } },
        { tok: { $elemMatch: { c: 'use', v: 'claim' } } },
        { ref: { $elemMatch: { c: 'patient', v: 'Patient/1' } } },
      ],
    });
  });

  test('sort: codes under sort., special fields, id tie-breaker', () => {
    expect(toMongoSort('Claim', [])).toEqual({ id: 1 });
    expect(
      toMongoSort('Claim', [
        { code: 'created', descending: true },
        { code: '_lastUpdated', descending: false },
      ]),
    ).toEqual({ 'sort.created': -1, lastUpdated: 1, id: 1 });
    expect(toMongoSort('Claim', [{ code: '_id', descending: true }])).toEqual({ id: -1 });
    expect(
      Object.keys(
        toMongoSort('Claim', [
          { code: 'b', descending: false },
          { code: 'a', descending: false },
        ]),
      ),
    ).toEqual(['sort.b', 'sort.a', 'id']);
    // An alias sorts on the key of the parameter it is answered from (ANSWERED_FROM).
    expect(toMongoSort('ChargeItem', [{ code: 'date', descending: true }])).toEqual({
      'sort.occurrence': -1,
      id: 1,
    });
  });

  test('sort: a code that is not a plain field name is a bad request', () => {
    expect(() => toMongoSort('Claim', [{ code: 'a.b', descending: false }])).toThrow(OperationOutcomeError);
    expect(() => toMongoSort('Claim', [{ code: '$where', descending: false }])).toThrow(
      OperationOutcomeError,
    );
  });

  test('paging bounds', () => {
    expect(() => {
      assertPaging(query({ count: 0 }));
    }).not.toThrow();
    expect(() => {
      assertPaging(query({ count: 1000, offset: 5 }));
    }).not.toThrow();
    expect(() => {
      assertPaging(query({ count: 1001 }));
    }).toThrow(OperationOutcomeError);
    expect(() => {
      assertPaging(query({ count: -1 }));
    }).toThrow(OperationOutcomeError);
    expect(() => {
      assertPaging(query({ offset: -1 }));
    }).toThrow(OperationOutcomeError);
    expect(() => {
      assertPaging(query({ count: 1.5 }));
    }).toThrow(OperationOutcomeError);
  });
});

describe('adapter helpers', () => {
  test('replica set detection from hello', () => {
    expect(supportsTransactions({ isWritablePrimary: true, setName: 'rs0' })).toBe(true);
    expect(supportsTransactions({ isWritablePrimary: true, msg: 'isdbgrid' })).toBe(true);
    expect(supportsTransactions({ isWritablePrimary: true })).toBe(false);
  });

  test('connection-string options override the defaults', () => {
    expect(uriHasOption('mongodb://h/?replicaSet=rs0&W=1', 'w')).toBe(true);
    expect(uriHasOption('mongodb://h/db', 'w')).toBe(false);
    const defaults = clientOptions('mongodb://h/?replicaSet=rs0');
    expect(defaults.writeConcern?.w).toBe('majority');
    expect(defaults.readConcern).toEqual({ level: 'majority' });
    expect(defaults.retryWrites).toBe(true);
    expect(defaults.ignoreUndefined).toBe(true);
    const overridden = clientOptions('mongodb://h/?w=1&readConcernLevel=local&retryWrites=false');
    expect(overridden.writeConcern).toBeUndefined();
    expect(overridden.readConcern).toBeUndefined();
    expect(overridden.retryWrites).toBeUndefined();
  });
});
