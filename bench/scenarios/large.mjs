// One 8 MiB piece message arriving in 1460-byte segments (a TCP MSS): time to receive it.
import { IMPLS, handshakeBytes, destroyAll } from '../impls.mjs'

const SEG = 1460
let cache = null

function segments (size) {
  if (cache && cache.size === size) return cache
  const msg = Buffer.alloc(size + 13, 0x33)
  msg.writeUInt32BE(size + 9, 0); msg[4] = 7; msg.writeUInt32BE(0, 5); msg.writeUInt32BE(0, 9)
  const segs = []
  for (let i = 0; i < msg.length; i += SEG) segs.push(msg.subarray(i, Math.min(msg.length, i + SEG)))
  cache = { size, segs }
  return cache
}

export default {
  name: 'large',
  title: 'one 8 MiB message in 1460-byte segments (time)',
  unit: 's',
  higherIsBetter: false,
  maxRounds: 3, // the anchors take seconds per round here
  warmup: { runs: 1, scale: 0.25 },
  // ratio: how many times faster ours is (anchor time / our time)
  ratio: (med, better) => med[better] / med.ours,
  ratioText: 'x faster',
  target: ['>=', 50],
  impls: ['ours', 'bt3', 'bt5'],
  async run (impl, { scale }) {
    const size = scale >= 1 ? 8 << 20 : Math.max(256 << 10, Math.round((8 << 20) * scale))
    const { segs } = segments(size)
    // ours admits 256 KiB messages by default: raise the limit for this test
    const w = IMPLS[impl].create({ maxMessageLength: size + 9 })
    w.on('error', () => {})
    w.resume()
    w.write(handshakeBytes())
    await new Promise(resolve => setImmediate(resolve))
    const done = new Promise(resolve => w.once('piece', (i, o, block) => resolve(block.length)))
    const t0 = process.hrtime.bigint()
    for (const s of segs) w.write(s)
    const got = await done
    const secs = Number(process.hrtime.bigint() - t0) / 1e9
    if (got !== size) throw new Error(impl + ': wrong block size ' + got)
    destroyAll(w)
    return secs
  }
}
