import { isDomainError } from '../errors.js';

/**
 * The adapter as callers see it: every method call whose error (thrown or rejected) reaches the
 * caller as `translate(error)`, so the engine's errors become the domain's kinds in one place,
 * whatever method they come from. Domain errors (a rule that refused a plan inside a
 * transaction) pass through unchanged. Methods run on the adapter itself, so its calls to its own
 * helpers (and other adapters holding it) are not translated twice.
 */
export function translateErrors<T extends object>(target: T, translate: (e: unknown) => unknown): T {
  const fail = (e: unknown): never => {
    throw isDomainError(e) ? e : translate(e);
  };
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, key) {
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(key);
      if (!fn) {
        fn = (...args: unknown[]): unknown => {
          try {
            const result: unknown = Reflect.apply(value, t, args);
            return result instanceof Promise ? result.catch(fail) : result;
          } catch (e) {
            return fail(e);
          }
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}
