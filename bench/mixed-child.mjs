// One implementation in a process of its own, as a client runs it: idle handshaken wires kept
// alive for the life of the process, and every scenario run in turn within each round (piece
// transfer between piped wires, small messages, one large message in segments, heap per idle
// wire). Forked by bench/mixed.mjs with the implementation's name; each 'round' message gets
// one figure per scenario back. Needs --expose-gc (for the heap figures).
import piped from './scenarios/piped.mjs'
import small from './scenarios/small.mjs'
import large from './scenarios/large.mjs'
import { webTorrent3, webTorrent1 } from './scenarios/webtorrent.mjs'
import { pipedPair } from './impls.mjs'
import { heapPerWire, heapPerWebTorrentWire, heapPerBase, settle } from './heap-measure.mjs'

const impl = process.argv[2]
const idle = Math.max(0, Number(process.env.BENCH_IDLE ?? 100) | 0)

// idle handshaken pairs that live as long as the process, as a client's other peers do
const kept = []
for (let i = 0; i < idle; i++) kept.push(pipedPair(impl))
await Promise.all(kept.map(p => p.ready))
await settle()

// the transfer scenarios in an order that rotates from round to round (those through WebTorrent's
// pipes run on the implementations of their WebTorrent line only)
const TRANSFERS = [piped, small, large, webTorrent3, webTorrent1]

async function round ({ round, scale, warm }) {
  const out = {}
  const k = ((round % TRANSFERS.length) + TRANSFERS.length) % TRANSFERS.length
  const order = TRANSFERS.slice(k).concat(TRANSFERS.slice(0, k))
  for (const sc of order) {
    if (sc.impls !== undefined && !sc.impls.includes(impl)) continue
    // warm-up rounds run the 8 MiB message at a quarter of its size, as the isolated mode does
    const s = warm && sc === large ? scale * 0.25 : scale
    out[sc.name] = await sc.run(impl, { scale: s, round })
  }
  // 2000 pairs: with 500, one run differed from the next by up to 0.25 KiB per wire (some
  // allocation of the process's own, spread over too few wires); with 2000, by 0.06
  const pairs = Math.max(50, Math.round(2000 * scale))
  out.heap = await heapPerWire(impl, false, pairs)
  out['heap-piped'] = await heapPerWire(impl, true, pairs)
  // wires as WebTorrent holds them: WebTorrent 3's plugins on ours and 5.0.9, 1.9.7's on ours and 3.5.5
  if (impl !== 'bt3') out['heap-wt5'] = await heapPerWebTorrentWire(impl, 5, Math.round(pairs / 4))
  if (impl !== 'bt5') out['heap-wt3'] = await heapPerWebTorrentWire(impl, 3, Math.round(pairs / 4))
  // the same on loopback TCP, through the pipes WebTorrent puts between a socket and its wire
  // (throttles and byte-counting Transforms; they and the sockets count too, the same for every implementation)
  if (impl !== 'bt3') out['heap-wt5-tcp'] = await heapPerWebTorrentWire(impl, 5, Math.round(pairs / 4), true)
  if (impl !== 'bt5') out['heap-wt3-tcp'] = await heapPerWebTorrentWire(impl, 3, Math.round(pairs / 4), true)
  // what each wire's stream base costs alone, piped (readable-stream 3 or streamx)
  out['heap-base'] = await heapPerBase(impl, pairs)
  if (impl === 'ours') {
    // the floors, measured in the same process as our wire (same readable-stream)
    out.duplex = await heapPerWire('duplex', false, pairs)
    out['duplex-piped'] = await heapPerWire('duplex', true, pairs)
  }
  return out
}

process.on('message', async msg => {
  if (msg.cmd === 'round') {
    try {
      process.send({ ok: true, result: await round(msg) })
    } catch (err) {
      process.send({ ok: false, error: String(err?.stack ?? err) })
    }
  } else if (msg.cmd === 'exit') {
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
