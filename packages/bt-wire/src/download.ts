/**
 * Download every piece of a torrent from one peer over one wire: pipelined block requests
 * (16 KiB each, up to `pipeline` in flight, capped by the peer's `reqq`), each piece SHA-1
 * checked before it is handed to the store. Blocks lost to a choke or a reject are asked
 * again after the next unchoke; a piece that fails its hash is fetched again (3 tries).
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
}

export interface DownloadStats {
  bytes: number
  piecesVerified: number
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
    const stats: DownloadStats = { bytes: 0, piecesVerified: 0, hashFailures: 0, requeued: 0 }
    const retry: Block[] = []
    const active = new Map<number, Active>()
    const tries = new Map<number, number>()
    /** Pieces not started whose availability we have not checked yet: nextPiece..total-1. */
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
      finish(wireEndError(lastError, Exit.REFUSED, `the peer closed the connection with ${total - stats.piecesVerified} of ${total} pieces left`))
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
      while (index < 0 && nextPiece < total) {
        const i = nextPiece++
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
        if (stats.piecesVerified === total && writes === 0) {
          if (wire.amInterested) wire.uninterested()
          finish(null)
        }
      }, (err: Error) => finish(new CliError(Exit.FAILURE, `cannot write piece ${block.index}: ${err.message}`)))
    }

    const onHave = (index: number): void => { if (deferred.has(index)) fill() }
    const onAvailable = (): void => fill()

    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress < stallMs) return
      const why = wire.peerChoking ? 'the peer keeps choking us' : (active.size === 0 && queue.length === 0 && retry.length === 0 ? 'the peer does not have the pieces we need' : 'the peer stopped sending')
      finish(new CliError(Exit.FAILURE, `no data for ${stallMs / 1000} s with ${total - stats.piecesVerified} pieces left: ${why}`))
    }, Math.min(1000, stallMs))
    watchdog.unref()

    wire.on('unchoke', fill)
    wire.on('have', onHave)
    wire.on('bitfield', onAvailable)
    wire.on('have-all', onAvailable)
    wire.on('error', onError)
    wire.once('close', onClose)
    if (wire.destroyed) { onClose(); return }
    fill()
  })
}
