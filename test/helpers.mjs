import net from 'node:net'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'

// one set of constants and byte builders for all tests: test/fixtures/raw.mjs
import { INFO_HASH, PEER_A, PEER_B, msg, u32 } from './fixtures/raw.mjs'
export { INFO_HASH, PEER_A, PEER_B, msg, u32 }

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

/** A connected pair of TCP sockets on 127.0.0.1: { client, serverSocket }. */
export async function socketPair () {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const client = net.connect(server.address().port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSocket] = await accepted
  server.close()
  return { client, serverSocket }
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

/** Collect everything a wire sends. */
export function sink (wire) {
  const chunks = []
  wire.on('data', c => chunks.push(c))
  return { bytes: () => Buffer.concat(chunks), chunks }
}
