/**
 * bt-wire fetch: get a torrent from one peer. With only a magnet link or info hash, the info
 * dictionary comes first, through the ut_metadata plugin; then every piece, pipelined and
 * SHA-1 checked, is written into the torrent's files under the output directory.
 */
import utMetadata from 'ut_metadata'
import type Wire from 'bittorrent-protocol'
import { download } from './download.js'
import { Progress } from './progress.js'
import { FileStore, metaFromTorrentFile, resolveTarget, type TorrentMeta } from './torrent.js'
import {
  CliError, Exit, dial, formatBytes, makePeerId, mbPerSec, parseHostPort, printJson, usageError,
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

export async function fetch (opts: FetchOptions): Promise<void> {
  const target = await resolveTarget(opts.target)
  const peerText = opts.peer ?? target.peers[0]
  if (peerText === undefined) throw usageError('fetch needs a peer: --peer HOST:PORT (or a magnet link with x.pe)')
  const { host, port } = parseHostPort(peerText)
  const log = (line: string): void => { if (!opts.json) process.stdout.write(line + '\n') }

  const { wire, encryption, lastError: errorOf } = await dial(host, port, target.infoHash, opts.encrypt, opts.timeoutMs)
  let store: FileStore | null = null
  try {
    wire.use(utMetadata(target.meta?.infoBuffer))
    wire.extendedHandshake.v = CLIENT_NAME
    wire.handshake(target.infoHash, makePeerId(), { fast: true })
    wire.setTimeout(opts.timeoutMs, true)
    const metadataPromise = target.meta === null ? getMetadata(wire, opts.timeoutMs) : null
    metadataPromise?.catch(() => {})
    const hs = await waitHandshake(wire, target.infoHash, opts.timeoutMs)
    if (metadataPromise !== null && hs.extensions.extended !== true) {
      throw new CliError(Exit.REFUSED, 'the peer does not speak the extension protocol, so it cannot send the metadata: give a .torrent file instead')
    }
    log(`connected to ${host}:${port}${encryption !== null ? ` (MSE, ${encryption.method})` : ''}`)
    if (wire.hasFast) wire.haveNone()

    let meta: TorrentMeta
    if (metadataPromise !== null) {
      const buf = await metadataPromise
      meta = await metaFromTorrentFile(buf, 'the metadata from the peer')
      if (meta.infoHash !== target.infoHash) throw new CliError(Exit.PROTOCOL, 'the metadata from the peer does not match the info hash')
      log(`metadata: ${formatBytes(meta.infoBuffer.length)} via ut_metadata`)
    } else {
      meta = target.meta!
    }
    log(`torrent ${meta.name}: ${formatBytes(meta.length)}, ${meta.files.length} file${meta.files.length === 1 ? '' : 's'}, ` +
      `${meta.pieceHashes.length} pieces of ${formatBytes(meta.pieceLength)}`)

    store = new FileStore(opts.outDir, meta, 'write')
    await store.create().catch((err: Error) => { throw new CliError(Exit.FAILURE, `cannot create the files under ${opts.outDir}: ${err.message}`) })
    const progress = new Progress(opts.progress && !opts.json, 'fetch')
    const started = process.hrtime.bigint()
    progress.start(meta.length, meta.pieceHashes.length)
    let stats
    try {
      stats = await download(wire, meta, store, {
        pipeline: opts.pipeline,
        stallMs: opts.stallMs,
        onProgress: s => progress.update(s.bytes, s.piecesVerified)
      })
    } finally {
      progress.stop()
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    await store.close()
    const files = store.filePaths
    const result = {
      infoHash: meta.infoHash,
      name: meta.name,
      peer: `${host}:${port}`,
      encryption: encryption === null ? 'none' : encryption.method,
      bytes: meta.length,
      pieces: meta.pieceHashes.length,
      piecesVerified: stats.piecesVerified,
      hashFailures: stats.hashFailures,
      ms: Math.round(ms),
      mbPerSec: mbPerSec(meta.length, ms),
      metadataFromPeer: metadataPromise !== null,
      files
    }
    if (opts.json) { printJson(result); return }
    log(`fetched ${formatBytes(meta.length)} in ${(ms / 1000).toFixed(2)} s: ${result.mbPerSec} MB/s, ` +
      `${stats.piecesVerified}/${meta.pieceHashes.length} pieces SHA-1 verified`)
    for (const f of files) log(`  ${f}`)
  } finally {
    wire.destroy()
    await store?.close()
  }
}
