// The one Node API the bench entry uses (the `nodejs_als` flag of its build), without Node's types in the
// Worker's type check.
declare module 'node:async_hooks' {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, fn: () => R): R
    getStore(): T | undefined
  }
}
