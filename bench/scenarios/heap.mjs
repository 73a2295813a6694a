// Heap held per idle handshaken wire: pairs of piped wires that exchanged handshakes
// (and extended handshakes), then sit idle. Needs --expose-gc.
// Next to them, the floor of our design: two bare readable-stream Duplexes (the base class
// of our Wire) piped into each other, with no protocol state at all.
import stream from 'readable-stream'
import { pipedPair, destroyAll } from '../impls.mjs'

function barePair () {
  const make = () => new stream.Duplex({ read () {}, write (chunk, enc, cb) { cb() } })
  const a = make()
  const b = make()
  a.pipe(b).pipe(a)
  return { a, b, ready: Promise.resolve() }
}

async function settle () {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

function gcHeap () {
  globalThis.gc(); globalThis.gc()
  return process.memoryUsage().heapUsed
}

export default {
  name: 'heap',
  title: 'heap per idle handshaken wire',
  unit: 'B',
  higherIsBetter: false,
  ratio: (med, better) => med.ours / med[better],
  target: ['<=', 0.5],
  impls: ['ours', 'bt3', 'bt5', 'duplex'],
  floor: 'duplex',
  warmup: { runs: 0 }, // it warms up inside each run
  available: () => typeof globalThis.gc === 'function' ? null : 'run node with --expose-gc',
  async run (impl, { scale }) {
    const pairs = Math.max(50, Math.round(1000 * scale))
    // warm up: first instances build shared state (prototypes, module caches)
    const make = impl === 'duplex' ? barePair : () => pipedPair(impl)
    const warm = make()
    await warm.ready
    await settle()
    const held = []
    const before = gcHeap()
    for (let i = 0; i < pairs; i++) held.push(make())
    await Promise.all(held.map(p => p.ready))
    await settle()
    const after = gcHeap()
    for (const p of held) destroyAll(p.a, p.b)
    destroyAll(warm.a, warm.b)
    await settle()
    return (after - before) / (pairs * 2)
  }
}
