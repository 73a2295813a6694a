// npm run bench:webtorrent: WebTorrent 3.0.21, unchanged, downloading from WebTorrent 3.0.21 over
// loopback TCP, on this package and on bittorrent-protocol 5.0.9: what a WebTorrent user sees.
// One seeder process per implementation (it hashes the file once); each round a new leecher process
// of each implementation, in turns, fetches the whole torrent into a new folder. The table gives
// the medians: throughput (from the leecher's first wire to its last verified piece) and the
// CPU-seconds per GiB of seeder and leecher together.
//
// Needs the WebTorrent fixtures: `node test/interop/setup-fixtures.mjs` (WebTorrent 3 on this
// package) and `node test/browser/setup-fixtures.mjs` (WebTorrent 3 on 5.0.9). Environment:
// BENCH_ROUNDS=n (default 5), BENCH_SIZE_MIB=n (default 256).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { FIXTURES } from './webtorrent-client.mjs'
import { median } from './stats.mjs'

const IMPLS = { ours: 'ours (this build)', bt5: '5.0.9' }
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 256) * 1024 * 1024
const CLIENT = fileURLToPath(new URL('./webtorrent-client.mjs', import.meta.url))

for (const [impl, url] of Object.entries(FIXTURES)) {
  if (!existsSync(url)) {
    console.error(`WebTorrent for ${IMPLS[impl]} is not installed (${fileURLToPath(url)}): run node test/interop/setup-fixtures.mjs and node test/browser/setup-fixtures.mjs`)
    process.exit(1)
  }
}

/** A client process; `next(event)` resolves with its next JSON line of that event. */
function client (opts) {
  const child = spawn(process.execPath, [CLIENT, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const queue = []
  const waiting = []
  createInterface({ input: child.stdout }).on('line', line => {
    const msg = JSON.parse(line)
    if (msg.event === 'fatal') { console.error(`${opts.impl} ${opts.mode}: ${msg.error}`); process.exit(1) }
    const i = waiting.findIndex(w => w.event === msg.event)
    if (i >= 0) waiting.splice(i, 1)[0].resolve(msg)
    else queue.push(msg)
  })
  const next = event => {
    const i = queue.findIndex(m => m.event === event)
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0])
    return new Promise(resolve => waiting.push({ event, resolve }))
  }
  return { child, next }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-webtorrent-'))
try {
  const file = join(dir, 'data.bin')
  await writeFile(file, randomBytes(SIZE))
  const seeders = {}
  for (const impl of Object.keys(IMPLS)) {
    const torrentPath = join(dir, `${impl}.torrent`)
    const seeder = client({ impl, mode: 'seed', file, torrentPath })
    const { port } = await seeder.next('ready')
    seeders[impl] = { ...seeder, port, torrentPath }
  }
  const samples = Object.fromEntries(Object.keys(IMPLS).map(impl => [impl, { rate: [], cpu: [], leech: [], seed: [] }]))
  const order = Object.keys(IMPLS)
  // one untimed round first
  for (let round = -1; round < ROUNDS; round++) {
    for (const impl of round % 2 === 0 ? order : [...order].reverse()) {
      const seeder = seeders[impl]
      seeder.child.stdin.write('cpu\n')
      const before = (await seeder.next('cpu')).cpu
      const leecher = client({ impl, mode: 'leech', torrentPath: seeder.torrentPath, dir: join(dir, `${impl}-${round}`), peer: `127.0.0.1:${seeder.port}` })
      const done = await leecher.next('done')
      seeder.child.stdin.write('cpu\n')
      const after = (await seeder.next('cpu')).cpu
      await rm(join(dir, `${impl}-${round}`), { recursive: true, force: true })
      if (round < 0) continue
      samples[impl].rate.push(SIZE / (done.ms / 1000))
      samples[impl].cpu.push((done.cpu + after - before) / (SIZE / 2 ** 30))
      samples[impl].leech.push(done.cpu / (SIZE / 2 ** 30))
      samples[impl].seed.push((after - before) / (SIZE / 2 ** 30))
    }
    console.log(`  round ${round < 0 ? 'warm-up' : round + 1} done`)
  }
  for (const seeder of Object.values(seeders)) seeder.child.stdin.end()

  const med = impl => ({ rate: median(samples[impl].rate), cpu: median(samples[impl].cpu), leech: median(samples[impl].leech), seed: median(samples[impl].seed) })
  const ours = med('ours')
  const bt5 = med('bt5')
  console.log(`\nWebTorrent 3.0.21 to WebTorrent 3.0.21, ${SIZE / 2 ** 20} MiB over loopback TCP, ${ROUNDS} rounds (medians)\n`)
  console.log('| | ours | 5.0.9 | ratio |')
  console.log('|---|---|---|---|')
  console.log(`| download throughput | ${(ours.rate / 1e6).toFixed(0)} MB/s | ${(bt5.rate / 1e6).toFixed(0)} MB/s | ${(ours.rate / bt5.rate).toFixed(2)}x |`)
  console.log(`| CPU-seconds per GiB, seeder + leecher | ${ours.cpu.toFixed(2)} | ${bt5.cpu.toFixed(2)} | ${(ours.cpu / bt5.cpu).toFixed(2)}x |`)
  console.log(`\nCPU-seconds per GiB, each process (median): ours seeder ${ours.seed.toFixed(2)}, leecher ${ours.leech.toFixed(2)}; 5.0.9 seeder ${bt5.seed.toFixed(2)}, leecher ${bt5.leech.toFixed(2)}`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
