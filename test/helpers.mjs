import net from 'node:net'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'

export const INFO_HASH = '0123456789abcdef0123456789abcdef01234567'
export const PEER_A = '2d4141303030302d' + 'a'.repeat(24)
export const PEER_B = '2d4242303030302d' + 'b'.repeat(24)

/** Wait for an event, failing after `ms`. */
export function event (emitter, name, ms = 5000) {
  return once(emitter, name, { signal: AbortSignal.timeout(ms) })
}

/** Two wires piped to each other in memory, both handshaken. */
export async function pair ({ fast = false, dht = false, before } = {}) {
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  if (before) before(a, b)
  b.once('handshake', () => b.handshake(INFO_HASH, PEER_B, { fast, dht }))
  const done = Promise.all([event(a, 'handshake'), event(b, 'handshake')])
  a.handshake(INFO_HASH, PEER_A, { fast, dht })
  await done
  return { a, b }
}

/** Two wires over a real 127.0.0.1 TCP connection: a is outgoing, b incoming. */
export async function tcpPair (setup = () => {}) {
  let b
  const server = net.createServer()
  const accepted = new Promise(resolve => server.once('connection', socket => {
    b = new Wire('tcpIncoming')
    setup(b, 'b')
    socket.pipe(b).pipe(socket)
    resolve(socket)
  }))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const socket = net.connect(server.address().port, '127.0.0.1')
  const a = new Wire('tcpOutgoing')
  setup(a, 'a')
  socket.pipe(a).pipe(socket)
  const serverSocket = await accepted
  server.close()
  return { a, b, socket, serverSocket }
}

/** Encode a raw message: length prefix, id, payload. */
export function msg (id, ...parts) {
  const payload = Buffer.concat(parts.map(p => Buffer.isBuffer(p) ? p : u32(p)))
  const head = Buffer.alloc(5)
  head.writeUInt32BE(payload.length + 1, 0)
  head[4] = id
  return Buffer.concat([head, payload])
}

export function u32 (n) {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n, 0)
  return b
}

/** A raw 68-byte handshake. */
export function rawHandshake ({ fast = false, extended = true, dht = false, infoHash = INFO_HASH, peerId = PEER_B } = {}) {
  const reserved = Buffer.alloc(8)
  if (extended) reserved[5] |= 0x10
  if (fast) reserved[7] |= 0x04
  if (dht) reserved[7] |= 0x01
  return Buffer.concat([Buffer.from('\u0013BitTorrent protocol', 'latin1'), reserved, Buffer.from(infoHash, 'hex'), Buffer.from(peerId, 'hex')])
}

/** Collect everything a wire sends. */
export function sink (wire) {
  const chunks = []
  wire.on('data', c => chunks.push(c))
  return { bytes: () => Buffer.concat(chunks), chunks }
}
