/**
 * bt-wire fetch: get a torrent from one peer. With only a magnet link or info hash, the info
 * dictionary comes first, through the ut_metadata plugin; then every piece, pipelined and
 * SHA-1 checked, is written into the torrent's files under the output directory.
 */
import utMetadata from 'ut_metadata'
import type Wire from 'bittorrent-protocol'
import { download, trackAnnounced, type DownloadStats } from './download.js'
import { Progress } from './progress.js'
import { FileStore, metaFromTorrentFile, pieceSize, resolveTarget, sha1, type TorrentMeta } from './torrent.js'
import {
  CliError, Exit, dial, formatBytes, makePeerId, mbPerSec, mibPerSec, parseHostPort, printJson, usageError,
  waitHandshake, wireEndError, CLIENT_NAME, type Output
} from './util.js'

export interface FetchOptions extends Output {
  target: string
  peer: string | null
  outDir: string
  encrypt: boolean
  timeoutMs: number
  stallMs: number
  pipeline: number
  progress: boolean
  /** Between progress lines when stderr is not a terminal (ms). */
  progressIntervalMs?: number
}

function getMetadata (wire: Wire, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ext = (wire as any).ut_metadata
    let lastError: Error | null = null
    let warning = ''
    const done = (): void => {
      clearTimeout(timer)
      wire.removeListener('close', onClose)
      wire.removeListener('extended', onExtended)
    }
    const onClose = (): void => {
      done()
      reject(wireEndError(lastError, Exit.REFUSED, 'the peer closed the connection before sending the metadata'))
    }
    const onExtended = (name: string | number): void => {
      if (name !== 'handshake') return
      const m = wire.peerExtendedHandshake?.m
      if (m === undefined || m === null || typeof m.ut_metadata !== 'number' || m.ut_metadata === 0) {
        done()
        reject(new CliError(Exit.REFUSED, 'the peer does not offer ut_metadata: give a .torrent file instead'))
      }
    }
    const timer = setTimeout(() => {
      done()
      reject(new CliError(Exit.FAILURE, `no metadata from the peer within ${timeoutMs / 1000} s${warning ? ` (${warning})` : ''}`))
    }, timeoutMs)
    wire.on('error', err => { lastError = err })
    wire.once('close', onClose)
    wire.on('extended', onExtended)
    ext.on('warning', (err: Error) => { warning = err.message })
    ext.once('metadata', (buf: Buffer) => { done(); resolve(buf) })
    ext.fetch()
  })
}

/** Check what is on disk piece by piece: the pieces that verify are not fetched again. */
async function checkExisting (meta: TorrentMeta, store: FileStore, progress: Progress, signal: AbortSignal): Promise<boolean[]> {
  const have = meta.pieceHashes.map(() => false)
  const todo = meta.pieceHashes.map((_, i) => i).filter(i => store.touchesExisting(i))
  let bytes = 0
  progress.start(todo.reduce((n, i) => n + pieceSize(meta, i), 0), todo.length)
  try {
    for (let k = 0; k < todo.length; k++) {
      if (signal.aborted) throw signal.reason
      const i = todo[k]
      const size = pieceSize(meta, i)
      const data = await store.read(i, 0, size).catch(() => null)
      if (data !== null && sha1(data).equals(meta.pieceHashes[i])) have[i] = true
      bytes += size
      progress.update(bytes, k + 1)
    }
    progress.stop(true)
  } finally {
    progress.stop()
  }
  return have
}

export async function fetch (opts: FetchOptions): Promise<void> {
  const target = await resolveTarget(opts.target, 'fetch')
  const peerText = opts.peer ?? target.peers[0]
  if (peerText === undefined) throw usageError('fetch needs a peer: --peer HOST:PORT (or a magnet link with x.pe)')
  const { host, port } = parseHostPort(peerText)
  const log = (line: string): void => { if (!opts.json) process.stdout.write(line + '\n') }
  const progressOn = opts.progress && !opts.json

  // Ctrl-C (SIGINT) or SIGTERM: stop, keep every verified piece on disk, exit 130
  const abort = new AbortController()
  let store: FileStore | null = null
  /** Pieces verified (on disk before and this run) of all, once the download runs: said at Ctrl-C. */
  let verified: { pieces: number, of: number } | null = null
  const onSignal = (): void => {
    const count = verified !== null ? ` with ${verified.pieces}/${verified.of} pieces verified` : ''
    const left = store !== null ? ' (the verified pieces stay in the .part files: run the same command again to continue)' : ''
    abort.abort(new CliError(Exit.INTERRUPTED, `interrupted${count}${left}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const interrupted = new Promise<never>((resolve, reject) => {
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason))
  })
  interrupted.catch(() => {})
  const orInterrupt = <T>(p: Promise<T>): Promise<T> => Promise.race([p, interrupted])

  /** Open the files (NAME.part while incomplete) and check what an earlier run left. */
  const prepare = async (meta: TorrentMeta): Promise<boolean[]> => {
    store = new FileStore(opts.outDir, meta, 'write')
    const { existing } = await store.open().catch((err: Error) => {
      throw err instanceof CliError ? err : new CliError(Exit.FAILURE, `cannot create the files under ${opts.outDir}: ${err.message}`)
    })
    if (existing === 0) return meta.pieceHashes.map(() => false)
    log(`checking the data already under ${opts.outDir}`)
    return await checkExisting(meta, store, new Progress({ enabled: progressOn, label: 'check', intervalMs: opts.progressIntervalMs }), abort.signal)
  }

  let wire: Wire | null = null
  let completed = false
  try {
    // with a .torrent, data on disk is checked before connecting: a complete download needs no peer
    let have: boolean[] | null = null
    if (target.meta !== null) {
      have = await prepare(target.meta)
      if (have.every(Boolean)) {
        await store!.complete()
        completed = true
        finishReport(opts, log, target.meta, store!, null, null, { bytes: 0, piecesVerified: 0, piecesNeeded: 0, hashFailures: 0, requeued: 0 }, have, 0, false)
        return
      }
    }

    const dialed = await orInterrupt(dial(host, port, target.infoHash, opts.encrypt, opts.timeoutMs))
    wire = dialed.wire
    const { encryption } = dialed
    wire.use(utMetadata(target.meta?.infoBuffer))
    wire.extendedHandshake.v = CLIENT_NAME
    wire.handshake(target.infoHash, makePeerId(), { fast: true })
    wire.setTimeout(opts.timeoutMs, true)
    const metadataPromise = target.meta === null ? getMetadata(wire, opts.timeoutMs) : null
    metadataPromise?.catch(() => {})
    // the peer's bitfield / have-all / have-none may come in the same packet as its handshake
    const announced = trackAnnounced(wire)
    const hs = await orInterrupt(waitHandshake(wire, target.infoHash, opts.timeoutMs, dialed))
    if (metadataPromise !== null && hs.extensions.extended !== true) {
      throw new CliError(Exit.REFUSED, 'the peer does not speak the extension protocol, so it cannot send the metadata: give a .torrent file instead')
    }
    log(`connected to ${host}:${port}${encryption !== null ? ` (MSE, ${encryption.method})` : ''}`)
    if (wire.hasFast) wire.haveNone()

    let meta: TorrentMeta
    if (metadataPromise !== null) {
      const buf = await orInterrupt(metadataPromise)
      meta = await metaFromTorrentFile(buf, 'the metadata from the peer')
      if (meta.infoHash !== target.infoHash) throw new CliError(Exit.PROTOCOL, 'the metadata from the peer does not match the info hash')
      log(`metadata: ${formatBytes(meta.infoBuffer.length)} via ut_metadata`)
    } else {
      meta = target.meta!
    }
    log(`torrent ${meta.name}: ${formatBytes(meta.length)}, ${meta.files.length} file${meta.files.length === 1 ? '' : 's'}, ` +
      `${meta.pieceHashes.length} pieces of ${formatBytes(meta.pieceLength)}`)

    if (have === null) {
      wire.setKeepAlive(true)
      have = await prepare(meta)
    }
    const onDisk = have
    const doneBytes = meta.pieceHashes.reduce((n, _, i) => n + (onDisk[i] ? pieceSize(meta, i) : 0), 0)
    const donePieces = onDisk.filter(Boolean).length
    if (donePieces > 0) log(`resuming: ${donePieces}/${meta.pieceHashes.length} pieces (${formatBytes(doneBytes)}) already on disk and verified`)

    const progress = new Progress({ enabled: progressOn, label: 'fetch', intervalMs: opts.progressIntervalMs })
    const started = process.hrtime.bigint()
    progress.start(meta.length, meta.pieceHashes.length, doneBytes, donePieces)
    const counted = verified = { pieces: donePieces, of: meta.pieceHashes.length }
    let stats: DownloadStats
    try {
      stats = await download(wire, meta, store!, {
        pipeline: opts.pipeline,
        stallMs: opts.stallMs,
        announceMs: opts.timeoutMs,
        announced,
        have: i => onDisk[i],
        signal: abort.signal,
        onProgress: s => {
          counted.pieces = donePieces + s.piecesVerified
          progress.update(doneBytes + s.bytes, counted.pieces)
        }
      })
      progress.stop(true)
    } finally {
      progress.stop()
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    await store!.complete()
    completed = true
    finishReport(opts, log, meta, store!, `${host}:${port}`, encryption === null ? 'none' : encryption.method, stats, onDisk, ms, metadataPromise !== null)
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    wire?.destroy()
    if (completed) await (store as FileStore | null)?.close()
    else await (store as FileStore | null)?.discardUnused()
  }
}

function finishReport (opts: FetchOptions, log: (line: string) => void, meta: TorrentMeta, store: FileStore, peer: string | null,
  encryption: string | null, stats: DownloadStats, onDisk: boolean[], ms: number, metadataFromPeer: boolean): void {
  const files = store.filePaths
  const resumedPieces = onDisk.filter(Boolean).length
  const result = {
    infoHash: meta.infoHash,
    name: meta.name,
    peer,
    encryption,
    bytes: meta.length,
    /** Bytes fetched from the peer in this run (the rest was on disk). */
    bytesFetched: stats.bytes,
    pieces: meta.pieceHashes.length,
    /** Pieces found on disk and verified before fetching. */
    piecesOnDisk: resumedPieces,
    /** Pieces fetched and verified in this run. */
    piecesVerified: stats.piecesVerified,
    hashFailures: stats.hashFailures,
    ms: Math.round(ms),
    mbPerSec: mbPerSec(stats.bytes, ms),
    mibPerSec: mibPerSec(stats.bytes, ms),
    metadataFromPeer,
    files
  }
  if (opts.json) { printJson(result); return }
  if (peer === null) {
    log(`${meta.name} is already complete under ${opts.outDir}: ${resumedPieces}/${meta.pieceHashes.length} pieces verified on disk, nothing to fetch`)
  } else {
    log(`fetched ${formatBytes(stats.bytes)} in ${(ms / 1000).toFixed(2)} s: ${result.mibPerSec} MiB/s, ` +
      `${stats.piecesVerified + resumedPieces}/${meta.pieceHashes.length} pieces SHA-1 verified` +
      (resumedPieces > 0 ? ` (${resumedPieces} were already on disk)` : ''))
  }
  for (const f of files) log(`  ${f}`)
}
