// The browser build's stand-ins for Node modules (src/shims), run here in Node against the
// modules they stand in for: the same observable behaviour for what readable-stream 3 and the
// wire use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter as NodeEmitter } from 'node:events'
import { StringDecoder as NodeDecoder } from 'node:string_decoder'
import { EventEmitter } from '../dist/esm/shims/events.js'
import { StringDecoder } from '../dist/esm/shims/string-decoder.js'
import createDebug, { enabledFor } from '../dist/esm/shims/debug.js'
import BufferList from '../dist/esm/shims/buffer-list.js'
import iterate from '../dist/esm/shims/async-iterator.js'
import { process as tick } from '../dist/esm/shims/process.js'
import stream from '../dist/esm/stream.js'
import encoder from '../dist/esm/shims/bencode.js'
import bencode from 'bencode'

/** The same script of calls on an emitter; returns what it saw. */
function script (e) {
  const seen = []
  const a = (...args) => seen.push(['a', ...args])
  const b = (...args) => seen.push(['b', ...args])
  e.on('newListener', (type) => { if (type !== 'newListener') seen.push(['new', type]) })
  e.on('x', a)
  e.once('x', b)
  e.prependListener('x', (...args) => seen.push(['p', ...args]))
  e.prependOnceListener('y', (v) => seen.push(['y', v]))
  seen.push(['count', e.listenerCount('x'), e.listeners('x').includes(b), e.rawListeners('x').includes(b)])
  seen.push(['emit', e.emit('x', 1, 2)])
  seen.push(['emit', e.emit('x', 3)])
  seen.push(['emit', e.emit('y', 4), e.emit('y', 5)])
  e.removeListener('x', a)
  seen.push(['count', e.listenerCount('x'), e.eventNames().filter(n => n !== 'newListener')])
  e.off('x', e.listeners('x')[0])
  seen.push(['emit', e.emit('x', 6), e.listenerCount('x')])
  const c = () => seen.push(['c'])
  e.once('z', c)
  e.removeListener('z', c) // by the function given to once()
  seen.push(['emit', e.emit('z')])
  e.removeAllListeners()
  seen.push(['names', e.eventNames()])
  assert.throws(() => e.emit('error', new Error('boom')), /boom/)
  e.on('error', err => seen.push(['error', err.message]))
  e.emit('error', new Error('handled'))
  assert.throws(() => e.on('x', 'not a function'), TypeError)
  return seen
}

test('EventEmitter: the same listener order, once, prepend, removal and errors as Node\'s', () => {
  assert.deepEqual(script(new EventEmitter()), script(new NodeEmitter()))
  // a plain constructor, as readable-stream 3 needs (EventEmitter.call(this))
  function Legacy () { EventEmitter.call(this) }
  Object.setPrototypeOf(Legacy.prototype, EventEmitter.prototype)
  const l = new Legacy()
  let got = 0
  l.on('e', v => { got = v })
  l.emit('e', 7)
  assert.equal(got, 7)
  assert.equal(EventEmitter.EventEmitter, EventEmitter)
  assert.equal(new EventEmitter().getMaxListeners(), 10)
})

test('StringDecoder: characters split across chunks, as Node\'s decoder gives them', () => {
  const text = 'héllo wörld, 日本語 and 🎉 emoji'
  for (const encoding of ['utf8', 'utf-8', 'utf16le', 'ucs2', 'base64', 'hex', 'latin1', 'binary']) {
    const bytes = Buffer.from(text, encoding === 'hex' || encoding === 'base64' ? 'utf8' : encoding)
    for (const cut of [1, 2, 3, 5]) {
      const ours = new StringDecoder(encoding)
      const node = new NodeDecoder(encoding)
      let a = ''
      let b = ''
      for (let i = 0; i < bytes.length; i += cut) {
        a += ours.write(bytes.subarray(i, i + cut))
        b += node.write(bytes.subarray(i, i + cut))
      }
      assert.equal(a + ours.end(), b + node.end(), `${encoding}, chunks of ${cut}`)
    }
  }
  // an unfinished character at the end becomes U+FFFD, as in Node
  assert.equal(new StringDecoder('utf8').end(Buffer.from([0xe6, 0x97])), new NodeDecoder('utf8').end(Buffer.from([0xe6, 0x97])))
  assert.equal(new StringDecoder('hex').encoding, 'hex')
  assert.throws(() => new StringDecoder('nope'), /Unknown encoding/)
})

test('debug: localStorage.debug patterns as debug reads them; off by default', () => {
  assert.equal(enabledFor('bittorrent-protocol', 'bittorrent-protocol'), true)
  assert.equal(enabledFor('bittorrent-protocol', 'bittorrent-*'), true)
  assert.equal(enabledFor('bittorrent-protocol', '*'), true)
  assert.equal(enabledFor('bittorrent-protocol', '*,-bittorrent-protocol'), false)
  assert.equal(enabledFor('bittorrent-protocol', 'webtorrent simple-peer'), false)
  assert.equal(enabledFor('bittorrent-protocol', 'bittorrent.protocol'), false, 'a dot is a dot')
  assert.equal(enabledFor('bittorrent-protocol', ''), false)
  const log = createDebug('bittorrent-protocol')
  assert.equal(log.enabled, false) // Node has no localStorage here
  assert.equal(log.namespace, 'bittorrent-protocol')
  log('not printed %s', 'at all')
})

test('BufferList: the queue a Readable keeps, byte for byte', () => {
  const list = new BufferList()
  list.push(Buffer.from('hello '))
  list.push(Buffer.from('wide '))
  list.push(Buffer.from('world'))
  list.unshift(Buffer.from('>> '))
  assert.equal(list.length, 4)
  assert.equal(list.first().toString(), '>> ')
  assert.equal(list.head.next.data.toString(), 'hello ')
  assert.equal(list.concat(19).toString(), '>> hello wide world')
  assert.equal(list.consume(2, false).toString(), '>>') // within the first chunk
  assert.equal(list.consume(1, false).toString(), ' ') // exactly the first chunk
  assert.equal(list.length, 3)
  assert.equal(list.consume(8, false).toString(), 'hello wi') // across chunks
  assert.equal(list.length, 2)
  assert.equal(list.shift().toString(), 'de ')
  assert.equal(list.shift().toString(), 'world')
  assert.equal(list.shift(), undefined)
  assert.equal(list.head, null)
  list.push('ab')
  list.push('cd')
  list.push('ef')
  assert.equal(list.join(','), 'ab,cd,ef')
  assert.equal(list.consume(3, true), 'abc')
  assert.equal(list.head.data, 'd')
  list.clear()
  assert.deepEqual([list.length, list.head, list.tail], [0, null, null])
})

test('process.nextTick: in order, with its arguments, after the current code', async () => {
  const seen = []
  tick.nextTick((a, b) => seen.push(a + b), 1, 2)
  tick.nextTick(() => seen.push('second'))
  seen.push('now')
  await new Promise(resolve => setTimeout(resolve, 0))
  assert.deepEqual(seen, ['now', 3, 'second'])
})

test('the readable-stream 3 Duplex: destroyed ("close") once both sides end, as readable-stream 4 does', async () => {
  const d = new stream.Duplex({ read () {}, write (chunk, enc, cb) { cb() } })
  const closed = new Promise(resolve => d.once('close', resolve))
  d.on('data', () => {})
  d.push(Buffer.from('x'))
  d.push(null)
  d.end()
  await closed
  assert.equal(d.destroyed, true)
  const keep = new stream.Duplex({ autoDestroy: false, read () {}, write (chunk, enc, cb) { cb() } })
  assert.equal(keep._readableState.autoDestroy, false, 'an explicit option still wins')
})

test('async iterator: every chunk, then done; an error is thrown; leaving early destroys the stream', async () => {
  const source = () => new stream.Duplex({ read () {}, write (c, e, cb) { cb() } })
  const a = source()
  setTimeout(() => { a.push(Buffer.from('one')); a.push(Buffer.from('two')); a.push(null) }, 1)
  const chunks = []
  for await (const chunk of iterate(a)) chunks.push(chunk.toString())
  assert.equal(chunks.join(''), 'onetwo')

  const b = source()
  setTimeout(() => b.destroy(new Error('gone')), 1)
  await assert.rejects(async () => { for await (const chunk of iterate(b)) chunks.push(chunk) }, /gone/)

  const c = source()
  c.push(Buffer.from('first'))
  for await (const chunk of iterate(c)) { assert.equal(chunk.toString(), 'first'); break }
  assert.equal(c.destroyed, true)
})

test('bencode encoder: the same bytes as bencode 2\'s encode() for every kind of value it takes', () => {
  const values = [
    0, 1, -1, 42, 2 ** 31, -(2 ** 31) - 5, 2 ** 53 - 1, true, false, new Number(7), new Boolean(true),
    '', 'spam', 'héllo 日本 🎉', Buffer.from([0, 1, 255]), new Uint8Array([9, 8, 7]),
    new Uint16Array([1, 2]).subarray(1), new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2), new Uint8Array([5, 6]).buffer,
    [], [1, 'a', [2, [3]], null, undefined, Buffer.from('x')], new Set(['b', 'a', 1]),
    {}, { z: 1, a: 'x', m: { y: [1, 2], b: Buffer.from('v') }, skip: null, gone: undefined },
    { 'é': 1, e: 2, E: 3, 10: 'ten', 9: 'nine', ab: 'ab', a: 'a' },
    new Map([['b', 1], ['a', new Map([[3, 'three'], [Buffer.from('k'), 'v']])], ['n', null]]),
    { fn () {}, big: 10n, sym: Symbol('s') }, // a key and no value, as bencode 2 writes it
    { m: { p: 6881, ut_metadata: 3, ut_pex: 1 }, v: 'bittorrent-protocol', reqq: 250, yourip: Buffer.from([127, 0, 0, 1]) },
    null, undefined
  ]
  for (const v of values) {
    assert.deepEqual(Buffer.from(encoder.encode(v)), bencode.encode(v), `encode(${String(v)})`)
  }
  assert.ok(Buffer.isBuffer(encoder.encode({ a: 1 })))
  assert.equal(encoder.encode({ b: [1, 'x'], a: 2 }).toString(), 'd1:ai2e1:bli1e1:xee')
  // a float is truncated as bencode 2 truncates it (with its warning, once)
  const warn = console.warn
  const trace = console.trace
  const warned = []
  console.warn = (...args) => warned.push(args.join(' '))
  console.trace = () => {}
  try {
    for (const v of [1.5, -2.7, 2 ** 40 + 0.5]) assert.deepEqual(Buffer.from(encoder.encode(v)), bencode.encode(v))
  } finally {
    console.warn = warn
    console.trace = trace
  }
  assert.ok(warned.some(w => /Bencoding only defines support for integers, value was converted to "1"/.test(w)))
  assert.throws(() => encoder.encode(new String('s')), TypeError) // as bencode 2's Buffer.byteLength
  assert.throws(() => bencode.encode(new String('s')), TypeError)
})
