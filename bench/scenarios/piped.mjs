// Piece transfer between two piped wires in one process, 64 requests of 16 KiB in flight.
import { pipedPair, transfer, destroyAll } from '../impls.mjs'

const BLOCK = Buffer.alloc(16384, 0x5a)

export default {
  name: 'piped',
  title: 'piece transfer, piped wires, 64 x 16 KiB in flight',
  unit: 'B/s',
  higherIsBetter: true,
  target: ['>=', 2.0],
  impls: ['ours', 'bt3', 'bt5'],
  async run (impl, { scale }) {
    const count = Math.max(256, Math.round(65536 * scale)) // 1 GiB at scale 1
    const { a, b, ready } = pipedPair(impl)
    await ready
    const secs = await transfer(a, b, BLOCK, count, 64)
    destroyAll(a, b)
    return count * BLOCK.length / secs
  }
}
