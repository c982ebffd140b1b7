/**
 * A view of an object (the store, its `resources` or `jobs`) with some members replaced: every
 * other member is the object's own, its methods bound to it. How the layers above wrap the store
 * they hand to ingest (charge capture's wake-up, eligibility's triggers) without a class per view.
 */
export function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, prop) {
      if (Object.hasOwn(overrides, prop)) {
        return overrides[prop as keyof T];
      }
      const value: unknown = Reflect.get(object, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
