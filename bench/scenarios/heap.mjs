// Heap per idle handshaken wire, unpiped and piped (bench/heap-measure.mjs), next to the floor
// of our design under the same measure: bare readable-stream Duplexes. Needs --expose-gc.
import { heapPerWire } from '../heap-measure.mjs'

const available = () => typeof globalThis.gc === 'function' ? null : 'run node with --expose-gc'
// as many pairs as bench/mixed-child.mjs measures (fewer: more noise per wire)
const pairsOf = scale => Math.max(50, Math.round(2000 * scale))

export const heapUnpiped = {
  name: 'heap',
  title: 'heap per idle handshaken wire, unpiped (reference)',
  unit: 'B',
  higherIsBetter: false,
  impls: ['ours', 'bt3', 'bt5', 'duplex'],
  warmup: { runs: 0 }, // it warms up inside each run
  available,
  run: (impl, { scale }) => heapPerWire(impl, false, pairsOf(scale))
}

export const heapPiped = {
  name: 'heap-piped',
  title: 'heap per idle handshaken wire, piped (reference)',
  unit: 'B',
  higherIsBetter: false,
  // beside the floor: ours minus the bare Duplex pair's, in KiB
  ratio: med => (med.ours - med.duplex) / 1024,
  ratioText: ' KiB',
  ratioOf: 'the floor',
  impls: ['ours', 'bt3', 'bt5', 'duplex'],
  warmup: { runs: 0 },
  available,
  run: (impl, { scale }) => heapPerWire(impl, true, pairsOf(scale))
}

export default heapUnpiped
