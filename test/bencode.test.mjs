// The strict bencode decoder for peer bytes (src/protocol/bencode.ts), on its own: what it
// accepts decodes exactly as the `bencode` package (2.x, as 3.5.5 and the plugins use it) does;
// each malformed class is refused with ERR_BT_BAD_BENCODE, fast, where `bencode` would hang.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { decodeStrict, checkDictionary } from '../dist/esm/protocol/bencode.js'
import { mulberry32 } from './fixtures/raw.mjs'

const b = (s) => Buffer.from(s, 'latin1')

function refused (input, label = input) {
  const buf = typeof input === 'string' ? b(input) : input
  assert.throws(() => decodeStrict(buf), err => err.code === 'ERR_BT_BAD_BENCODE', `${String(label).slice(0, 60)}: refused`)
  if (buf[0] === 0x64) assert.equal(typeof checkDictionary(buf), 'object', `${String(label).slice(0, 60)}: check refuses it too`)
}

test('strict bencode: valid values decode exactly as bencode 2 does', () => {
  const cases = [
    'de', 'le', 'i0e', 'i-1e', 'i42e', '0:', '4:spam', 'li1ei2e3:abce',
    'd1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e1:v14:Transmission 46:yourip4:\x7f\x00\x00\x01e',
    'd8:msg_typei1e5:piecei0e10:total_sizei3425ee',
    'd5:added12:\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe27:added.f2:\x01\x02e',
    'd1:ad1:bd1:cli1eli2eeeeee',
    'd1:ai1e1:ai2ee', // a repeated key: the last one wins
    'd3:\xc3\xa9t4:utf8e', // a UTF-8 key
    'i' + '9'.repeat(30) + 'e', // huge: rounds the same way
    'd03:abci1ee' // a leading zero in a string length: BEP 3 does not forbid it, bencode reads it
  ]
  for (const c of cases) {
    const buf = b(c)
    const ours = decodeStrict(buf)
    assert.deepEqual(ours.value, bencode.decode(buf), c)
    assert.equal(ours.end, buf.length, c)
  }
  // the result's strings are Buffers, as bencode gives them to plugins
  const v = decodeStrict(b('d1:v4:spame')).value
  assert.ok(Buffer.isBuffer(v.v))
  assert.equal(v.v.toString(), 'spam')
  // bytes after the value are left to the caller
  assert.equal(decodeStrict(b('d1:ai1ee' + 'trailer')).end, 8)
  assert.equal(checkDictionary(b('d1:ai1ee' + 'trailer')), 8)
})

test('strict bencode: random valid values decode as bencode does (seeded)', () => {
  const rand = mulberry32(0xbe0c0de)
  const int = n => Math.floor(rand() * n)
  function gen (depth) {
    const r = int(depth > 4 ? 2 : 4)
    if (r === 0) return int(2) ? int(1e6) : -int(1e6)
    if (r === 1) return Buffer.from(Array.from({ length: int(8) }, () => int(256)))
    if (r === 2) return Array.from({ length: int(4) }, () => gen(depth + 1))
    const o = {}
    for (let i = int(4); i > 0; i--) o['k' + int(100)] = gen(depth + 1)
    return o
  }
  for (let i = 0; i < 2000; i++) {
    const buf = bencode.encode(gen(0))
    assert.deepEqual(decodeStrict(buf).value, bencode.decode(buf))
  }
})

test('strict bencode: each malformed class is refused', () => {
  const malformed = [
    // negative and signed string lengths: bencode.decode loops forever on the first two
    'd-3:ee', 'l-3:ee', 'd1:ml-3:eee', '-1:a', 'd+1:a1:be',
    // lengths that do not fit the input
    '5:abc', 'd1:v99:abce', '99999999999999999999:x', 'd1:a',
    // integers: leading zero, minus zero, no digits, not ended, signs and dots bencode reads anyway
    'i03e', 'i-0e', 'i-03e', 'ie', 'i-e', 'i42', 'i+1e', 'i1.5e', 'i1x2e',
    // containers not ended, dictionary keys that are not strings
    'l', 'li1e', 'd', 'd1:a', 'd1:ai1e', 'di1ei2ee', 'dli1ee1:ae', 'dd1:aee',
    // not bencode at all
    '', 'x', 'e', ':', '\x00\xff\xfe', 'GET / HTTP/1.1'
  ]
  for (const m of malformed) refused(m)
  // depth: 32 levels are fine, 33 are not
  const deep = n => 'l'.repeat(n) + 'e'.repeat(n)
  assert.deepEqual(decodeStrict(b(deep(32))).end, 64)
  refused(deep(33), 'depth 33')
  refused('d1:a' + deep(40) + 'e', 'dict with depth 41')
  refused('l'.repeat(200000), 'depth 200000')
  // items: 10000 values in all
  assert.equal(decodeStrict(b('l' + 'i1e'.repeat(9999) + 'e')).end, 2 + 3 * 9999)
  refused('l' + 'i1e'.repeat(10000) + 'e', '10001 values')
})

test('strict bencode: what hangs bencode.decode is refused (a hang here would time the test out), up to the largest input', () => {
  // what made bencode.decode hang (80 bytes) or grow without end, and the largest inputs a peer can send
  const inputs = [
    b('d-3:ee'), b('l-3:ee'), b('d1:m' + 'l-3:e'.repeat(10) + 'e'),
    b('l'.repeat(256 * 1024)), b('d' + '1:a'.repeat(80000)), b('i' + '9'.repeat(256 * 1024)),
    b('l' + 'i1e'.repeat(80000) + 'e'), b('9'.repeat(256 * 1024))
  ]
  for (const input of inputs) refused(input, input.subarray(0, 20).toString('latin1'))
})
