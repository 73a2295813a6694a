// The other process of the TCP scenario: a seeder on 127.0.0.1. It prints its port, then
// for each connection reads one mode byte: 'R' + u32 n: write n raw 16 KiB blocks (each
// after a 13-byte header, as a piece message would be) as fast as the socket takes them;
// 'o' / '3' / '5': become a wire of that implementation that serves every request.
import net from 'node:net'
import { IMPLS, IH, ID_A, seed } from './impls.mjs'

const BLOCK = Buffer.alloc(16384, 0x5a)
const HEADER = Buffer.alloc(13)
const MODES = { o: 'ours', 3: 'bt3', 5: 'bt5' }

function raw (socket, n) {
  let left = n
  const pump = () => {
    while (left > 0) {
      left--
      socket.write(HEADER)
      if (!socket.write(BLOCK)) { socket.once('drain', pump); return }
    }
    socket.end()
  }
  pump()
}

const server = net.createServer({ noDelay: true }, socket => {
  socket.on('error', () => {})
  let head = Buffer.alloc(0)
  const onData = chunk => {
    head = Buffer.concat([head, chunk])
    const mode = String.fromCharCode(head[0])
    if (mode === 'R') {
      if (head.length < 5) return
      socket.off('data', onData)
      socket.resume()
      raw(socket, head.readUInt32BE(1))
      return
    }
    socket.off('data', onData)
    const wire = IMPLS[MODES[mode]].create()
    wire.on('error', () => {})
    wire.once('handshake', () => {
      wire.handshake(IH, ID_A)
      seed(wire, BLOCK)
    })
    socket.pipe(wire).pipe(socket)
    if (head.length > 1) wire.write(head.subarray(1))
  }
  socket.on('data', onData)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\n'))
process.on('disconnect', () => process.exit(0))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
