// Piece transfer over loopback TCP between two processes (this one leeches, bench/tcp-peer.mjs
// seeds), 64 x 16 KiB in flight, next to the raw socket throughput of the same setup: the
// same process pair writing the same bytes (13-byte header + 16 KiB) with no wire at all.
import net from 'node:net'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { IMPLS, IH, ID_B, leech } from '../impls.mjs'

const MODE = { ours: 'o', bt3: '3', bt5: '5' }
let child = null
let port = 0

async function connect () {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  await once(socket, 'connect')
  socket.on('error', () => {})
  return socket
}

export default {
  name: 'tcp',
  title: 'piece transfer, loopback TCP, two processes',
  unit: 'B/s',
  higherIsBetter: true,
  impls: ['raw', 'ours', 'bt3', 'bt5'],
  ratio: med => med.ours / med.raw,
  ratioOf: 'raw socket',
  warmup: { runs: 1, scale: 1 },
  target: ['>=', 0.7],
  async setup () {
    const extra = process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : [] // e.g. --cpu-prof
    child = spawn(process.execPath, [...extra, fileURLToPath(new URL('../tcp-peer.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] })
    const [line] = await once(child.stdout, 'data')
    port = Number(String(line).trim())
  },
  async teardown () {
    child.stdin.end()
    await once(child, 'exit')
  },
  async run (impl, { scale }) {
    const count = Math.max(256, Math.round(32768 * scale)) // 512 MiB at scale 1
    const socket = await connect()
    if (impl === 'raw') {
      const want = count * (16384 + 13)
      let got = 0
      const msg = Buffer.alloc(5)
      msg.write('R', 0, 'latin1')
      msg.writeUInt32BE(count, 1)
      const t0 = process.hrtime.bigint()
      socket.write(msg)
      socket.on('data', chunk => { got += chunk.length })
      await once(socket, 'end')
      const secs = Number(process.hrtime.bigint() - t0) / 1e9
      socket.destroy()
      if (got !== want) throw new Error(`raw: got ${got} of ${want} bytes`)
      return count * 16384 / secs
    }
    const wire = IMPLS[impl].create()
    wire.on('error', () => {})
    socket.write(MODE[impl])
    socket.pipe(wire).pipe(socket)
    wire.handshake(IH, ID_B)
    const secs = await leech(wire, 16384, count, 64)
    wire.destroy()
    socket.destroy()
    return count * 16384 / secs
  }
}
