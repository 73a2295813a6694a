// npm run bench: our wire against bittorrent-protocol 3.5.5 and 5.0.9.
//
// Modes (BENCH_MODE):
//   mixed (default)  each implementation in a child process of its own, holding idle wires and
//                    running every scenario in turn within each round (bench/mixed.mjs), then
//                    N connections at once over loopback TCP (bench/conns.mjs)
//   isolated         one scenario at a time, all three in this process (bench/isolated.mjs),
//                    then the N connections
//   both             mixed, isolated, N connections; one table with both figures
//
// Environment:
//   BENCH_ROUNDS=n    timed rounds (default 5; isolated 8 MiB scenario: min(n, 3))
//   BENCH_WARMUP=n    untimed mixed warm-up rounds (default 2)
//   BENCH_ONLY=a,b    isolated mode: only these scenarios (piped, small, large, heap,
//                     heap-piped, tcp, encrypted, wt5-transfer, wt3-transfer); 'conns' alone
//                     skips everything else,
//                     leaving 'conns' out skips the N connections
//   BENCH_SCALE=x     work per round relative to the default (e.g. 0.25 for a quick look)
//   BENCH_CONNS=n     connections at once (default 200)
//   BENCH_IDLE=n      idle handshaken pairs each mixed child keeps alive (default 100)
//   BENCH_JSON=file   also write the raw figures as JSON
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { fmt, ratioCell, goalCell } from './stats.mjs'
import { runMixed } from './mixed.mjs'
import { runIsolated } from './isolated.mjs'
import { runConns } from './conns.mjs'

const mode = process.env.BENCH_MODE ?? 'mixed'
if (!['mixed', 'isolated', 'both'].includes(mode)) throw new Error(`BENCH_MODE must be mixed, isolated or both, not ${mode}`)
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5) | 0)
const warmup = Math.max(0, Number(process.env.BENCH_WARMUP ?? 2) | 0)
const scale = Number(process.env.BENCH_SCALE ?? 1) || 1
const conns = Math.max(1, Number(process.env.BENCH_CONNS ?? 200) | 0)
const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map(s => s.trim()) : null
const connsOnly = only !== null && only.length === 1 && only[0] === 'conns'

const started = Date.now()
const load = () => os.loadavg().map(x => x.toFixed(2)).join(' ')
console.log(`node ${process.version}, mode ${mode}, ${rounds} rounds, scale ${scale}, load average ${load()}`)

const out = { node: process.version, mode, rounds, warmup, scale, conns, loadBefore: os.loadavg() }
const cell = (r, i) => r.median[i] === undefined ? '—' : fmt(r.median[i], r.unit)
const floorText = (r, key) => r.median[key] === undefined ? '' : ` (floor, bare readable-stream Duplex${r.name === 'heap-piped' ? ' pair, piped' : 'es'}: ${fmt(r.median[key], r.unit)})`
const refText = r => r.median.raw !== undefined ? ` (raw socket: ${fmt(r.median.raw, r.unit)})` : floorText(r, 'duplex')

function table (title, rows) {
  console.log(`\n${title}\n`)
  console.log('| scenario | ours | 3.5.5 | 5.0.9 | ratio | goal |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.title}${refText(r)} | ${cell(r, 'ours')} | ${cell(r, 'bt3')} | ${cell(r, 'bt5')} | ${ratioCell(r)} | ${goalCell(r)} |`)
}

let mixed = null
let isolated = null
if ((mode === 'mixed' || mode === 'both') && !connsOnly) {
  mixed = await runMixed({ rounds, scale, warmup })
  out.mixed = mixed
  table(`mixed: each implementation in its own process, every scenario in each round, ${warmup} warm-up + ${rounds} rounds (load average ${load()})`, mixed)
}
if ((mode === 'isolated' || mode === 'both') && !connsOnly) {
  isolated = await runIsolated({ rounds, scale, only: only?.filter(n => n !== 'conns') ?? null })
  out.isolated = isolated
  table(`isolated: one scenario at a time, all in one process, ${rounds} rounds (load average ${load()})`, isolated)
}
if (mixed && isolated) {
  // docs/benchmarks.md's shape: mixed figures first, the isolated ratio beside them
  console.log('\n| scenario | ours | 3.5.5 | 5.0.9 | ratio (mixed) | ratio (isolated) | goal (mixed) |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of mixed) {
    const iso = isolated.find(x => x.name === r.name)
    console.log(`| ${r.title}${refText(r)} | ${cell(r, 'ours')} | ${cell(r, 'bt3')} | ${cell(r, 'bt5')} | ${ratioCell(r)} | ${iso ? ratioCell(iso) : '—'} | ${goalCell(r)} |`)
  }
}
if (only === null || only.includes('conns')) {
  const { rows, perProcess } = await runConns({ rounds, scale, conns })
  out.conns = rows
  out.connsPerProcess = perProcess
  table(`${conns} connections at once, loopback TCP, a seeder and a leecher process per implementation, 1 warm-up + ${rounds} rounds (load average ${load()})`, rows)
  const med = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  console.log('\nCPU-seconds per GiB, each process (median): ' + Object.entries(perProcess).map(([impl, v]) => `${impl} seeder ${med(v.seeder).toFixed(2)}, leecher ${med(v.leecher).toFixed(2)}`).join('; '))
}
console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s, load average ${load()}`)
out.loadAfter = os.loadavg()
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(out, null, 2))
