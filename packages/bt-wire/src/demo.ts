/**
 * bt-wire demo: the main job in one process. A seeder wire and a leecher wire talk over a
 * real TCP connection on 127.0.0.1; the leecher downloads a generated payload with pipelined
 * requests and checks every piece's SHA-1 against the info dictionary's hashes.
 */
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire, { type EncryptResult } from 'bittorrent-protocol'
import { download } from './download.js'
import { serve } from './serve.js'
import { MAX_PIECE_LENGTH, MemoryStore, sha1 } from './torrent.js'
import { Progress } from './progress.js'
import { CliError, Exit, attach, formatBytes, makePeerId, mbPerSec, mibPerSec, printJson, type Output } from './util.js'

export interface DemoOptions extends Output {
  size: number
  pieceLength: number
  fast: boolean
  encrypt: boolean
  pipeline: number
  progress: boolean
}

export async function demo (opts: DemoOptions): Promise<void> {
  const { size, pieceLength } = opts
  if (pieceLength % 16384 !== 0 && pieceLength < size) throw new CliError(Exit.USAGE, '--piece must be a multiple of 16 KiB')
  // the payload and its received copy are both held in memory
  if (pieceLength > MAX_PIECE_LENGTH) throw new CliError(Exit.USAGE, '--piece is at most 64MiB')
  if (size > 1024 ** 3) throw new CliError(Exit.USAGE, '--size is at most 1GiB (the demo holds the payload twice in memory)')
  const payload = randomBytes(size)
  const hashes: Buffer[] = []
  for (let off = 0; off < size; off += pieceLength) hashes.push(sha1(payload.subarray(off, off + pieceLength)))
  const info = { name: Buffer.from('bt-wire-demo.bin'), length: size, 'piece length': pieceLength, pieces: Buffer.concat(hashes) }
  const infoBuffer = bencode.encode(info)
  const meta = {
    infoHash: sha1(infoBuffer).toString('hex'),
    infoBuffer,
    pieceLength,
    lastPieceLength: size - (hashes.length - 1) * pieceLength,
    pieceHashes: hashes
  }

  // the seeder: a TCP server whose one connection gets a wire that serves the payload
  const server = net.createServer()
  let seederEncryption: Promise<EncryptResult | null> = Promise.resolve(null)
  server.on('connection', socket => {
    const wire = new Wire('tcpIncoming')
    if (opts.encrypt) seederEncryption = wire.encrypt({ policy: 'require', infoHashes: [meta.infoHash] })
    seederEncryption.catch(() => {})
    serve(wire, meta, new MemoryStore(payload, pieceLength), { peerId: makePeerId(), fast: opts.fast })
    wire.on('error', () => {})
    attach(socket, wire)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo

  // the leecher: dials the seeder, handshakes, downloads every piece
  const received = Buffer.alloc(size)
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const wire = new Wire('tcpOutgoing')
  let encryption: EncryptResult | null = null
  const encrypting = opts.encrypt ? wire.encrypt({ policy: 'require', infoHash: meta.infoHash }) : null
  attach(socket, wire)
  wire.on('error', () => {})
  if (encrypting !== null) encryption = await encrypting
  wire.handshake(meta.infoHash, makePeerId(), { fast: opts.fast })
  wire.setTimeout(30000, true)

  const progress = new Progress({ enabled: opts.progress && !opts.json, label: 'demo' })
  if (!opts.json) {
    process.stdout.write(`bt-wire demo: ${formatBytes(size)} in ${hashes.length} pieces of ${formatBytes(pieceLength)}, ` +
      `seeder and leecher over 127.0.0.1:${port} (${opts.encrypt ? 'MSE/RC4' : 'plaintext'}, fast extension ${opts.fast ? 'on' : 'off'})\n`)
  }
  const started = process.hrtime.bigint()
  progress.start(size, hashes.length)
  let stats
  try {
    stats = await download(wire, meta, new MemoryStore(received, pieceLength), {
      pipeline: opts.pipeline,
      onProgress: s => progress.update(s.bytes, s.piecesVerified)
    })
  } finally {
    progress.stop()
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const identical = received.equals(payload)
  wire.destroy()
  server.close()
  if (!identical) throw new CliError(Exit.FAILURE, 'the received payload differs from the one sent')
  const result = {
    bytes: size,
    pieces: hashes.length,
    pieceLength,
    piecesVerified: stats.piecesVerified,
    hashFailures: stats.hashFailures,
    ms: Math.round(ms),
    mbPerSec: mbPerSec(size, ms),
    mibPerSec: mibPerSec(size, ms),
    fast: wire.hasFast,
    encryption: encryption?.method ?? 'none',
    pipeline: opts.pipeline,
    infoHash: meta.infoHash,
    identical
  }
  if (opts.json) { printJson(result); return }
  process.stdout.write(`moved ${formatBytes(size)} in ${(ms / 1000).toFixed(2)} s: ${result.mibPerSec} MiB/s\n` +
    `${stats.piecesVerified}/${hashes.length} pieces SHA-1 verified, payload identical` +
    `${encryption !== null ? `, encryption ${encryption.method}` : ''}\n`)
}
