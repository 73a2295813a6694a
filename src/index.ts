/**
 * bittorrent-protocol: the BitTorrent peer wire protocol as a Duplex stream.
 *
 * The default export is the Wire class (as `require('bittorrent-protocol')` is in 3.5.5);
 * the named exports are for new code. This Node entry is the platform-free one (browser.ts)
 * plus what needs node:crypto: message stream encryption, the allowed-fast set, and the
 * BEP 52 merkle check. They come with a subclass of the platform-free Wire, which is the
 * one Wire this entry exports (default and named).
 */
import { Wire as PlatformWire } from './browser.js'
import { mseSupport } from './mse/wire-adapter.js'
import { autoAllowedFast } from './state/allowed-fast.js'
import { holdInSocket, dropSocket, keepFlowing, corkForTick, uncork } from './io/socket-hold.js'

export class Wire extends PlatformWire {
  /** Whether RC4 comes from Node's OpenSSL (else a JavaScript RC4 runs), as in 5.x. */
  static override nativeRC4 = mseSupport.nativeRC4
  /** @internal */
  static override _mseSupport = mseSupport
  /** @internal */
  static override _autoAllowedFast = autoAllowedFast

  // A socket we pipe into holds our output up to the send watermark (io/socket-hold.ts)

  override pipe<T extends NodeJS.WritableStream> (dest: T, opts?: { end?: boolean }): T {
    if (this._dests === null) holdInSocket(this._out, dest, this._onSocketDrain.bind(this))
    else dropSocket(this._out)
    return super.pipe(dest, opts)
  }

  override unpipe (dest?: any): this {
    if (dest === undefined || dest === this._out.socket) dropSocket(this._out)
    return super.unpipe(dest)
  }

  override pause (): this {
    return keepFlowing((this as any)._readableState, this._out, this._finished) ? this : super.pause()
  }

  /** @internal The socket drained: corked for this tick, what waited for the output is handed out (`_read`), then it writes. */
  private _onSocketDrain (): void {
    // a closure per drain (one per writev of many blocks), not per message
    if (corkForTick(this._out)) process.nextTick(() => { this._read(); uncork(this._out) })
  }
}

export * from './browser.js'
export { allowedFastSet, DEFAULT_ALLOWED_FAST_K } from './state/allowed-fast.js'
export { verifyHashes, padHash, MERKLE_BLOCK_SIZE } from './merkle.js'
export { HashesReply } from './merkle.js'

export default Wire
