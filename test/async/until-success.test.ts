/** Work done once on first ask, kept once it succeeds, tried again after a failure (src/async/until-success.ts). */
import { expect, test } from '@jest/globals';
import { untilSuccess } from '../../src/async/until-success.ts';

test('concurrent first callers share one attempt; later callers get its result without another', async () => {
  let attempts = 0;
  const value = untilSuccess(async () => {
    attempts += 1;
    await new Promise((resolve) => setImmediate(resolve));
    return { attempt: attempts };
  });
  const [a, b] = await Promise.all([value(), value()]);
  expect(a).toBe(b);
  expect(await value()).toBe(a);
  expect(attempts).toBe(1);
});

test('a failed attempt is not kept: its callers see the error, the next ask tries again', async () => {
  let attempts = 0;
  const value = untilSuccess(() => {
    attempts += 1;
    return attempts === 1 ? Promise.reject(new Error('discovery refused')) : Promise.resolve(attempts);
  });
  const [first, second] = await Promise.allSettled([value(), value()]);
  expect(first).toEqual({ status: 'rejected', reason: new Error('discovery refused') });
  expect(second).toEqual(first);
  expect(await value()).toBe(2);
  expect(await value()).toBe(2);
  expect(attempts).toBe(2);
});
