/**
 * bt-wire seed: make a torrent of a file or folder (create-torrent), or check an existing
 * .torrent's data, then listen and serve every peer that connects, ut_metadata included.
 */
import net from 'node:net'
import os from 'node:os'
import { once } from 'node:events'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { toMagnetURI } from 'parse-torrent'
import bencode from 'bencode'
import Wire from 'bittorrent-protocol'
import { serve } from './serve.js'
import { Progress } from './progress.js'
import { FileStore, makeTorrent, metaFromUserFile, rootOf, sha1, pieceSize, type TorrentMeta } from './torrent.js'
import { CliError, Exit, attach, decodePeerId, describePeer, formatBytes, makePeerId, printJson, CLIENT_NAME, type Output } from './util.js'

/** Connections served at once; more are refused by the server. */
const MAX_PEERS = 200

export interface SeedOptions extends Output {
  path: string
  /** Where an existing .torrent's data is (default: the .torrent's folder). */
  dataDir: string | null
  host: string
  port: number
  pieceLength: number | undefined
  encrypt: boolean
  saveTorrent: string | null
  /** A peer's handshake deadline; a handshaken peer silent for 5 times this is closed. */
  timeoutMs: number
  progress: boolean
  /** Seconds between progress lines when stderr is not a terminal. */
  progressIntervalMs?: number
}

/** Check every piece of the data against the torrent. */
async function check (meta: TorrentMeta, store: FileStore, progress: Progress): Promise<void> {
  progress.start(meta.length, meta.pieceHashes.length)
  let bytes = 0
  try {
    for (let i = 0; i < meta.pieceHashes.length; i++) {
      const size = pieceSize(meta, i)
      let data: Buffer
      try {
        data = await store.read(i, 0, size)
      } catch (err) {
        throw new CliError(Exit.FAILURE, `cannot read the data of ${meta.name} under ${store.root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
      if (!sha1(data).equals(meta.pieceHashes[i])) throw new CliError(Exit.FAILURE, `the data under ${store.root} does not match the torrent: piece ${i} fails its SHA-1 check`)
      bytes += size
      progress.update(bytes, i + 1)
    }
    progress.stop(true)
  } finally {
    progress.stop()
  }
}

function announceHost (host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host.includes(':') ? `[${host}]` : host
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

export async function seed (opts: SeedOptions): Promise<void> {
  const log = (line: string): void => { if (!opts.json) process.stdout.write(line + '\n') }
  const event = (obj: Record<string, unknown>): void => { if (opts.json) printJson(obj) }
  const progressOpts = { enabled: opts.progress && !opts.json, intervalMs: opts.progressIntervalMs }
  let st
  try {
    st = await stat(opts.path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(Exit.USAGE, `cannot seed ${opts.path}: ${code === 'ENOENT' ? 'no such file or folder' : code ?? (err as Error).message}`, 'BAD_INPUT')
  }
  const isTorrent = st.isFile() && opts.path.endsWith('.torrent')
  if (!isTorrent && opts.dataDir !== null) throw new CliError(Exit.USAGE, '--data is for seeding an existing .torrent')
  // parse a .torrent before anything else: a file that is not one is bad input
  const given = isTorrent ? await metaFromUserFile(await readFile(opts.path), opts.path, 'seed') : null

  // listen before hashing: a port in use is reported at once, not after a long check
  const server = net.createServer()
  server.maxConnections = MAX_PEERS
  server.listen(opts.port, opts.host)
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err })])
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(Exit.FAILURE, `cannot listen on ${opts.host}:${opts.port}: ${code === 'EADDRINUSE' ? 'the port is in use (EADDRINUSE)' : code ?? (err as Error).message}`, code ?? 'FAILURE')
  }
  server.on('error', () => {})
  const port = (server.address() as net.AddressInfo).port
  // until the data is hashed or checked there is nothing to serve: such peers are closed
  let serving: ((socket: net.Socket) => void) | null = null
  server.on('connection', socket => { if (serving !== null) serving(socket); else socket.destroy() })
  log(`listening on ${opts.host}:${port}`)
  event({ event: 'port', host: opts.host, port })

  let meta: TorrentMeta
  let root: string
  try {
    if (given !== null) {
      meta = given
      root = resolve(opts.dataDir ?? dirname(opts.path))
      const store = new FileStore(root, meta, 'read')
      log(`checking ${meta.name} under ${root}`)
      try {
        await check(meta, store, new Progress({ ...progressOpts, label: 'check' }))
      } finally {
        await store.close()
      }
    } else {
      log(`hashing ${opts.path}`)
      const progress = new Progress({ ...progressOpts, label: 'hash' })
      let started = false
      try {
        meta = await makeTorrent(opts.path, {
          pieceLength: opts.pieceLength,
          createdBy: CLIENT_NAME,
          onProgress: (hashed, total) => {
            if (!started) { started = true; progress.start(total, 0) }
            progress.update(hashed, 0)
          }
        })
        if (started) progress.stop(true)
      } finally {
        progress.stop()
      }
      root = rootOf(opts.path)
    }
  } catch (err) {
    server.close()
    throw err
  }
  if (opts.saveTorrent !== null) {
    const torrentFile = meta.torrentFile ?? bencode.encode({ info: bencode.decode(meta.infoBuffer) })
    await writeFile(opts.saveTorrent, torrentFile)
  }
  const store = new FileStore(root, meta, 'read')

  const wires = new Set<Wire>()
  let uploaded = 0
  let peersServed = 0
  serving = socket => {
    const addr = `${socket.remoteAddress}:${socket.remotePort}`
    // a connection that never handshakes, or goes silent (keep-alives count), would hold one
    // of the MAX_PEERS places for good: the wire's own timeouts close it
    const wire = new Wire({ type: 'tcpIncoming', handshakeTimeout: opts.timeoutMs, idleTimeout: opts.timeoutMs * 5 })
    wires.add(wire)
    peersServed++
    wire.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_BT_HANDSHAKE_TIMEOUT') log(`peer ${addr} sent no handshake within ${opts.timeoutMs / 1000} s: closed`)
      else if (err.code === 'ERR_BT_IDLE_TIMEOUT') log(`peer ${addr} was silent for ${opts.timeoutMs * 5 / 1000} s: closed`)
    })
    wire.on('upload', (n: number) => { uploaded += n })
    // by default a peer may speak plain BitTorrent or MSE; --encrypt requires MSE (RC4)
    const encrypting = wire.encrypt({ policy: opts.encrypt ? 'require' : 'prefer', infoHashes: [meta.infoHash] })
    encrypting.catch(() => {})
    let client = '?'
    let wrongTorrent = false
    serve(wire, meta, store, {
      peerId: makePeerId(),
      onWrongTorrent: ih => {
        wrongTorrent = true
        log(`peer ${addr} asked for another torrent (${ih}): closed`)
      }
    })
    wire.on('handshake', (infoHash: string) => {
      if (infoHash !== meta.infoHash) return
      const id = decodePeerId(wire.peerIdBuffer!)
      client = id.client + (id.version !== null ? ' ' + id.version : '')
      // the handshake follows the encryption exchange, whose promise may not have run its callbacks yet
      void encrypting.then(r => r.method, () => 'none').then(encryption => {
        log(`peer ${addr} connected: ${describePeer(wire.peerIdBuffer!)}${encryption !== 'none' ? ` (MSE, ${encryption})` : ''}`)
        event({ event: 'peer', peer: addr, client, encryption })
      })
    })
    wire.once('close', () => {
      wires.delete(wire)
      if (wire.peerId === null || wrongTorrent) return
      log(`peer ${addr} gone: sent ${formatBytes(wire.uploaded)}`)
      event({ event: 'peer-gone', peer: addr, uploaded: wire.uploaded })
    })
    attach(socket, wire)
  }
  const peerAddress = `${announceHost(opts.host)}:${port}`
  const magnet = toMagnetURI({ infoHash: meta.infoHash, name: meta.name, peerAddresses: [peerAddress] })
  log(`seeding ${meta.name}: ${formatBytes(meta.length)}, ${meta.files.length} file${meta.files.length === 1 ? '' : 's'}, ` +
    `${meta.pieceHashes.length} pieces of ${formatBytes(meta.pieceLength)}`)
  log(`info hash ${meta.infoHash}`)
  log(`magnet    ${magnet}`)
  // Ctrl-C is ours before we say we serve: whoever reads that line may send it at once
  const stopped = new Promise<void>(resolve => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop)
      process.removeListener('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  log(`serving on ${opts.host}:${port}${opts.encrypt ? ' (MSE required)' : ''}; Ctrl-C to stop`)
  event({ event: 'listening', host: opts.host, port, infoHash: meta.infoHash, magnet, name: meta.name, length: meta.length, pieces: meta.pieceHashes.length, torrent: opts.saveTorrent })
  await stopped
  server.close()
  for (const w of wires) w.destroy()
  wires.clear()
  await store.close()
  log(`stopped: served ${peersServed} peer${peersServed === 1 ? '' : 's'}, sent ${formatBytes(uploaded)}`)
  event({ event: 'stopped', peers: peersServed, uploaded })
}
