// Mixed mode (the default of `npm run bench`): each implementation in a child process of its
// own (bench/mixed-child.mjs), holding idle handshaken wires, and running every scenario in
// turn within each round. The processes take turns (one runs a round while the others wait,
// in an order that rotates from round to round), after untimed warm-up rounds; the table
// gives the median of the timed rounds and the ratio to the better anchor.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { IMPLS, ANCHORS } from './impls.mjs'
import { summarize } from './stats.mjs'
import { request } from './child.mjs'

export const MIXED_ROWS = [
  { name: 'piped', title: 'piece transfer between piped wires, 64 × 16 KiB in flight', unit: 'B/s', higherIsBetter: true, target: ['>=', 2.5] },
  { name: 'small', title: 'small messages (have, request) parsed from 64 KiB chunks', unit: 'msg/s', higherIsBetter: true, target: ['>=', 6] },
  { name: 'large', title: 'one 8 MiB message in 1460-byte segments (time)', unit: 's', higherIsBetter: false, ratio: (med, better) => med[better] / med.ours, ratioText: 'x faster', target: ['>=', 100] },
  { name: 'wt5-transfer', title: 'piece transfer over loopback TCP through WebTorrent 3\'s pipes (throttles, Transforms), 64 × 16 KiB in flight, reference', unit: 'B/s', higherIsBetter: true },
  { name: 'wt3-transfer', title: 'piece transfer over loopback TCP through WebTorrent 1.9.7\'s pipes (throttles, Transforms), 64 × 16 KiB in flight, reference', unit: 'B/s', higherIsBetter: true },
  { name: 'heap-wt5', title: 'heap per wire as WebTorrent 3 holds one (ut_metadata 5, ut_pex 5, lt_donthave 2, both handshakes, bitfields)', unit: 'B', higherIsBetter: false, target: ['<=', 1] },
  { name: 'heap-wt3', title: 'heap per wire as WebTorrent 1.9.7 holds one (ut_metadata 3, ut_pex 3, lt_donthave 1, both handshakes, bitfields)', unit: 'B', higherIsBetter: false, target: ['<=', 1] },
  { name: 'heap-wt5-tcp', title: 'the same on a loopback TCP connection through WebTorrent 3\'s own pipes (streamx pipeline with its throttles and Transforms; all included)', unit: 'B', higherIsBetter: false, target: ['<=', 1] },
  { name: 'heap-wt3-tcp', title: 'the same on a loopback TCP connection through WebTorrent 1.9.7\'s own pipes (pipe() chain with its throttles and Transforms; all included)', unit: 'B', higherIsBetter: false, target: ['<=', 1] },
  // what the stream base each wire extends costs alone: readable-stream 3 (ours, 3.5.5), streamx (5.0.9)
  { name: 'heap-base', title: 'the stream base alone: a bare Duplex pair piped (readable-stream 3; streamx for 5.0.9), reference', unit: 'B', higherIsBetter: false },
  // the bare idle wire, for reference
  { name: 'heap', title: 'heap per idle handshaken wire, unpiped (reference)', unit: 'B', higherIsBetter: false, floor: 'duplex' },
  { name: 'heap-piped', title: 'heap per idle handshaken wire, piped (reference)', unit: 'B', higherIsBetter: false, ratio: med => (med.ours - med.duplex) / 1024, ratioText: ' KiB', ratioOf: 'the floor', floor: 'duplex-piped' }
]

const LABELS = Object.fromEntries(Object.entries(IMPLS).map(([k, v]) => [k, v.label]))

function rotate (arr, k) {
  const n = k % arr.length
  return arr.slice(n).concat(arr.slice(0, n))
}


export async function runMixed ({ rounds, scale, warmup, log = console.log }) {
  const impls = Object.keys(IMPLS)
  const extra = process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : [] // e.g. --cpu-prof
  const script = fileURLToPath(new URL('./mixed-child.mjs', import.meta.url))
  const children = {}
  for (const impl of impls) {
    const child = fork(script, [impl], { execArgv: ['--expose-gc', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children[impl] = child
    const [msg] = await once(child, 'message')
    if (!msg.ready) throw new Error('mixed child did not start')
  }
  const samples = {}
  const keep = (name, impl, x) => { ((samples[name] ??= {})[impl] ??= []).push(x) }
  try {
    for (let r = -warmup; r < rounds; r++) {
      for (const impl of rotate(impls, r + warmup)) {
        const out = await request(children[impl], { cmd: 'round', round: r, scale, warm: r < 0 })
        if (r < 0) continue
        for (const [name, x] of Object.entries(out)) {
          if (name === 'duplex') keep('heap', 'duplex', x)
          else if (name === 'duplex-piped') keep('heap-piped', 'duplex', x)
          else keep(name, impl, x)
        }
      }
      log(`  mixed round ${r < 0 ? 'warm-up ' + (r + warmup + 1) : r + 1} done`)
    }
  } finally {
    for (const child of Object.values(children)) {
      child.send({ cmd: 'exit' })
      await once(child, 'exit')
    }
  }
  return MIXED_ROWS.map(sc => summarize(sc, samples[sc.name], { anchors: ANCHORS, labels: LABELS }))
}
