// How the send watermark (sendWatermark) affects piece throughput over loopback TCP between two
// processes: the seeder (a child) answers every request, at once or on the next turn (as an
// application reading from storage would); the leecher keeps 64 or 256 blocks of 16 KiB in
// flight. Prints MB/s per watermark (medians of 3). Run: npm run build && node bench/watermark.mjs
import net from 'node:net'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import Wire from '../dist/index.mjs'

const IH = '0123456789abcdef0123456789abcdef01234567'
const ID = '2d4242303030302d' + 'b'.repeat(24)
const BLOCK = 16384
const TOTAL = Number(process.env.WM_MIB ?? 256) * 1024 * 1024

if (process.argv[2] === 'seed') {
  const [watermark, later] = [Number(process.argv[3]), process.argv[4] === 'later']
  const block = Buffer.alloc(BLOCK, 0x5a)
  const server = net.createServer(socket => {
    const w = new Wire({ type: 'tcpIncoming', sendWatermark: watermark })
    socket.pipe(w).pipe(socket)
    w.on('error', () => {})
    w.once('handshake', () => { w.handshake(IH, ID); w.unchoke() })
    w.on('request', (i, o, l, respond) => later ? setImmediate(() => respond(null, block)) : respond(null, block))
  })
  server.listen(0, '127.0.0.1', () => process.send(server.address().port))
} else {
  const run = async (watermark, later, inFlight) => {
    const child = fork(fileURLToPath(import.meta.url), ['seed', String(watermark), later ? 'later' : 'now'])
    const [port] = await once(child, 'message')
    const socket = net.connect(port, '127.0.0.1')
    const w = new Wire('tcpOutgoing')
    socket.pipe(w).pipe(socket)
    w.handshake(IH, ID)
    await once(w, 'unchoke')
    const t0 = process.hrtime.bigint()
    await new Promise(resolve => {
      let asked = 0
      let got = 0
      const n = TOTAL / BLOCK
      const ask = () => { while (asked < n && asked - got < inFlight) w.request(asked++ % 1000, 0, BLOCK, () => { if (++got === n) resolve(); else ask() }) }
      ask()
    })
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    socket.destroy()
    child.kill()
    return TOTAL / s / 1e6
  }
  const median = xs => xs.sort((a, b) => a - b)[xs.length >> 1]
  const KiB = 1024
  const marks = [256 * KiB, 512 * KiB, 1024 * KiB, 2048 * KiB, 4096 * KiB, 64 * 1024 * KiB]
  for (const later of [false, true]) {
    for (const inFlight of [64, 256]) {
      const row = []
      for (const m of marks) {
        const xs = []
        for (let i = 0; i < 3; i++) xs.push(await run(m, later, inFlight))
        row.push(`${m >= 1024 * KiB ? m / 1024 / KiB + ' MiB' : m / KiB + ' KiB'}: ${median(xs).toFixed(0)}`)
      }
      console.log(`answers ${later ? 'next turn' : 'at once'}, ${inFlight} in flight (MB/s) | ${row.join(' | ')}`)
    }
  }
}
