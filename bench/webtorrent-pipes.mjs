// What WebTorrent puts between a socket and its wire (lib/peer.js `setThrottlePipes`, WebTorrent
// 1.9.7 and 3.0.21), for measures of a wire as WebTorrent holds one: a throttle of the client's
// download and upload ThrottleGroup (speed-limiter; no limit set, as by default) and a Transform
// counting the bytes each way:
//   WebTorrent 3:     streamx pipeline(conn, down, Transform, wire, up, Transform, conn)
//   WebTorrent 1.9.7: conn.pipe(down).pipe(Transform).pipe(wire).pipe(up).pipe(Transform).pipe(conn),
//                     node:stream Transforms
import net from 'node:net'
import nodeStream from 'node:stream'
import { once } from 'node:events'
import streamx from 'streamx'
import { ThrottleGroup } from 'speed-limiter'
import { noop } from './impls.mjs'

// one client's groups, shared by all its connections
const throttleGroups = { down: new ThrottleGroup({ rate: 0, enabled: false }), up: new ThrottleGroup({ rate: 0, enabled: false }) }
const counted = { download: 0, upload: 0 }

/** WebTorrent `line`'s (3 or 5) pipes between `conn` and `wire`; returns the streams between them. */
export function webTorrentPipes (line, conn, wire) {
  const { down, up } = throttleGroups
  if (line === 5) {
    const between = [down.throttle(), new streamx.Transform({ transform (chunk, cb) { counted.download += chunk.length; cb(null, chunk) } }),
      up.throttle(), new streamx.Transform({ transform (chunk, cb) { counted.upload += chunk.length; cb(null, chunk) } })]
    streamx.pipeline(conn, between[0], between[1], wire, between[2], between[3], conn)
    return between
  }
  const between = [down.throttle(), new nodeStream.Transform({ transform (chunk, enc, cb) { counted.download += chunk.length; cb(null, chunk) } }),
    up.throttle(), new nodeStream.Transform({ transform (chunk, enc, cb) { counted.upload += chunk.length; cb(null, chunk) } })]
  conn.pipe(between[0]).pipe(between[1]).pipe(wire).pipe(between[2]).pipe(between[3]).pipe(conn)
  return between
}

// one server on 127.0.0.1 for every connection
let listening = null
const accepted = []

/** Both ends of a new loopback TCP connection: [outgoing, incoming]. */
export async function tcpConnection () {
  listening ??= new Promise(resolve => {
    const server = net.createServer(socket => accepted.shift()(socket))
    server.listen(0, '127.0.0.1', () => resolve(server.address().port))
    server.unref()
  })
  const port = await listening
  const incoming = new Promise(resolve => accepted.push(resolve))
  const outgoing = net.connect(port, '127.0.0.1')
  await once(outgoing, 'connect')
  const socket = await incoming
  for (const s of [outgoing, socket]) s.on('error', noop)
  return [outgoing, socket]
}

/**
 * `a` and `b` on the two ends of a loopback TCP connection, each through WebTorrent `line`'s
 * pipes; returns every stream made (sockets, throttles, Transforms) to destroy with the wires.
 */
export async function overWebTorrentPipes (line, a, b) {
  const [outgoing, incoming] = await tcpConnection()
  return [outgoing, incoming, ...webTorrentPipes(line, outgoing, a), ...webTorrentPipes(line, incoming, b)]
}
