/**
 * The browser build's `readable-stream`: readable-stream 3's Duplex, the stream 3.5.5 was built
 * on (so the page gets the 3.5.5 API: Node-style streams), at about 30 KiB of a minified bundle
 * where readable-stream 4 takes 76 KiB. scripts/build.mjs bundles it into dist/browser.cjs.
 * readable-stream 4 (the Node build's) destroys a stream once both sides have ended; 3 does so
 * only with `autoDestroy`, which is made the default here, so 'close' follows end() the same way.
 */
import Duplex3 from 'readable-stream3/lib/_stream_duplex.js'

export class Duplex extends Duplex3 {
  constructor (options?: Record<string, unknown>) {
    super({ autoDestroy: true, ...options })
  }
}

export default { Duplex }
