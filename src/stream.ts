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
import type rs from 'readable-stream'
import Duplex3 from 'readable-stream/lib/_stream_duplex.js'

/** Duplex options with readable-stream's `autoDestroy` (older than @types/readable-stream's list). */
export type DuplexOptions = rs.DuplexOptions & { autoDestroy?: boolean }

class Duplex extends (Duplex3 as typeof rs.Duplex) {
  constructor (options?: DuplexOptions) {
    super({ autoDestroy: true, ...options } as rs.DuplexOptions)
  }
}

export { Duplex }
export default { Duplex }
