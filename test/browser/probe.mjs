// Which Node globals the page has before anything else is loaded.
export const probe = {
  Buffer: typeof globalThis.Buffer,
  global: typeof globalThis.global,
  process: typeof globalThis.process
}
