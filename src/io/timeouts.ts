/**
 * The opt-in connection timeouts of a wire (`handshakeTimeout`, `idleTimeout`), made only when
 * one is set. Neither keeps the process alive. The idle timer is not re-armed for every chunk:
 * `received()` notes the time, and the timer, when it fires, re-arms itself for what is left.
 */
import { ErrorCodes, type ErrorCode } from '../errors.js'

export class ConnectionTimeouts {
  private _handshake: ReturnType<typeof setTimeout> | null = null
  private _idle: ReturnType<typeof setTimeout> | null = null
  private _lastReceived = Date.now()

  /** `expire(code, message)` is called once, when a timeout runs out (0 ms: off). */
  constructor (handshakeMs: number, private readonly _idleMs: number, private readonly _expire: (code: ErrorCode, message: string) => void) {
    if (handshakeMs > 0) {
      this._handshake = setTimeout(() => {
        this._handshake = null
        this._expire(ErrorCodes.HANDSHAKE_TIMEOUT, `no handshake from the peer within ${handshakeMs} ms`)
      }, handshakeMs)
      this._handshake.unref?.()
    }
    if (_idleMs > 0) this._armIdle(_idleMs)
  }

  /** Bytes arrived from the peer. */
  received (): void {
    this._lastReceived = Date.now()
  }

  /** The peer's BitTorrent handshake arrived. */
  handshakeDone (): void {
    if (this._handshake !== null) clearTimeout(this._handshake)
    this._handshake = null
  }

  stop (): void {
    this.handshakeDone()
    if (this._idle !== null) clearTimeout(this._idle)
    this._idle = null
  }

  private _armIdle (ms: number): void {
    this._idle = setTimeout(() => {
      this._idle = null
      const quiet = Date.now() - this._lastReceived
      if (quiet >= this._idleMs) this._expire(ErrorCodes.IDLE_TIMEOUT, `nothing from the peer for ${quiet} ms`)
      else this._armIdle(this._idleMs - quiet)
    }, ms)
    this._idle.unref?.()
  }
}
