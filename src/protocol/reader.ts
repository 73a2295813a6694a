/**
 * The incremental reader: a small state machine over incoming chunks.
 *
 * It frames the byte stream into a handshake and then length-prefixed messages and
 * hands each one to its sink as (id, buffer, start, end) without copying when the
 * body lies inside one chunk. Bytes that straddle chunks are assembled once into a
 * buffer of exactly the needed size, so a large message arriving in many TCP
 * segments costs linear time. A piece message is split into its 8-byte header and
 * its block, so that a block arriving in its own chunk is handed out as a view.
 *
 * Lengths are checked the moment they are known (before any body is buffered):
 * the length prefix against `maxMessageLength`, the id against its exact size.
 */
import { Buffer } from 'buffer'
import { checkLength, messageTooLong, HANDSHAKE_LENGTH, isProtocolHeader, looksLikeHandshake, u32, type Limits, MessageId } from './codec.js'
import { ErrorCodes, WireError } from '../errors.js'

export interface ReaderSink {
  /** A complete 68-byte handshake at buf[off..off+68). */
  _onHandshakeBytes (buf: Buffer, off: number): void
  /** A complete message: id and its payload at buf[start..end). */
  _onMessage (id: number, buf: Buffer, start: number, end: number): void
  /** A complete piece message. */
  _onPiece (index: number, offset: number, block: Buffer): void
  _onKeepAlive (): void
  /** A framing error: the reader has stopped. */
  _onReadError (err: WireError): void
}

const HANDSHAKE = 0
const LENGTH = 1
const ID = 2
const BODY = 3
const PIECE_HEAD = 4
const PIECE_BLOCK = 5
const STOPPED = 6

/**
 * Bodies up to this size get their whole buffer at once (a 16 KiB block is the common case, and
 * one allocation is cheapest); larger ones start with what has arrived and grow. A length
 * prefix alone must not make us allocate 260 KiB: 1,000 peers sending one would hold 254 MiB.
 */
const WHOLE_BODY_MAX = 32 * 1024

/** @internal The message of ERR_BT_DUPLICATE_HANDSHAKE (here and in the wire). */
export const SECOND_HANDSHAKE = 'second handshake on the same wire'

function firstSize (need: number, available: number): number {
  return need <= WHOLE_BODY_MAX ? need : Math.min(need, Math.max(available, WHOLE_BODY_MAX))
}

export class MessageReader<L extends Limits = Limits> {
  private _state: number
  private _need: number
  /** Bytes of a straddling unit gathered so far (0 when not assembling). */
  private _fill = 0
  /** Where a straddling unit is assembled: the small scratch or a buffer of `_need` bytes. */
  private _acc: Buffer | null = null
  private _scratch: Buffer | null = null
  private _len = 0
  private _id = 0
  private _pieceIndex = 0
  private _pieceOffset = 0
  private readonly _sink: ReaderSink
  readonly limits: L

  constructor (sink: ReaderSink, limits: L, expectHandshake = true) {
    this._sink = sink
    this.limits = limits
    this._state = expectHandshake ? HANDSHAKE : LENGTH
    this._need = expectHandshake ? HANDSHAKE_LENGTH : 4
  }

  /** Bytes currently held for an incomplete unit. */
  get buffered (): number {
    return this._fill
  }

  stop (): void {
    this._state = STOPPED
    this._acc = null
    this._fill = 0
  }

  write (chunk: Buffer): void {
    const end = chunk.length
    let off = 0
    while (this._state !== STOPPED) {
      if (this._state === LENGTH && this._fill === 0) {
        // whole messages straight from the chunk; the first one that is not whole (or
        // needs an error) is left to the state machine below
        off = this._wholeMessages(chunk, off, end)
        if ((this._state as number) === STOPPED) return
      }
      const need = this._need
      if (this._fill === 0 && end - off >= need) {
        // the whole unit lies in this chunk: no copy
        const start = off
        off += need
        this._complete(chunk, start, off)
        continue
      }
      if (off === end) return
      // assemble a unit that straddles chunks
      if (this._fill === 0) {
        if (this._state === HANDSHAKE && chunk[off] !== 19) {
          this._fail(new WireError(ErrorCodes.BAD_HANDSHAKE, `not a BitTorrent handshake: first byte ${chunk[off]}, expected 19`))
          return
        }
        // framing units go to a reused scratch; bodies, which may be handed to the
        // application, get a buffer of their own, which grows as their bytes arrive
        this._acc = this._state === BODY || this._state === PIECE_BLOCK
          ? Buffer.allocUnsafe(firstSize(need, end - off))
          : (this._scratch ??= Buffer.allocUnsafe(HANDSHAKE_LENGTH))
      }
      let acc = this._acc as Buffer
      const n = Math.min(need - this._fill, end - off)
      if (this._fill + n > acc.length) {
        // double (at least): each byte is copied O(1) times, so a large message in many
        // segments still costs linear time
        const grown = Buffer.allocUnsafe(Math.min(need, Math.max(acc.length * 2, this._fill + n)))
        grown.set(acc.subarray(0, this._fill))
        this._acc = acc = grown
      }
      acc.set(n === end - off && off === 0 ? chunk : chunk.subarray(off, off + n), this._fill)
      this._fill += n
      off += n
      if (this._fill < need) return
      this._fill = 0
      this._acc = null
      this._complete(acc, 0, need)
    }
  }

  /**
   * Hand out every message that lies whole in buf[off..end), with the same checks in the same
   * order as the state machine, one step per message instead of one per unit (length, id,
   * body): small messages come many to a chunk. Returns where the first message that is not
   * whole starts, or of one the state machine reports (too long, a second handshake).
   */
  private _wholeMessages (buf: Buffer, off: number, end: number): number {
    const sink = this._sink
    const limits = this.limits
    while (end - off >= 4) {
      const len = u32(buf, off)
      if (len === 0) {
        off += 4
        sink._onKeepAlive()
        if (this._state !== LENGTH) break
        continue
      }
      if (len > end - off - 4 || len > limits.maxMessageLength || looksLikeHandshake(buf, off)) break
      const id = buf[off + 4]
      const err = checkLength(id, len, limits)
      if (err !== null) { this._fail(err); break }
      const start = off + 5
      off = start + len - 1
      if (id === MessageId.PIECE) {
        sink._onPiece(u32(buf, start), u32(buf, start + 4), buf.subarray(start + 8, off))
      } else {
        sink._onMessage(id, buf, start, off)
      }
      // the sink may have stopped us (or, on a handshake inside MSE, changed state)
      if (this._state !== LENGTH) break
    }
    return off
  }

  private _fail (err: WireError): void {
    this.stop()
    this._sink._onReadError(err)
  }

  private _complete (buf: Buffer, start: number, end: number): void {
    switch (this._state) {
      case LENGTH: {
        const len = u32(buf, start)
        if (len === 0) {
          this._sink._onKeepAlive()
          return
        }
        // "\x13Bit" is a second handshake whatever maxMessageLength admits
        if (looksLikeHandshake(buf, start)) {
          this._fail(new WireError(ErrorCodes.DUPLICATE_HANDSHAKE, SECOND_HANDSHAKE))
          return
        }
        if (len > this.limits.maxMessageLength) {
          this._fail(messageTooLong(len, this.limits))
          return
        }
        this._len = len
        this._state = ID
        this._need = 1
        return
      }
      case ID: {
        const id = buf[start]
        const err = checkLength(id, this._len, this.limits)
        if (err) { this._fail(err); return }
        this._id = id
        if (id === MessageId.PIECE) {
          this._state = PIECE_HEAD
          this._need = 8
        } else if (this._len === 1) {
          this._state = LENGTH
          this._need = 4
          this._sink._onMessage(id, buf, end, end)
        } else {
          this._state = BODY
          this._need = this._len - 1
        }
        return
      }
      case BODY:
        this._state = LENGTH
        this._need = 4
        this._sink._onMessage(this._id, buf, start, end)
        return
      case PIECE_HEAD:
        this._pieceIndex = u32(buf, start)
        this._pieceOffset = u32(buf, start + 4)
        this._state = PIECE_BLOCK
        this._need = this._len - 9
        return
      case PIECE_BLOCK:
        this._state = LENGTH
        this._need = 4
        this._sink._onPiece(this._pieceIndex, this._pieceOffset,
          start === 0 && end === buf.length ? buf : buf.subarray(start, end))
        return
      case HANDSHAKE:
        if (!isProtocolHeader(buf, start)) {
          this._fail(new WireError(ErrorCodes.BAD_HANDSHAKE, 'not a BitTorrent handshake: bad protocol string'))
          return
        }
        this._state = LENGTH
        this._need = 4
        this._sink._onHandshakeBytes(buf, start)
    }
  }
}
