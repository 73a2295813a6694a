// Types for what only the browser stand-ins (src/shims) import.
declare module 'bencode/lib/encode.js' {
  function encode (value: unknown): Uint8Array
  export default encode
}
