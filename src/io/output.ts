/**
 * The output queue: every byte the wire sends goes through here.
 *
 * - Gathering: while a chunk from the peer is processed (`beginBatch` .. `endBatch`), small
 *   messages (requests, haves, piece headers, rejects...) are collected and pushed as one
 *   chunk, and the streams the wire pipes into are corked, so a socket sends the replies to a
 *   whole chunk in one writev. Order is kept; nothing waits past the current chunk.
 * - The cipher: once MSE agreed on RC4, everything but the MSE exchange itself is encrypted
 *   on its way out.
 * - Bounds (libtorrent's `send_buffer_watermark` idea). The backlog is what was pushed and not
 *   yet read by the connection (`Readable.readableLength`) plus what is gathered. The wire asks
 *   `open()` before it hands the peer's next request to the application or the peer's next
 *   extended message to a plugin: while the backlog plus the bytes of requests handed out but
 *   not yet answered is at or over the watermark, they wait, and `onRead` (the stream's
 *   `_read`, called once the connection has read the backlog down) tells the wire to go on.
 *   Refusals (rejects, hash rejects) are dropped instead of queued past REJECT_BACKLOG: a
 *   peer that floods requests and never reads is not reading them anyway.
 */
import { Buffer } from 'buffer'

/** Where the queue's bytes go: the wire's readable side. */
export interface OutputSink {
  push (chunk: Uint8Array): boolean
  readonly readableLength: number
}

/** A stream the wire pipes into, which may be corked. */
export interface Corkable {
  cork?: () => void
  uncork?: () => void
}

/** Messages up to this size sent while a chunk from the peer is processed are coalesced. */
const COALESCE_MAX = 64
/** Gathered bytes past which they are pushed at once. */
const GATHER_MAX = 16 * 1024
/** Unread output (bytes) past which refusals (rejects) are no longer sent. */
export const REJECT_BACKLOG = 1024 * 1024
/**
 * Default send watermark: 2 MiB, the middle of the range bench/watermark.mjs finds as fast as no
 * watermark at all (the socket and the kernel hold more, so the connection does not run dry):
 * room for 128 blocks of 16 KiB answered at once, and a small bound on what a peer that never
 * reads makes us hold.
 */
export const DEFAULT_SEND_WATERMARK = 2 * 1024 * 1024

/**
 * `data` as a Buffer over the same bytes. readable-stream copies a chunk pushed as a Uint8Array
 * that is not a Buffer (`Buffer.from(chunk)`), and a block handed to `wire.piece()` often is one
 * (WebTorrent's stores give Uint8Arrays): a Buffer view of it costs no copy. The bytes are sent
 * as they are when the connection reads them, as for a Buffer block.
 */
function asBuffer (data: Uint8Array): Uint8Array {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

export class OutputQueue {
  /** Set by MSE once RC4 is agreed. */
  cipher: ((data: Uint8Array) => Buffer) | null = null
  /** Bytes of requests handed to the application and not answered yet (see `open`). */
  committed = 0
  /** Nothing more is sent (the wire is shut down). */
  closed = false
  /** A chunk from the peer is being processed: small messages are gathered. */
  private _gathering = false
  /** A gate (`open()`) was found shut since the backlog last drained: `onRead` reports the drain. */
  private _shut = false
  private _gathered: Uint8Array[] | null = null
  private _gatheredBytes = 0
  /** A socket that may hold our output past its own mark (io/socket-hold.ts, Node): what it has not written counts too. */
  socket: { readonly writableLength: number } | null = null

  constructor (private readonly _sink: OutputSink, readonly watermark: number) {}

  /** Bytes pushed and not yet read by the connection, with what is gathered. */
  get backlog (): number {
    return this._sink.readableLength + this._gatheredBytes + (this.socket !== null ? this.socket.writableLength : 0)
  }

  /** Whether more output may be caused now (the peer's next request, its next extended message). */
  open (): boolean {
    if (this.backlog + this.committed < this.watermark) return true
    this._shut = true
    return false
  }

  /**
   * The connection read our backlog down (the stream's `_read`). True when a gate had been
   * shut since the last drain: the wire then hands out what waited and reports the drain.
   */
  onRead (): boolean {
    if (!this._shut) return false
    if (this.backlog + this.committed >= this.watermark) return false
    this._shut = false
    return true
  }

  /** Queue bytes for the peer. */
  send (data: Uint8Array): void {
    if (this.closed) return
    if (this._gathering && data.length <= COALESCE_MAX) {
      (this._gathered ??= []).push(data)
      this._gatheredBytes += data.length
      if (this._gatheredBytes >= GATHER_MAX) this.flush()
      return
    }
    if (this._gatheredBytes !== 0) this.flush()
    this._sink.push(this.cipher !== null ? this.cipher(data) : asBuffer(data))
  }

  /** Bytes that bypass the cipher (the MSE exchange itself), after anything gathered. */
  sendRaw (data: Uint8Array): void {
    if (this.closed) return
    if (this._gatheredBytes !== 0) this.flush()
    this._sink.push(asBuffer(data))
  }

  /** Whether a refusal (reject, hash reject) may still be sent: not once the peer left REJECT_BACKLOG unread. */
  refusalFits (): boolean {
    return this.backlog < REJECT_BACKLOG
  }

  /** Push what is gathered as one chunk. */
  flush (): void {
    const list = this._gathered
    const bytes = this._gatheredBytes
    if (list === null || bytes === 0) return
    this._gatheredBytes = 0
    let data: Uint8Array
    // pop() rather than `length = 0` for the common single message: setting the length drops
    // the array's storage, which would be made again for the next message
    if (list.length === 1) data = list.pop()!
    else {
      const buf = Buffer.allocUnsafe(bytes)
      let off = 0
      for (let i = 0; i < list.length; i++) { buf.set(list[i], off); off += list[i].length }
      data = buf
      list.length = 0
    }
    if (this.closed) return
    this._sink.push(this.cipher !== null ? this.cipher(data) : asBuffer(data))
  }

  /** A chunk from the peer is about to be processed: gather, and cork the first `n` of `dests`. */
  beginBatch (dests: Corkable | Corkable[] | null): number {
    // one destination that cannot gather corked writes (no _writev: another Wire, piped in
    // memory) is not corked: that would only buffer each write to replay it one by one
    const n = dests === null ? 0 : Array.isArray(dests) ? dests.length : typeof (dests as { _writev?: unknown })._writev === 'function' ? 1 : 0
    if (n !== 0) cork(dests!, n, true)
    this._gathering = true
    return n
  }

  /** The chunk is done: push what was gathered, uncork what `beginBatch` corked. */
  endBatch (dests: Corkable | Corkable[] | null, corked: number): void {
    this._gathering = false
    if (this._gatheredBytes !== 0) this.flush()
    // the list is reused within a chunk, not kept by an idle wire
    this._gathered = null
    if (corked !== 0) cork(dests!, corked, false)
  }

  /** Shut down: push what is gathered, then nothing more. */
  close (): void {
    if (this.closed) return
    if (this._gatheredBytes !== 0) this.flush()
    this.closed = true
    this.committed = 0
  }
}

/** Cork (or uncork) the first `n` of the streams we pipe into. */
export function cork (dests: Corkable | Corkable[], n: number, on: boolean): void {
  if (!Array.isArray(dests)) {
    if (on) dests.cork?.()
    else dests.uncork?.()
    return
  }
  for (let i = 0; i < n; i++) {
    if (on) dests[i].cork?.()
    else dests[i].uncork?.()
  }
}
