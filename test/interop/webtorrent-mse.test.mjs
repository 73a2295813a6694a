// WebTorrent 3.0.21's own encryption tests (its test/node/encryption.js), run the same way on this
// package: two WebTorrent 3 clients in this process, a seeder and a downloader over 127.0.0.1 with
// each `secure` level pairing, and on every wire of the downloader what those tests read of
// bittorrent-protocol 5.0.9's private getters once the crypto handshake is done:
// `_cryptoHandshakeDone === true` and `_encryptionMethod` 2 (RC4) or 1 (plaintext payload); for a
// plain connection, no MSE state. The fixture is installed by setup-fixtures.mjs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import { realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const webtorrentDir = join(here, 'webtorrent3', 'node_modules', 'webtorrent')
const fromWebTorrent = createRequire(join(webtorrentDir, 'package.json'))
const WebTorrent = (await import(pathToFileURL(join(webtorrentDir, 'index.js')).href)).default
const MemoryChunkStore = fromWebTorrent('memory-chunk-store')

test('the fixture\'s WebTorrent 3 runs on this package', () => {
  assert.equal(realpathSync(fromWebTorrent.resolve('bittorrent-protocol')), realpathSync(join(here, '..', '..', 'dist', 'index.cjs')))
})

function client (secure) {
  return new WebTorrent({ dht: false, tracker: false, lsd: false, utp: false, webSeeds: false, natUpnp: false, natPmp: false, utPex: false, secure })
}

/** Seed 1 MiB at `seederLevel`, download it at `downloaderLevel`: the downloader's wires as they were handed out, and the bytes. */
async function transfer (seederLevel, downloaderLevel) {
  const seeder = client(seederLevel)
  const downloader = client(downloaderLevel)
  const failures = []
  for (const c of [seeder, downloader]) {
    c.on('error', err => failures.push(err))
    c.on('warning', err => failures.push(err))
  }
  try {
    const data = crypto.randomBytes(1024 * 1024)
    const seeded = await new Promise((resolve, reject) => {
      const t = seeder.seed(Buffer.from(data), { name: 'data.bin', store: MemoryChunkStore, announce: [] }, resolve)
      t.on('error', reject)
    })
    await new Promise(resolve => seeder.torrentPort ? resolve() : seeder.once('listening', resolve))
    const wires = []
    const got = await new Promise((resolve, reject) => {
      const t = downloader.add(seeded.infoHash, { store: MemoryChunkStore, announce: [] })
      t.on('error', reject)
      t.on('infoHash', () => t.addPeer(`127.0.0.1:${seeder.torrentPort}`))
      t.on('wire', wire => wires.push({ peState: wire._peState, method: wire._encryptionMethod, done: wire._cryptoHandshakeDone }))
      t.on('done', () => t.files[0].arrayBuffer().then(b => resolve(Buffer.from(b)), reject))
    })
    assert.deepEqual(failures, [])
    assert.ok(got.equals(data), 'the downloaded bytes are the seeded ones')
    return wires
  } finally {
    await new Promise(resolve => downloader.destroy(() => seeder.destroy(resolve)))
  }
}

// [seeder secure, downloader secure, method (null: no MSE)] as in WebTorrent's encryption.js
const PAIRS = [[0, 0, null], [2, 2, 2], [1, 1, 1], [2, 0, null], [1, 0, null], [2, 1, 2], [1, 2, 2]]

for (const [seederLevel, downloaderLevel, method] of PAIRS) {
  test(`WebTorrent 3 seeder secure ${seederLevel}, downloader secure ${downloaderLevel}: ${method === null ? 'plain' : `MSE, method ${method}`}`, async () => {
    const wires = await transfer(seederLevel, downloaderLevel)
    assert.ok(wires.length >= 1, 'the downloader had a wire')
    for (const w of wires) {
      if (method === null) assert.deepEqual(w, { peState: 'idle', method: downloaderLevel === 0 ? undefined : null, done: false })
      else assert.deepEqual(w, { peState: 'done', method, done: true })
    }
  })
}
