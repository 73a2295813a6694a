// A process of the many-connections scenario (bench/conns.mjs), forked with its role and
// implementation: `seed <impl>` listens on 127.0.0.1 and serves every request of every
// connection; `leech <impl>` opens N connections at once and fetches `bytes` from each.
// Both report process.cpuUsage() over what they did; the seeder also its peak RSS, sampled.
import net from 'node:net'
import { once } from 'node:events'
import { IMPLS, IH, ID_A, ID_B, seed, leech } from './impls.mjs'

const [role, impl] = process.argv.slice(2)
const BLOCK = Buffer.alloc(16384, 0x5a)
const cpuSeconds = u => (u.user + u.system) / 1e6

let cpuMark = process.cpuUsage()
let peakRss = 0
const sample = () => { const rss = process.memoryUsage.rss(); if (rss > peakRss) peakRss = rss }
const sampler = setInterval(sample, 20)

async function startSeeder () {
  const server = net.createServer({ noDelay: true }, socket => {
    socket.on('error', () => {})
    const wire = IMPLS[impl].create()
    wire.on('error', () => {})
    wire.once('handshake', () => {
      wire.handshake(IH, ID_A)
      seed(wire, BLOCK)
    })
    socket.pipe(wire).pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server.address().port
}

async function one (port, bytes, inFlight) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  socket.on('error', () => {})
  await once(socket, 'connect')
  const wire = IMPLS[impl].create()
  wire.on('error', () => {})
  socket.pipe(wire).pipe(socket)
  wire.handshake(IH, ID_B)
  await leech(wire, BLOCK.length, Math.ceil(bytes / BLOCK.length), inFlight)
  wire.destroy()
  socket.destroy()
}

async function runLeecher ({ port, conns, bytes, inFlight }) {
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: conns }, () => one(port, bytes, inFlight)))
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  return { secs, bytes: conns * Math.ceil(bytes / BLOCK.length) * BLOCK.length, cpu: cpuSeconds(process.cpuUsage(cpu0)) }
}

process.on('message', async msg => {
  try {
    if (msg.cmd === 'listen') process.send({ ok: true, result: { port: await startSeeder() } })
    else if (msg.cmd === 'mark') {
      // CPU and peak RSS since the previous mark
      sample()
      const result = { cpu: cpuSeconds(process.cpuUsage(cpuMark)), peakRss }
      cpuMark = process.cpuUsage()
      peakRss = 0
      process.send({ ok: true, result })
    } else if (msg.cmd === 'leech') process.send({ ok: true, result: await runLeecher(msg) })
    else if (msg.cmd === 'exit') { clearInterval(sampler); process.exit(0) }
  } catch (err) {
    process.send({ ok: false, error: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ ready: true, role })
