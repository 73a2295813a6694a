// Small control messages (have, request alternately) parsed from 64 KiB chunks.
// The wire is choking (requests are checked and dropped, as all three do) and the
// have indices repeat, so the cost measured is framing + dispatch, not application work.
// A final `unchoke` marks the end of the stream.
import { IMPLS, handshakeBytes, destroyAll } from '../impls.mjs'

const CHUNK = 65536
let cache = null

function stream (messages) {
  if (cache && cache.messages === messages) return cache
  const pairs = messages >> 1
  const buf = Buffer.allocUnsafe(pairs * 26 + 5)
  let o = 0
  for (let i = 0; i < pairs; i++) {
    const index = i % 4096
    o = buf.writeUInt32BE(5, o); buf[o++] = 4; o = buf.writeUInt32BE(index, o)
    o = buf.writeUInt32BE(13, o); buf[o++] = 6
    o = buf.writeUInt32BE(index, o); o = buf.writeUInt32BE((i & 63) * 16384, o); o = buf.writeUInt32BE(16384, o)
  }
  o = buf.writeUInt32BE(1, o); buf[o++] = 1
  const chunks = []
  for (let i = 0; i < o; i += CHUNK) chunks.push(buf.subarray(i, Math.min(o, i + CHUNK)))
  cache = { messages, chunks, count: pairs * 2 + 1 }
  return cache
}

export default {
  name: 'small',
  title: 'small messages (have, request) parsed from 64 KiB chunks',
  unit: 'msg/s',
  higherIsBetter: true,
  target: ['>=', 3.0],
  impls: ['ours', 'bt3', 'bt5'],
  async run (impl, { scale }) {
    const { chunks, count } = stream(Math.max(20000, Math.round(2e6 * scale)) & ~1)
    const w = IMPLS[impl].create()
    w.on('error', () => {})
    w.resume() // discard our outgoing bytes
    w.write(handshakeBytes())
    await new Promise(resolve => setImmediate(resolve))
    const done = new Promise(resolve => w.once('unchoke', resolve))
    const t0 = process.hrtime.bigint()
    for (const c of chunks) w.write(c)
    await done
    const secs = Number(process.hrtime.bigint() - t0) / 1e9
    if (w.peerPieces.get(4095) !== true) throw new Error(impl + ': messages were not parsed')
    destroyAll(w)
    return count / secs
  }
}
