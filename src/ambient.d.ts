// Minimal types for dependencies that ship none. Internal: no public type refers to them.
declare module 'speedometer' {
  function speedometer (seconds?: number): (delta?: number) => number
  export default speedometer
}
declare module 'bencode' {
  const bencode: {
    encode (value: unknown): Buffer
    decode (data: Uint8Array, start?: number, end?: number, encoding?: string): any
    byteLength (value: unknown): number
  }
  export default bencode
}
// readable-stream 3's Duplex module (src/stream.ts declares its type: ReadableStream3Duplex)
declare module 'readable-stream/lib/_stream_duplex.js' {
  const Duplex: unknown
  export default Duplex
}
