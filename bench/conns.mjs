// Many connections at once over loopback TCP between two processes: for each implementation
// a seeder process and a leecher process (bench/conns-peer.mjs), kept for the whole run; the
// leecher opens N connections at once (BENCH_CONNS, default 200) and fetches 4 MiB over each,
// 32 x 16 KiB in flight per connection. Per round: aggregate MB/s, CPU-seconds per GiB of
// both processes together (process.cpuUsage in each), peak RSS of the seeder (sampled every
// 20 ms). The implementations take turns, in an order that rotates, after a warm-up round.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { IMPLS, ANCHORS } from './impls.mjs'
import { summarize } from './stats.mjs'
import { request } from './child.mjs'

const LABELS = Object.fromEntries(Object.entries(IMPLS).map(([k, v]) => [k, v.label]))
const GiB = 1024 ** 3

export function connsRows (conns) {
  return [
    { name: 'conns', title: `${conns} connections at once over loopback TCP, 4 MiB each, 32 × 16 KiB in flight`, unit: 'B/s', higherIsBetter: true, target: ['>=', 1.5] },
    { name: 'conns-cpu', title: `${conns} connections: CPU-seconds per GiB, seeder + leecher`, unit: 'cpu/GiB', higherIsBetter: false, target: ['<=', 0.6] },
    { name: 'conns-rss', title: `${conns} connections: peak RSS of the seeder`, unit: 'rss', higherIsBetter: false }
  ]
}


async function start (role, impl) {
  const extra = process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : []
  const child = fork(fileURLToPath(new URL('./conns-peer.mjs', import.meta.url)), [role, impl], { execArgv: extra, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [msg] = await once(child, 'message')
  if (!msg.ready) throw new Error('conns child did not start')
  return child
}

function rotate (arr, k) {
  const n = k % arr.length
  return arr.slice(n).concat(arr.slice(0, n))
}

export async function runConns ({ rounds, scale, conns, warmup = 1, log = console.log }) {
  const impls = Object.keys(IMPLS)
  const bytes = Math.max(256 << 10, Math.round((4 << 20) * scale))
  const peers = {}
  for (const impl of impls) {
    const seeder = await start('seed', impl)
    const leecher = await start('leech', impl)
    const { port } = await request(seeder, { cmd: 'listen' })
    peers[impl] = { seeder, leecher, port }
  }
  const samples = { conns: {}, 'conns-cpu': {}, 'conns-rss': {} }
  const extra = {} // each process's CPU per GiB, for the note
  try {
    for (let r = -warmup; r < rounds; r++) {
      for (const impl of rotate(impls, r + warmup)) {
        const { seeder, leecher, port } = peers[impl]
        await request(seeder, { cmd: 'mark' })
        const got = await request(leecher, { cmd: 'leech', port, conns, bytes, inFlight: 32 })
        const seeded = await request(seeder, { cmd: 'mark' })
        if (r < 0) continue
        const gib = got.bytes / GiB
        ;(samples.conns[impl] ??= []).push(got.bytes / got.secs)
        ;(samples['conns-cpu'][impl] ??= []).push((got.cpu + seeded.cpu) / gib)
        ;(samples['conns-rss'][impl] ??= []).push(seeded.peakRss)
        ;((extra[impl] ??= { seeder: [], leecher: [] }).seeder).push(seeded.cpu / gib)
        extra[impl].leecher.push(got.cpu / gib)
      }
      log(`  ${conns} connections: round ${r < 0 ? 'warm-up' : r + 1} done`)
    }
  } finally {
    for (const { seeder, leecher } of Object.values(peers)) {
      for (const child of [seeder, leecher]) {
        child.send({ cmd: 'exit' })
        await once(child, 'exit')
      }
    }
  }
  const rows = connsRows(conns).map(sc => summarize(sc, samples[sc.name], { anchors: ANCHORS, labels: LABELS }))
  return { rows, perProcess: extra }
}
