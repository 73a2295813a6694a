/**
 * The Wire's base class, in the Node build and the browser build alike: readable-stream 3's
 * Duplex, the stream bittorrent-protocol 3.5.5 was built on (and WebTorrent 1.x depends on, so
 * npm installs one copy for both). readable-stream 4 brings eight packages with it
 * (abort-controller, event-target-shim, events, process, buffer...), 3 four small ones, and a
 * far smaller browser bundle.
 *
 * readable-stream 4 destroys a stream once both of its sides have ended; 3 does so only with
 * `autoDestroy`, which is made the default here, so 'close' follows end() the same way. Only
 * `lib/_stream_duplex.js` is imported, not the package's main module: a page does not need
 * readable-stream's Readable / Writable / Transform / pipeline re-exports. It extends the very
 * class `require('readable-stream').Duplex` gives (one module, however it is reached), so
 * `wire instanceof require('readable-stream').Duplex` holds, as with 3.5.5.
 */
import { EventEmitter } from 'events'
import type { Buffer } from 'buffer'
import Duplex3 from 'readable-stream/lib/_stream_duplex.js'

/** Options of readable-stream 3's Duplex (the wire passes its own; subclasses may add theirs). */
export interface DuplexOptions {
  allowHalfOpen?: boolean
  readableObjectMode?: boolean
  writableObjectMode?: boolean
  highWaterMark?: number
  readableHighWaterMark?: number
  writableHighWaterMark?: number
  decodeStrings?: boolean
  defaultEncoding?: BufferEncoding
  emitClose?: boolean
  autoDestroy?: boolean
}

/**
 * readable-stream 3's Duplex as it is: what the wire inherits, declared here so that the
 * published types stand alone (they need @types/node, for Buffer and EventEmitter, and no
 * @types/readable-stream, whose types are readable-stream 4's). It is a Node stream of the
 * Node 10 era: `socket.pipe(wire).pipe(socket)` and `stream.pipeline(socket, wire, socket)`
 * type-check, and the later Node Readable helpers (map, toArray...), which it lacks, are absent.
 */
export declare class ReadableStream3Duplex extends EventEmitter implements NodeJS.ReadWriteStream {
  constructor (options?: DuplexOptions)
  readable: boolean
  writable: boolean
  destroyed: boolean
  allowHalfOpen: boolean
  readonly readableFlowing: boolean | null
  readonly readableHighWaterMark: number
  readonly readableLength: number
  readonly writableHighWaterMark: number
  readonly writableLength: number
  read (size?: number): any
  setEncoding (encoding: BufferEncoding): this
  pause (): this
  resume (): this
  isPaused (): boolean
  pipe<T extends NodeJS.WritableStream> (destination: T, options?: { end?: boolean }): T
  unpipe (destination?: NodeJS.WritableStream): this
  unshift (chunk: string | Uint8Array, encoding?: BufferEncoding): void
  wrap (oldStream: NodeJS.ReadableStream): this
  push (chunk: any, encoding?: BufferEncoding): boolean
  write (buffer: Uint8Array | string, cb?: (err?: Error | null) => void): boolean
  write (str: string, encoding?: BufferEncoding, cb?: (err?: Error | null) => void): boolean
  end (cb?: () => void): this
  end (data: string | Uint8Array, cb?: () => void): this
  end (str: string, encoding?: BufferEncoding, cb?: () => void): this
  cork (): void
  uncork (): void
  setDefaultEncoding (encoding: BufferEncoding): this
  destroy (error?: Error | null): this
  _read (size: number): void
  _write (chunk: any, encoding: BufferEncoding, callback: (error?: Error | null) => void): void
  _destroy (error: Error | null, callback: (error: Error | null) => void): void
  [Symbol.asyncIterator] (): AsyncIterableIterator<Buffer>
}

class Duplex extends (Duplex3 as unknown as typeof ReadableStream3Duplex) {
  constructor (options?: DuplexOptions) {
    super({ autoDestroy: true, ...options })
  }
}

export { Duplex }
export default { Duplex }
