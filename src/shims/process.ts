/**
 * The global `process` of the browser build (scripts/build.mjs injects it): readable-stream 3
 * calls `process.nextTick` (and compares pipe destinations with `process.stdout`, undefined
 * here), and no page defines `process`. A tick is a microtask, as in Node; the npm `process`
 * package runs ticks from a setTimeout, which browsers delay by 4 ms once nested.
 */
export const process = {
  nextTick (fn: (...args: unknown[]) => void, ...args: unknown[]): void {
    queueMicrotask(() => fn(...args))
  }
} as { nextTick (fn: (...args: any[]) => void, ...args: unknown[]): void, stdout?: unknown, stderr?: unknown }
