// The modules behind the Wire, each on its own against a fake host (no Wire, no stream):
// io/output.ts, io/timeouts.ts, state/requests.ts's timer, protocol/reader.ts's buffer growth.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OutputQueue, REJECT_BACKLOG } from '../dist/esm/io/output.js'
import { ConnectionTimeouts } from '../dist/esm/io/timeouts.js'
import { RequestTimer, OurRequests, Request } from '../dist/esm/state/requests.js'
import { MessageReader } from '../dist/esm/protocol/reader.js'

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** A readable side that keeps what is pushed; `read()` takes it all. */
function fakeSink () {
  const chunks = []
  return { chunks, push (c) { chunks.push(Buffer.from(c)); return true }, get readableLength () { return chunks.reduce((n, c) => n + c.length, 0) }, read () { chunks.length = 0 } }
}

test('OutputQueue: gathers small messages in a batch into one chunk, in order; big ones flush first', () => {
  const sink = fakeSink()
  const q = new OutputQueue(sink, 1 << 20)
  const corks = []
  // a socket-like destination (it has _writev, so corked writes leave in one writev)
  const dest = { cork: () => corks.push('cork'), uncork: () => corks.push('uncork'), _writev () {} }
  const n = q.beginBatch(dest)
  q.send(Buffer.from([1]))
  q.send(Buffer.from([2, 3]))
  assert.equal(sink.chunks.length, 0, 'gathered')
  assert.equal(q.backlog, 3)
  q.send(Buffer.alloc(100, 9)) // larger than a small message: what is gathered goes first
  q.send(Buffer.from([4]))
  q.endBatch(dest, n)
  assert.deepEqual(sink.chunks.map(c => [...c.subarray(0, 3)]), [[1, 2, 3], [9, 9, 9], [4]])
  assert.deepEqual(corks, ['cork', 'uncork'])
  // outside a batch nothing waits
  q.send(Buffer.from([5]))
  assert.equal(sink.chunks.length, 4)
  // one destination without _writev (another Wire piped in memory) is not corked: corking it
  // would only buffer each write to replay them one by one
  const plain = { cork: () => corks.push('cork'), uncork: () => corks.push('uncork') }
  const m = q.beginBatch(plain)
  q.send(Buffer.from([6]))
  q.endBatch(plain, m)
  assert.equal(m, 0)
  assert.deepEqual(corks, ['cork', 'uncork'])
  assert.equal(sink.chunks.length, 5)
})

test('OutputQueue: the cipher applies to send, not sendRaw; nothing after close', () => {
  const sink = fakeSink()
  const q = new OutputQueue(sink, 1 << 20)
  q.cipher = data => Buffer.from(data).map(b => b ^ 0xff)
  q.send(Buffer.from([0x0f]))
  q.sendRaw(Buffer.from([0x0f]))
  q.close()
  q.send(Buffer.from([1]))
  assert.deepEqual(sink.chunks.map(c => c[0]), [0xf0, 0x0f])
})

test('OutputQueue: the watermark gate, its drain report, and the refusal bound', () => {
  const sink = fakeSink()
  const q = new OutputQueue(sink, 1000)
  assert.equal(q.open(), true)
  q.send(Buffer.alloc(600))
  q.committed = 500 // requests handed out, not answered
  assert.equal(q.open(), false, 'backlog + committed over the watermark')
  assert.equal(q.onRead(), false, 'still over')
  sink.read()
  q.committed = 0
  assert.equal(q.onRead(), true, 'drained after the gate had shut: report it once')
  assert.equal(q.onRead(), false)
  assert.equal(q.refusalFits(), true)
  q.send(Buffer.alloc(REJECT_BACKLOG))
  assert.equal(q.refusalFits(), false)
})

test('RequestTimer: fires after ms, re-arms only when the deadline moves by 5 %, stops', async () => {
  let fired = 0
  const t = new RequestTimer(() => { fired++ })
  t.reset(true)
  assert.equal(t.running, false, 'no ms configured: nothing runs')
  t.configure(60, true)
  t.reset(true)
  assert.equal(t.running, true)
  await sleep(100)
  assert.equal(fired, 1)
  assert.equal(t.running, false)
  t.reset(true)
  t.stop()
  await sleep(100)
  assert.equal(fired, 1, 'stopped')
})

test('ConnectionTimeouts: handshake deadline; idle re-arms while bytes arrive', async () => {
  const expired = []
  const a = new ConnectionTimeouts(50, 0, code => expired.push(code))
  await sleep(90)
  assert.deepEqual(expired, ['ERR_BT_HANDSHAKE_TIMEOUT'])
  expired.length = 0
  const b = new ConnectionTimeouts(50, 80, code => expired.push(code))
  b.handshakeDone()
  for (let i = 0; i < 5; i++) { await sleep(30); b.received() }
  assert.deepEqual(expired, [], 'bytes kept arriving')
  await sleep(150)
  assert.deepEqual(expired, ['ERR_BT_IDLE_TIMEOUT'])
  b.stop()
})

test('MessageReader: a large body in many segments is assembled in a buffer that grows (not allocated whole at its prefix)', () => {
  const got = []
  const sink = { _onHandshakeBytes () {}, _onMessage (id, buf, s, e) { got.push([id, buf.subarray(s, e)]) }, _onPiece () {}, _onKeepAlive () {}, _onReadError (err) { throw err } }
  const r = new MessageReader(sink, { maxMessageLength: 4 << 20, maxPieces: 1 << 21 }, false)
  const body = Buffer.alloc(3 << 20)
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff
  const msg = Buffer.concat([Buffer.from([0, 0x30, 0, 1, 99]), body])
  const before = process.memoryUsage().arrayBuffers
  r.write(msg.subarray(0, 6)) // prefix, id and one byte
  const grew = process.memoryUsage().arrayBuffers - before
  assert.ok(grew < 1024 * 1024, `after 6 bytes of a 3 MiB message the reader allocated ${grew} bytes`)
  for (let off = 6; off < msg.length; off += 1460) r.write(msg.subarray(off, off + 1460))
  assert.equal(got.length, 1)
  assert.equal(got[0][0], 99)
  assert.deepEqual(got[0][1], body)
})

test('OurRequests: each callback runs once; failAll fails the newest first; the timeout fails the oldest and emits timeout', async () => {
  const events = []
  let timedOut
  const firstTimeout = new Promise(resolve => { timedOut = resolve })
  const host = { peerChoking: false, finished: false, emit: e => { events.push(e); timedOut() } }
  const ours = new OurRequests(host)
  const calls = []
  const cb = name => (err, block) => calls.push([name, err?.code ?? null, block ? block.length : null])
  ours.add(new Request(0, 0, 10, cb('a')))
  ours.add(new Request(0, 10, 10, cb('b')))
  ours.add(new Request(0, 20, 10, cb('c')))
  const b = ours.list.pull(0, 10, 10)
  ours.settle(b, null, Buffer.alloc(10))
  ours.settle(b, null, Buffer.alloc(10)) // a plugin running it again: nothing
  assert.deepEqual(calls, [['b', null, 10]])
  ours.setTimeout(30, false)
  await firstTimeout
  assert.deepEqual(calls.slice(1), [['a', 'ERR_BT_REQUEST_TIMEOUT', null]])
  assert.deepEqual(events, ['timeout'])
  ours.add(new Request(1, 0, 10, cb('d')))
  ours.failAll(Object.assign(new Error('x'), { code: 'X' }))
  assert.deepEqual(calls.slice(2).map(c => c[0]), ['d', 'c'])
  assert.equal(ours.list.length, 0)
  ours.stop()
})
