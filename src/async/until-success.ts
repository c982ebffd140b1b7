/**
 * Work done once, on first ask, and only once it succeeds: `untilSuccess(create)` returns a
 * function that gives every caller the same promise — concurrent first callers included — until
 * that promise rejects; a rejected attempt is dropped, so the next ask tries again. For what is
 * costly to make and not needed by every run (a discovery document, a bundle, a key, a router),
 * where a passing failure (a network error, a module that did not load) must not stick.
 */
export function untilSuccess<T>(create: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= create().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
