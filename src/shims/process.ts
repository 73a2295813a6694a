/**
 * `process` for the code bundled into the browser build (readable-stream 3 calls
 * `process.nextTick`, and compares pipe destinations with `process.stdout`, undefined here):
 * scripts/build.mjs gives it to each module that reads `process`, so the page needs no global
 * `process`. A tick is a microtask, as in Node.
 */
export const process = {
  nextTick (fn: (...args: unknown[]) => void, ...args: unknown[]): void {
    queueMicrotask(() => fn(...args))
  }
} as { nextTick (fn: (...args: any[]) => void, ...args: unknown[]): void, stdout?: unknown, stderr?: unknown }
