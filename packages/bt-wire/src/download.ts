/**
 * Download every piece of a torrent from one peer over one wire: pipelined block requests
 * (16 KiB each, up to `pipeline` in flight, capped by the peer's `reqq`), each piece SHA-1
 * checked before it is handed to the store. Blocks lost to a choke or a reject are asked
 * again after the next unchoke; a piece that fails its hash is fetched again (3 tries).
 * Pieces already on disk (`have`) are skipped. It ends early, with exit 4, when the peer
 * cannot serve what is missing: have-none or an empty bitfield (BEP 6, BEP 3), or pieces
 * still missing from what it announced with no `have` for them within the stall time.
 */
import { WireError, ErrorCodes, type Wire } from 'bittorrent-protocol'
import { CliError, Exit, wireEndError } from './util.js'
import { type TorrentMeta, type Store, pieceSize, sha1 } from './torrent.js'

export const BLOCK_LENGTH = 16 * 1024

export interface DownloadOptions {
  /** Most block requests in flight (default 128, lowered to the peer's reqq). */
  pipeline?: number
  /** Give up when no block arrives for this long (ms, default 30000). */
  stallMs?: number
  /** Called after each verified piece is stored. */
  onProgress?: (stats: DownloadStats) => void
  /** Pieces already on disk and verified: not requested. */
  have?: (index: number) => boolean
  /** Ends the download with this error (Ctrl-C). */
  signal?: AbortSignal
  /** A peer that announced none of its pieces (no bitfield, have-all, have-none or have) within this time has none (ms, default 10000). */
  announceMs?: number
  /** What the peer announced before download() started listening. */
  announced?: Announced
}

/** BEP 3 / BEP 6 availability messages seen on a wire; start tracking right after the handshake. */
export interface Announced {
  any: boolean
  none: boolean
}

export function trackAnnounced (wire: Wire): Announced {
  const a: Announced = { any: false, none: false }
  wire.once('bitfield', () => { a.any = true })
  wire.once('have-all', () => { a.any = true })
  wire.once('have', () => { a.any = true })
  wire.once('have-none', () => { a.any = true; a.none = true })
  return a
}

export interface DownloadStats {
  /** Bytes of pieces fetched and verified in this run. */
  bytes: number
  /** Pieces fetched and verified in this run. */
  piecesVerified: number
  /** Pieces this run had to fetch (those not on disk). */
  piecesNeeded: number
  hashFailures: number
  /** Blocks asked again after a choke or reject. */
  requeued: number
}

interface Block { index: number, offset: number, length: number }

interface Active {
  data: Buffer
  missing: number
}

const MAX_HASH_TRIES = 3

type MetaLike = Pick<TorrentMeta, 'pieceHashes' | 'pieceLength' | 'lastPieceLength'>

export function download (wire: Wire, meta: MetaLike, store: Store, opts: DownloadOptions = {}): Promise<DownloadStats> {
  return new Promise((resolve, reject) => {
    const total = meta.pieceHashes.length
    const depthWanted = opts.pipeline ?? 128
    const stallMs = opts.stallMs ?? 30000
    const announceMs = opts.announceMs ?? 10000
    const have = opts.have ?? (() => false)
    const needed: number[] = []
    for (let i = 0; i < total; i++) if (!have(i)) needed.push(i)
    const stats: DownloadStats = { bytes: 0, piecesVerified: 0, piecesNeeded: needed.length, hashFailures: 0, requeued: 0 }
    if (needed.length === 0) { resolve(stats); return }
    const announced = opts.announced ?? trackAnnounced(wire)
    const started = Date.now()
    const retry: Block[] = []
    const active = new Map<number, Active>()
    const tries = new Map<number, number>()
    /** Pieces not started whose availability we have not checked yet: needed[nextPiece..]. */
    let nextPiece = 0
    /** Pieces skipped because the peer did not have them (yet). */
    const deferred = new Set<number>()
    let queue: Block[] = []
    let inflight = 0
    let writes = 0
    let finished = false
    let lastProgress = Date.now()

    const finish = (err: Error | null): void => {
      if (finished) return
      finished = true
      clearInterval(watchdog)
      opts.signal?.removeEventListener('abort', onAbort)
      wire.removeListener('have-none', onHaveNone)
      wire.removeListener('unchoke', fill)
      wire.removeListener('have', onHave)
      wire.removeListener('bitfield', onAvailable)
      wire.removeListener('have-all', onAvailable)
      wire.removeListener('close', onClose)
      wire.removeListener('error', onError)
      if (err !== null) reject(err)
      else resolve(stats)
    }

    let lastError: Error | null = null
    const onError = (err: Error): void => { lastError = err }
    const onClose = (): void => {
      finish(wireEndError(lastError, Exit.REFUSED, `the peer closed the connection with ${needed.length - stats.piecesVerified} of ${total} pieces left`))
    }

    const depth = (): number => {
      const reqq = wire.peerExtendedHandshake?.reqq
      return typeof reqq === 'number' && reqq > 0 ? Math.min(depthWanted, reqq) : depthWanted
    }

    /** Blocks of the next piece the peer has, in order. */
    const startPiece = (): boolean => {
      let index = -1
      for (const i of deferred) {
        if (wire.peerPieces.get(i)) { index = i; deferred.delete(i); break }
      }
      while (index < 0 && nextPiece < needed.length) {
        const i = needed[nextPiece++]
        if (wire.peerPieces.get(i)) index = i
        else deferred.add(i)
      }
      if (index < 0) return false
      const size = pieceSize(meta, index)
      active.set(index, { data: store.pieceBuffer?.(index, size) ?? Buffer.allocUnsafe(size), missing: Math.ceil(size / BLOCK_LENGTH) })
      queue = []
      for (let off = 0; off < size; off += BLOCK_LENGTH) queue.push({ index, offset: off, length: Math.min(BLOCK_LENGTH, size - off) })
      queue.reverse()
      return true
    }

    function fill (): void {
      if (finished) return
      if (!wire.amInterested) wire.interested()
      const max = depth()
      while (inflight < max && !wire.peerChoking && !wire.destroyed) {
        const block = retry.pop() ?? queue.pop()
        if (block === undefined) {
          if (startPiece()) continue
          break
        }
        send(block)
      }
    }

    const send = (block: Block): void => {
      inflight++
      wire.request(block.index, block.offset, block.length, (err, data) => {
        inflight--
        if (finished) return
        if (err !== null && err !== undefined) {
          const code = (err as WireError).code
          if (code === ErrorCodes.WIRE_CLOSED) return // 'close' tells why
          // choked, rejected, timed out: ask again later (after an unchoke, or the next block)
          stats.requeued++
          retry.push(block)
          if (code === ErrorCodes.REQUEST_TIMEOUT) fill()
          return
        }
        onBlock(block, data as Buffer)
        fill()
      })
    }

    const onBlock = (block: Block, data: Buffer): void => {
      const piece = active.get(block.index)
      if (piece === undefined) return
      data.copy(piece.data, block.offset)
      lastProgress = Date.now()
      if (--piece.missing > 0) return
      active.delete(block.index)
      if (!sha1(piece.data).equals(meta.pieceHashes[block.index])) {
        stats.hashFailures++
        const n = (tries.get(block.index) ?? 0) + 1
        tries.set(block.index, n)
        if (n >= MAX_HASH_TRIES) {
          finish(new CliError(Exit.FAILURE, `piece ${block.index} failed its SHA-1 check ${n} times`))
          return
        }
        deferred.add(block.index)
        return
      }
      writes++
      Promise.resolve(store.write(block.index, piece.data)).then(() => {
        writes--
        stats.bytes += piece.data.length
        stats.piecesVerified++
        opts.onProgress?.(stats)
        if (stats.piecesVerified === needed.length && writes === 0) {
          if (wire.amInterested) wire.uninterested()
          finish(null)
        }
      }, (err: Error) => finish(err instanceof CliError ? err : new CliError(Exit.FAILURE, `cannot write piece ${block.index}: ${err.message}`)))
    }

    const onHave = (index: number): void => { if (deferred.has(index)) fill() }

    /** How many of the pieces still needed the peer has announced. */
    const available = (): number => {
      let n = 0
      for (const i of deferred) if (wire.peerPieces.get(i)) n++
      for (let k = nextPiece; k < needed.length; k++) if (wire.peerPieces.get(needed[k])) n++
      return n + active.size
    }
    const hasNone = (): CliError =>
      new CliError(Exit.REFUSED, `the peer has none of the pieces (${announced.none ? 'it sent have-none' : announced.any ? 'its bitfield is empty' : 'it announced no pieces'}): it cannot serve this torrent`, 'PEER_HAS_NONE')
    const onAvailable = (): void => {
      // BEP 6 have-none, or an empty bitfield (BEP 3): the peer has nothing to give us now
      if (announced.any && stats.piecesVerified === 0 && active.size === 0 && countPeerPieces() === 0) {
        finish(hasNone())
        return
      }
      fill()
    }
    const onHaveNone = (): void => { announced.any = true; announced.none = true; onAvailable() }
    const countPeerPieces = (): number => {
      let n = 0
      for (let i = 0; i < total; i++) if (wire.peerPieces.get(i)) n++
      return n
    }

    const watchdog = setInterval(() => {
      if (finished) return
      if (!announced.any && Date.now() - started >= announceMs && countPeerPieces() === 0) {
        finish(hasNone())
        return
      }
      if (Date.now() - lastProgress < stallMs) return
      if (active.size === 0 && queue.length === 0 && retry.length === 0 && available() === 0) {
        const left = needed.length - stats.piecesVerified
        finish(new CliError(Exit.REFUSED, `no data for ${stallMs / 1000} s: the peer does not have the ${left} piece${left === 1 ? '' : 's'} we still need (it has ${countPeerPieces()} of ${total}, and sent no have for the others)`, 'PEER_LACKS_PIECES'))
        return
      }
      const why = wire.peerChoking ? 'the peer keeps choking us' : 'the peer stopped sending'
      finish(new CliError(Exit.FAILURE, `no data for ${stallMs / 1000} s with ${needed.length - stats.piecesVerified} pieces left: ${why}`, 'STALLED'))
    }, Math.min(1000, stallMs, announceMs))
    watchdog.unref()

    const onAbort = (): void => {
      const reason = opts.signal?.reason
      finish(reason instanceof Error ? reason : new CliError(Exit.INTERRUPTED, 'interrupted'))
    }
    if (opts.signal?.aborted === true) { onAbort(); return }
    opts.signal?.addEventListener('abort', onAbort)
    wire.on('have-none', onHaveNone)

    wire.on('unchoke', fill)
    wire.on('have', onHave)
    wire.on('bitfield', onAvailable)
    wire.on('have-all', onAvailable)
    wire.on('error', onError)
    wire.once('close', onClose)
    if (wire.destroyed) { onClose(); return }
    onAvailable()
  })
}
