/**
 * The browser build's `util-deprecate` (readable-stream 3 wraps one getter with it): the
 * function itself, without the one-time console warning.
 */
export default function deprecate<T> (fn: T): T {
  return fn
}
