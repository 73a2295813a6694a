// Issue 9: BEP 52 hash messages both ways, the merkle proof check, BEP 6's canonical allowed-fast set
// (with its own example values), raw and named reserved bits.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import Wire, { ErrorCodes, allowedFastSet, verifyHashes, MAX_HASHES_PER_REQUEST } from 'bittorrent-protocol'
import { pair, event, INFO_HASH, PEER_A, PEER_B } from './helpers.mjs'
import { ID, u32, msg, framed, ready, snapshot, settle } from './fixtures/raw.mjs'
import { BLOCK, merkleTree, answer } from './fixtures/merkle.mjs'

function reply (tree, req) {
  return { piecesRoot: tree.root, ...req, ...answer(tree, req) }
}

/** proofLayers that reach the root from a run of `length` at `baseLayer`. */
function toRoot (tree, baseLayer) {
  return tree.layers.length - 1 - baseLayer - 1
}

const TREE = merkleTree(randomBytes(77 * 65536 - 1000)) // 308 blocks: 512 leaves, height 9; 77 pieces of 64 KiB (layer 2)

function hashRequestBytes (id, root, base, index, length, proof) {
  return msg(id, root, base, index, length, proof)
}

// -----------------------------------------------------------------------------
// Messages both ways

test('hash request → hashes, both ways: fields, callback, events, and the reply verifies', async () => {
  const { a, b } = await pair({ fast: true })
  for (const [asker, answerer] of [[a, b], [b, a]]) {
    const req = { piecesRoot: TREE.root, baseLayer: 2, index: 64, length: 64, proofLayers: toRoot(TREE, 2) }
    const seen = []
    answerer.once('hash-request', (r, respond) => {
      seen.push(r)
      const { hashes, uncles } = answer(TREE, r)
      respond(null, [...hashes, ...uncles])
    })
    const onEvent = event(asker, 'hashes')
    const got = await new Promise((resolve, reject) => asker.hashRequest(req, (err, m) => err ? reject(err) : resolve(m)))
    const [fromEvent] = await onEvent
    assert.equal(seen.length, 1)
    assert.ok(Buffer.isBuffer(seen[0].piecesRoot) && seen[0].piecesRoot.equals(TREE.root))
    assert.deepEqual([seen[0].baseLayer, seen[0].index, seen[0].length, seen[0].proofLayers], [2, 64, 64, 6])
    assert.equal(fromEvent, got)
    assert.equal(got.hashes.length, 64)
    assert.equal(got.uncles.length, 1) // height 9: proof layers 0..6 from layer 2, the first log2(64)-1 = 5 implied
    assert.ok(got.hashes.every((h, i) => Buffer.isBuffer(h) && h.equals(TREE.layers[2][64 + i])))
    assert.equal(verifyHashes(TREE.root, TREE.length, got), true)
    assert.equal(asker.hashRequests.length, 0)
    assert.equal(answerer.peerHashRequests.length, 0)
  }
})

test('hash reject both ways: respond(err) and hashReject() reach the asker as ERR_BT_HASH_REJECTED and hash-reject', async () => {
  const { a, b } = await pair()
  const req = { piecesRoot: TREE.root.toString('hex'), baseLayer: 0, index: 1024, length: 2, proofLayers: 0 }
  b.once('hash-request', (r, respond) => respond(new Error('out of range')))
  const rejected = event(a, 'hash-reject')
  const err = await new Promise(resolve => a.hashRequest(req, resolve))
  assert.equal(err.code, ErrorCodes.HASH_REJECTED)
  const [r] = await rejected
  assert.deepEqual([r.piecesRoot.toString('hex'), r.baseLayer, r.index, r.length, r.proofLayers], [req.piecesRoot, 0, 1024, 2, 0])

  a.once('hash-request', r2 => a.hashReject(r2))
  const err2 = await new Promise(resolve => b.hashRequest({ ...req, index: 0 }, resolve))
  assert.equal(err2.code, ErrorCodes.HASH_REJECTED)
  assert.equal(a.peerHashRequests.length, 0)
})

test('hash messages on the wire: exact bytes of request, hashes and reject', async () => {
  const w = new Wire()
  const out = []
  w.on('data', c => out.push(c))
  const root = Buffer.alloc(32, 7)
  const req = { piecesRoot: root, baseLayer: 3, index: 8, length: 4, proofLayers: 4 }
  w.hashRequest(req)
  const hashes = Array.from({ length: 4 + 3 }, (_, i) => Buffer.alloc(32, i + 1)) // 4 - 2 + 1 = 3 uncles
  w.hashes(req, hashes)
  w.hashReject(req)
  await settle()
  const bytes = Buffer.concat(out)
  const header = Buffer.concat([root, u32(3), u32(8), u32(4), u32(4)])
  assert.deepEqual(bytes, Buffer.concat([
    u32(49), Buffer.from([21]), header,
    u32(49 + 7 * 32), Buffer.from([22]), header, ...hashes,
    u32(49), Buffer.from([23]), header
  ]))
  w.destroy()
})

test('our arguments are checked: bad roots, counts and alignment throw; a reply of the wrong size throws', () => {
  const w = new Wire()
  const ok = { piecesRoot: Buffer.alloc(32), baseLayer: 0, index: 0, length: 2, proofLayers: 0 }
  assert.throws(() => w.hashRequest({ ...ok, piecesRoot: Buffer.alloc(31) }), /32 bytes/)
  assert.throws(() => w.hashRequest({ ...ok, length: 0 }), /0 hashes/)
  assert.throws(() => w.hashRequest({ ...ok, length: MAX_HASHES_PER_REQUEST + 1 }), /more than 8192/)
  assert.throws(() => w.hashRequest({ ...ok, index: 3 }), /multiple/)
  assert.throws(() => w.hashRequest({ ...ok, baseLayer: -1 }), RangeError)
  assert.throws(() => w.hashRequest({ ...ok, proofLayers: 1.5 }), RangeError)
  assert.throws(() => w.hashes(ok, [Buffer.alloc(32)]), /2 hashes/)
  assert.throws(() => w.hashes({ ...ok, proofLayers: 3 }, Buffer.alloc(64)), /5 hashes \(2 \+ 3 uncles\)/)
  w.destroy()
})

test('respond() answers once; a wrong-sized answer throws and leaves the request pending', async () => {
  const { a, b } = await pair()
  const req = { piecesRoot: TREE.root, baseLayer: 0, index: 0, length: 2, proofLayers: 0 }
  const answered = new Promise(resolve => b.once('hash-request', (r, respond) => {
    assert.throws(() => respond(null, [Buffer.alloc(32)]), RangeError)
    assert.equal(b.peerHashRequests.length, 1)
    respond(null, [TREE.layers[0][0], TREE.layers[0][1]])
    respond(new Error('late')) // ignored
    resolve()
  }))
  const events = []
  a.on('hashes', m => events.push('hashes:' + m.index))
  a.on('hash-reject', () => events.push('reject'))
  const got = await new Promise((resolve, reject) => a.hashRequest(req, (err, m) => err ? reject(err) : resolve(m)))
  await answered
  await settle()
  assert.deepEqual(events, ['hashes:0'])
  assert.ok(got.hashes[1].equals(TREE.layers[0][1]))
})

test('pending hash requests fail with ERR_BT_WIRE_CLOSED when the wire closes; a request on a closed wire fails at once', async () => {
  const { a, b } = await pair()
  b.on('hash-request', () => {}) // never answered
  const req = { piecesRoot: TREE.root, baseLayer: 0, index: 0, length: 2, proofLayers: 0 }
  const first = new Promise(resolve => a.hashRequest(req, resolve))
  a.destroy()
  assert.equal((await first).code, ErrorCodes.WIRE_CLOSED)
  const second = await new Promise(resolve => a.hashRequest(req, resolve))
  assert.equal(second.code, ErrorCodes.WIRE_CLOSED)
})

test('the peer\'s unanswered hash requests are capped at maxPeerRequests: past it they are rejected', async () => {
  const h = ready({ wire: { maxPeerRequests: 2 } })
  h.rec.keepOut = true
  const asked = []
  h.w.on('hash-request', r => asked.push(r.index))
  for (const index of [0, 2, 4]) h.w.write(hashRequestBytes(ID.hashRequest, TREE.root, 0, index, 2, 0))
  await settle()
  assert.deepEqual(asked, [0, 2])
  const out = Buffer.concat(h.rec.out)
  const reject = hashRequestBytes(ID.hashReject, TREE.root, 0, 4, 2, 0)
  assert.ok(out.subarray(out.length - reject.length).equals(reject), 'the third was rejected')
  assert.equal(h.w.destroyed, false)
  h.w.destroy()
})

test('a hash request nobody listens for gets a hash reject at once when v2 is on (BEP 52: every request is answered)', async () => {
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  b.once('handshake', () => b.handshake(INFO_HASH, PEER_B, { v2: true }))
  const done = Promise.all([event(a, 'handshake'), event(b, 'handshake')])
  a.handshake(INFO_HASH, PEER_A)
  await done
  const req = { piecesRoot: TREE.root, baseLayer: 0, index: 0, length: 2, proofLayers: 0 }
  const err = await new Promise(resolve => a.hashRequest(req, resolve))
  assert.equal(err.code, ErrorCodes.HASH_REJECTED)
  assert.equal(b.peerHashRequests.length, 0)
  a.destroy()
})

test('without v2 on either side and no hash-request listener, ids 21-23 are unknown messages as in 3.5.5: nothing is sent back', async () => {
  const { a, b } = await pair()
  const unknown = []
  b.on('unknownmessage', m => unknown.push(m))
  let sent = 0
  b.on('data', () => { sent++ })
  const req = { piecesRoot: TREE.root, baseLayer: 0, index: 0, length: 2, proofLayers: 0 }
  const got = event(b, 'unknownmessage')
  const result = new Promise(resolve => a.hashRequest(req, resolve))
  await got
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(unknown.length, 1)
  assert.equal(unknown[0][0], 21)
  assert.equal(unknown[0].length, 49)
  assert.equal(sent, 0, 'no hash reject to a peer that never spoke of v2')
  assert.deepEqual(b.peerHashRequests, [], 'no BEP 52 state was made')
  a.destroy()
  assert.equal((await result).code, ErrorCodes.WIRE_CLOSED)
})

test('hash rejects are dropped, not buffered, once the peer leaves 1 MiB of our output unread', async () => {
  const h = ready({ peerV2: true, wire: { maxPeerRequests: 1 } })
  h.w.on('hash-request', () => {}) // never answered: the cap of 1 is reached at once
  await settle()
  h.w.pause() // the peer reads nothing more
  h.w.removeAllListeners('data')
  const one = hashRequestBytes(ID.hashRequest, TREE.root, 0, 0, 2, 0)
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => one))
  for (let i = 0; i < 100; i++) h.w.write(batch) // 100,000 requests, 5.3 MB in
  await settle()
  assert.equal(h.w.destroyed, false)
  assert.ok(h.w.readableLength <= 1024 * 1024 + 64, `unread output stays bounded: ${h.w.readableLength}`)
  assert.equal(h.w.droppedPeerRequests, 99999)
  h.w.destroy()
})

// -----------------------------------------------------------------------------
// Hostile hash messages

async function fatal (bytes, code, label) {
  const h = ready()
  const before = snapshot(h.w)
  const events = []
  for (const e of ['hash-request', 'hashes', 'hash-reject']) h.w.on(e, () => events.push(e))
  h.w.write(bytes)
  await settle()
  assert.deepEqual(h.rec.errors.map(e => e.code), [code], label)
  assert.ok(h.rec.closed && h.w.destroyed, label + ': closed')
  assert.deepEqual(snapshot(h.w), before, label + ': state unchanged')
  assert.deepEqual(events, [], label + ': no event')
}

test('malformed hash request / hashes / hash reject: coded errors, clean close, nothing emitted', async () => {
  const R = TREE.root
  const hdr = (base, index, length, proof) => Buffer.concat([R, u32(base), u32(index), u32(length), u32(proof)])
  const cases = [
    ['hash request of 48 bytes', framed(48, ID.hashRequest, Buffer.alloc(47)), ErrorCodes.BAD_LENGTH],
    ['hash request of 50 bytes', framed(50, ID.hashRequest, Buffer.alloc(49)), ErrorCodes.BAD_LENGTH],
    ['hash reject of 53 bytes', framed(53, ID.hashReject, Buffer.alloc(52)), ErrorCodes.BAD_LENGTH],
    ['hashes shorter than its header', framed(40, ID.hashes, Buffer.alloc(39)), ErrorCodes.BAD_LENGTH],
    ['hashes with a partial hash', framed(49 + 31, ID.hashes, Buffer.alloc(48 + 31)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hashes with one hash more than its header says', msg(ID.hashes, hdr(0, 0, 4, 0), Buffer.alloc(5 * 32)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hashes with one hash less', msg(ID.hashes, hdr(0, 0, 4, 0), Buffer.alloc(3 * 32)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hashes missing its uncles', msg(ID.hashes, hdr(0, 0, 2, 3), Buffer.alloc(2 * 32)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hashes with 0 hashes', msg(ID.hashes, hdr(0, 0, 0, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request for 0 hashes', msg(ID.hashRequest, hdr(0, 0, 0, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request for 8193 hashes', msg(ID.hashRequest, hdr(0, 0, 8193, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request for 2^32-1 hashes', msg(ID.hashRequest, hdr(0, 0, 0xffffffff, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request with an unaligned index', msg(ID.hashRequest, hdr(0, 3, 2, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request with an index beyond any tree', msg(ID.hashRequest, hdr(40, 0xfffffffe, 2, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request at base layer 2^32-1', msg(ID.hashRequest, hdr(0xffffffff, 0, 2, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash request with 2^32-1 proof layers', msg(ID.hashRequest, hdr(0, 0, 2, 0xffffffff)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash reject for 0 hashes', msg(ID.hashReject, hdr(0, 0, 0, 0)), ErrorCodes.BAD_HASH_MESSAGE],
    ['hash reject with 64 proof layers', msg(ID.hashReject, hdr(0, 0, 2, 64)), ErrorCodes.BAD_HASH_MESSAGE]
  ]
  for (const [label, bytes, code] of cases) await fatal(bytes, code, label)
})

test('well-formed hash messages from the peer keep the wire alive (unsolicited hashes are only an event)', async () => {
  const h = ready()
  const events = []
  h.w.on('hash-request', r => events.push(['hash-request', r.length]))
  h.w.on('hashes', m => events.push(['hashes', m.hashes.length, m.uncles.length]))
  h.w.on('hash-reject', r => events.push(['hash-reject', r.index]))
  const rep = reply(TREE, { baseLayer: 2, index: 0, length: 128, proofLayers: 6 })
  h.w.write(Buffer.concat([
    hashRequestBytes(ID.hashRequest, TREE.root, 0, 0, 8192, 8),
    msg(ID.hashes, TREE.root, 2, 0, 128, 6, ...rep.hashes),
    msg(ID.hashes, TREE.root, 0, 510, 2, 8, ...answer(TREE, { baseLayer: 0, index: 510, length: 2, proofLayers: 8 }).hashes,
      ...answer(TREE, { baseLayer: 0, index: 510, length: 2, proofLayers: 8 }).uncles),
    hashRequestBytes(ID.hashReject, TREE.root, 0, 6, 2, 0)
  ]))
  await settle()
  assert.deepEqual(h.rec.errors, [])
  assert.equal(h.w.destroyed, false)
  assert.deepEqual(events, [['hash-request', 8192], ['hashes', 128, 0], ['hashes', 2, 8], ['hash-reject', 6]])
  h.w.destroy()
})

// -----------------------------------------------------------------------------
// verifyHashes

test('verifyHashes: honest replies verify for leaf and piece layers, whole layers, runs and short files', () => {
  const trees = [TREE, merkleTree(randomBytes(BLOCK + 1)), merkleTree(randomBytes(5 * BLOCK - 7)), merkleTree(randomBytes(64 * BLOCK))]
  let checked = 0
  for (const tree of trees) {
    const height = tree.layers.length - 1
    for (let base = 0; base < height; base++) {
      const layer = tree.layers[base].length
      for (let length = 1; length <= layer; length *= 2) {
        for (const index of [0, layer - length]) {
          const req = { baseLayer: base, index, length, proofLayers: toRoot(tree, base) }
          assert.equal(verifyHashes(tree.root, tree.length, reply(tree, req)), true, JSON.stringify({ len: tree.length, ...req }))
          checked++
        }
      }
    }
  }
  assert.ok(checked > 50, `${checked} replies`)
  // a run cut short at the end of the data (5 blocks of 8 leaves): the rest is padding
  const five = trees[2]
  const short = { piecesRoot: five.root, baseLayer: 0, index: 0, length: 5, proofLayers: 2, hashes: five.layers[0].slice(0, 5), uncles: [] }
  assert.equal(verifyHashes(five.root.toString('hex'), five.length, short), true)
})

test('verifyHashes: tampered, shifted or inconsistent replies are refused', () => {
  const req = { baseLayer: 2, index: 64, length: 32, proofLayers: 6 }
  const good = reply(TREE, req)
  assert.equal(good.uncles.length, 2)
  assert.equal(verifyHashes(TREE.root, TREE.length, good), true)
  const flip = h => { const c = Buffer.from(h); c[5] ^= 1; return c }
  const bad = {
    'a flipped base-layer hash': { ...good, hashes: good.hashes.map((h, i) => i === 17 ? flip(h) : h) },
    'a flipped uncle': { ...good, uncles: [good.uncles[0], flip(good.uncles[1])] },
    'uncles swapped': { ...good, uncles: [good.uncles[1], good.uncles[0]] },
    'an uncle missing': { ...good, uncles: good.uncles.slice(0, 1) },
    'an extra uncle': { ...good, uncles: [...good.uncles, Buffer.alloc(32)] },
    'two hashes swapped': { ...good, hashes: [good.hashes[1], good.hashes[0], ...good.hashes.slice(2)] },
    'the index moved': { ...good, index: 32 },
    'another pieces root in the reply': { ...good, piecesRoot: flip(TREE.root) },
    'the base layer moved': { ...good, baseLayer: 1 },
    'fewer proof layers than the root needs': { ...good, proofLayers: 5, uncles: good.uncles.slice(0, 1) },
    'a hash of 31 bytes': { ...good, hashes: [good.hashes[0].subarray(1), ...good.hashes.slice(1)] },
    'hashes not an array': { ...good, hashes: Buffer.concat(good.hashes) },
    'index past the layer': { ...good, index: 128 },
    'length 0': { ...good, length: 0, hashes: [] },
    'unaligned index': { ...good, index: 16 }
  }
  for (const [label, r] of Object.entries(bad)) assert.equal(verifyHashes(TREE.root, TREE.length, r), false, label)
  assert.equal(verifyHashes(flip(TREE.root), TREE.length, good), false, 'checked against another root')
  assert.equal(verifyHashes(TREE.root, 1, good), false, 'a file of one block has no layer 2')
  assert.equal(verifyHashes(TREE.root, TREE.length, null), false)

  // the layer-shift forgery: hashes of layer 1 passed off as layer 2 of a tree one layer taller,
  // with the root's own children as the last step. Only the file's length gives it away.
  const shifted = { piecesRoot: TREE.root, baseLayer: 2, index: 0, length: 256, proofLayers: 8, hashes: TREE.layers[1].slice(0, 256), uncles: [TREE.layers[8][1]] }
  assert.equal(verifyHashes(TREE.root, TREE.length * 2, shifted), false)
  assert.equal(verifyHashes(TREE.root, TREE.length, shifted), false)

  assert.throws(() => verifyHashes(Buffer.alloc(31), 10, good), /32 bytes/)
  assert.throws(() => verifyHashes(TREE.root, 0, good), /fileLength/)
})

// -----------------------------------------------------------------------------
// BEP 6 allowed-fast set

test('allowedFastSet: BEP 6\'s example values', () => {
  const ih = 'aa'.repeat(20)
  assert.deepEqual(allowedFastSet('80.4.4.200', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.deepEqual(allowedFastSet('80.4.4.200', Buffer.from(ih, 'hex'), 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508])
  // only the first three octets count; IPv4-mapped IPv6, bytes and u32 are the same address
  assert.deepEqual(allowedFastSet('80.4.4.1', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.deepEqual(allowedFastSet('::ffff:80.4.4.200', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.deepEqual(allowedFastSet(Buffer.from([80, 4, 4, 200]), ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.deepEqual(allowedFastSet(0x500404c8, ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.notDeepEqual(allowedFastSet('80.4.5.200', ih, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.equal(allowedFastSet('80.4.4.200', ih, 1313).length, 10, 'k defaults to 10')
})

test('allowedFastSet: k is capped at the piece count; bad input throws; IPv6 has no set', () => {
  const set = allowedFastSet('10.0.0.1', INFO_HASH, 3, 10)
  assert.deepEqual([...set].sort(), [0, 1, 2])
  assert.deepEqual(allowedFastSet('10.0.0.1', INFO_HASH, 0, 10), [])
  assert.deepEqual(allowedFastSet('10.0.0.1', INFO_HASH, 100, 0), [])
  assert.throws(() => allowedFastSet('2001:db8::1', INFO_HASH, 100), /IPv4/)
  assert.throws(() => allowedFastSet('300.1.1.1', INFO_HASH, 100), /IPv4/)
  assert.throws(() => allowedFastSet('example.com', INFO_HASH, 100), /IP address/)
  assert.throws(() => allowedFastSet('1.2.3.4', 'abcd', 100), /20 bytes/)
  assert.throws(() => allowedFastSet('1.2.3.4', INFO_HASH, -1), /numPieces/)
})

async function autoPair ({ aOpts, fast = true, sendBitfield = 'bitfield' }) {
  const a = new Wire(aOpts)
  const b = new Wire()
  const fromA = []
  b.on('allowed-fast', i => fromA.push(['allowed-fast', i]))
  b.on('bitfield', () => fromA.push(['bitfield']))
  b.on('have-all', () => fromA.push(['have-all']))
  a.pipe(b).pipe(a)
  b.once('handshake', () => b.handshake(Buffer.alloc(20, 0xaa), PEER_B, { fast }))
  const done = Promise.all([event(a, 'handshake'), event(b, 'handshake')])
  a.handshake(Buffer.alloc(20, 0xaa), PEER_A, { fast: true })
  await done
  await settle()
  assert.deepEqual(fromA, [], 'nothing before our bitfield')
  if (sendBitfield === 'bitfield') a.bitfield(Buffer.alloc(165))
  else if (sendBitfield === 'have-all') a.haveAll()
  await settle()
  a.destroy()
  b.destroy()
  return { a, fromA }
}

test('option allowedFast: the canonical set goes out after our bitfield / have-all, once fast is negotiated', async () => {
  const expected = [1059, 431, 808, 1217, 287, 376, 1188]
  const one = await autoPair({ aOpts: { allowedFast: { ip: '80.4.4.200', pieces: 1313, k: 7 } } })
  assert.deepEqual(one.fromA, [['bitfield'], ...expected.map(i => ['allowed-fast', i])])
  assert.deepEqual(one.a.allowedFastSet, expected)
  const two = await autoPair({ aOpts: { allowedFast: { ip: '80.4.4.200', pieces: 1313, k: 7 } }, sendBitfield: 'have-all' })
  assert.deepEqual(two.fromA, [['have-all'], ...expected.map(i => ['allowed-fast', i])])
  const noFast = await autoPair({ aOpts: { allowedFast: { ip: '80.4.4.200', pieces: 1313 } }, fast: false })
  assert.deepEqual(noFast.fromA, [['bitfield']], 'fast not negotiated: no set')
  const v6 = await autoPair({ aOpts: { allowedFast: { ip: '2001:db8::1', pieces: 1313 } } })
  assert.deepEqual(v6.fromA, [['bitfield']], 'IPv6 peer: no set')
  const defaultK = await autoPair({ aOpts: { allowedFast: { ip: '80.4.4.200', pieces: 1313 } } })
  assert.equal(defaultK.a.allowedFastSet.length, 10)
  assert.throws(() => new Wire({ allowedFast: { ip: '80.4.4.200' } }), /pieces/)
  assert.throws(() => new Wire({ allowedFast: { ip: 'nope', pieces: 3 } }), /IP address/)
})

test('option allowedFast: a bitfield sent before the peer\'s handshake arrives is followed by the set at handshake time', async () => {
  const a = new Wire({ allowedFast: { ip: '80.4.4.200', pieces: 1313, k: 7 } })
  const b = new Wire()
  const seen = []
  b.on('bitfield', () => seen.push('bitfield'))
  b.on('allowed-fast', i => seen.push(i))
  a.pipe(b).pipe(a)
  b.once('handshake', () => setImmediate(() => b.handshake(Buffer.alloc(20, 0xaa), PEER_B, { fast: true })))
  a.handshake(Buffer.alloc(20, 0xaa), PEER_A, { fast: true })
  a.bitfield(Buffer.alloc(165))
  await event(a, 'handshake')
  await settle()
  assert.deepEqual(seen, ['bitfield', 1059, 431, 808, 1217, 287, 376, 1188])
  a.destroy()
  b.destroy()
})

// -----------------------------------------------------------------------------
// Reserved bits

test('reserved bits: named bits and raw bytes in our handshake; the peer sees the raw bytes and the names', async () => {
  const x = new Wire()
  const y = new Wire()
  x.pipe(y).pipe(x)
  y.once('handshake', () => y.handshake(INFO_HASH, PEER_B, {
    v2: true, nat: true, xbtPex: true, azureus: true, extensionNegotiation: true, reserved: '0000400000000000'
  }))
  const fromY = event(x, 'handshake')
  const fromX = event(y, 'handshake')
  x.handshake(INFO_HASH, PEER_A, { fast: true, dht: true })
  const [, , exts] = await fromY
  // byte 0: azureus; byte 2: the raw 0x40; byte 5: extended 0x10 + negotiation 0x03; byte 7: v2 0x10, nat 0x08, xbtPex 0x02
  assert.equal(x.peerReserved.toString('hex'), '800040000013001a')
  // dht, fast and extended always (as 5.0.9 names them), the other bits by name when set
  assert.deepEqual({ ...exts }, {
    dht: false, fast: false, extended: true, azureus: true, v2: true, extensionNegotiation: true, nat: true, xbtPex: true
  })
  assert.equal(exts, x.peerExtensions, "peerExtensions is the 'handshake' event's object")
  assert.equal(x.peerExtensions.v2, true)
  assert.equal(y.extensions.v2, true)
  assert.equal(y.extensions.nat, true)
  await fromX
  assert.equal(y.peerReserved.toString('hex'), '0000000000100005')
  assert.deepEqual({ ...y.peerExtensions }, { dht: true, fast: true, extended: true })
  assert.deepEqual({ ...x.extensions }, { dht: true, fast: true, extended: true })
  x.destroy()
  y.destroy()
})
