// Heap held per idle handshaken wire: pairs of piped wires that exchanged handshakes
// (and extended handshakes), then sit idle. Needs --expose-gc.
import { pipedPair, destroyAll } from '../impls.mjs'

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
  impls: ['ours', 'bt3', 'bt5'],
  warmup: { runs: 0 }, // it warms up inside each run
  available: () => typeof globalThis.gc === 'function' ? null : 'run node with --expose-gc',
  async run (impl, { scale }) {
    const pairs = Math.max(50, Math.round(1000 * scale))
    // warm up: first instances build shared state (prototypes, module caches)
    const warm = pipedPair(impl)
    await warm.ready
    await settle()
    const held = []
    const before = gcHeap()
    for (let i = 0; i < pairs; i++) held.push(pipedPair(impl))
    await Promise.all(held.map(p => p.ready))
    await settle()
    const after = gcHeap()
    for (const p of held) destroyAll(p.a, p.b)
    destroyAll(warm.a, warm.b)
    await settle()
    return (after - before) / (pairs * 2)
  }
}
