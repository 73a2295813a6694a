// Types for what only the browser stand-ins (src/shims) import.
declare module 'readable-stream3/lib/_stream_duplex.js' {
  class Duplex {
    constructor (options?: Record<string, unknown>)
  }
  export default Duplex
}
declare module 'bencode/lib/encode.js' {
  function encode (value: unknown): Uint8Array
  export default encode
}
