// Isolated mode (BENCH_MODE=isolated): our wire and the two anchors in this one process, one
// scenario at a time. Each scenario runs every implementation once per round, in an order that
// rotates from round to round (so none always goes first on a warm or a cold machine), after
// untimed warm-up runs; the table gives the median of the rounds and the ratio to the better
// anchor. Each scenario starts from whatever the previous ones left in the process, but runs
// alone: the figures are those of a hot path that nothing else runs through.
import { IMPLS, ANCHORS } from './impls.mjs'
import { summarize } from './stats.mjs'
import piped from './scenarios/piped.mjs'
import small from './scenarios/small.mjs'
import large from './scenarios/large.mjs'
import { heapUnpiped, heapPiped } from './scenarios/heap.mjs'
import tcp from './scenarios/tcp.mjs'
import encrypted from './scenarios/encrypted.mjs'
import { webTorrent3, webTorrent1 } from './scenarios/webtorrent.mjs'

export const SCENARIOS = [piped, small, large, heapUnpiped, heapPiped, tcp, encrypted, webTorrent3, webTorrent1]
const LABELS = Object.fromEntries(Object.entries(IMPLS).map(([k, v]) => [k, v.label]))

function rotate (arr, k) {
  const n = k % arr.length
  return arr.slice(n).concat(arr.slice(0, n))
}

export async function runIsolated ({ rounds, scale, only, log = console.log }) {
  const rows = []
  for (const sc of SCENARIOS) {
    if (only && !only.includes(sc.name)) continue
    const why = sc.available?.()
    if (why) { log(`- ${sc.name}: skipped (${why})`); continue }
    const n = sc.maxRounds ? Math.min(rounds, sc.maxRounds) : rounds
    const samples = Object.fromEntries(sc.impls.map(i => [i, []]))
    await sc.setup?.({ scale })
    try {
      // untimed warm-up runs (default: two of each at full size): the first rounds of every
      // implementation run measurably slower while the JIT and the GC's young generation settle
      const warm = sc.warmup ?? { runs: 2, scale: 1 }
      for (let w = 0; w < warm.runs; w++) for (const impl of sc.impls) await sc.run(impl, { scale: scale * warm.scale, round: -1 - w })
      for (let r = 0; r < n; r++) {
        for (const impl of rotate(sc.impls, r)) samples[impl].push(await sc.run(impl, { scale, round: r }))
      }
    } finally {
      await sc.teardown?.()
    }
    const row = summarize(sc, samples, { anchors: ANCHORS, labels: LABELS })
    row.rounds = n
    rows.push(row)
    log(`  isolated ${sc.name} done`)
  }
  return rows
}
