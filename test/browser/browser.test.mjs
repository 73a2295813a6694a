// The package in a real browser: a test page bundled with esbuild and with browserify, served on
// 127.0.0.1 and run in Debian's Chromium (headless, through playwright-core). The page reports
// what it saw; the assertions are made here.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, mkdirSync, symlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import http from 'node:http'
import crypto from 'node:crypto'
import { build } from 'esbuild'
import browserify from 'browserify'
import bencode from 'bencode'
import { chromium } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'
const here = fileURLToPath(new URL('.', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

// a real torrent: 2.5 pieces of 16 KiB, and its info hash
const pieceLength = 16384
const content = crypto.randomBytes(2 * pieceLength + 7000)
const pieceCount = Math.ceil(content.length / pieceLength)
const pieces = Buffer.concat(Array.from({ length: pieceCount }, (_, i) =>
  crypto.createHash('sha1').update(content.subarray(i * pieceLength, (i + 1) * pieceLength)).digest()))
const info = { length: content.length, name: Buffer.from('payload.bin'), 'piece length': pieceLength, pieces }
const infoBuffer = bencode.encode(info)
const infoHash = crypto.createHash('sha1').update(infoBuffer).digest('hex')
const torrent = bencode.encode({ info })
const input = {
  infoHash,
  torrent: torrent.toString('base64'),
  content: content.toString('base64'),
  pieceLength,
  pieceCount,
  peerA: '2d4141303030302d' + 'a'.repeat(24),
  peerB: '2d4242303030302d' + 'b'.repeat(24)
}

let work, server, origin, context
const bundles = {}

before(async () => {
  // Fail, never skip, without the browser.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's "chromium" package (apt-get install chromium)`)

  // The test pages resolve 'bittorrent-protocol' as a consumer would: from a node_modules folder
  // holding this package, so package.json's `browser` field and export conditions decide.
  work = mkdtempSync(join(tmpdir(), 'bt-browser-'))
  mkdirSync(join(work, 'node_modules'))
  symlinkSync(root, join(work, 'node_modules', 'bittorrent-protocol'), 'dir')
  const consumerModules = join(work, 'node_modules')

  // esbuild: no define, no inject, no Node shims — the package must not need any. Only the
  // ut_metadata 3.x plugin (and the bencode 2 it requires), which expect browserify's global
  // Buffer, get a module-local one.
  const pluginBuffer = {
    name: 'buffer-for-ut_metadata',
    setup (build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/](ut_metadata|bencode)[\\/].*\.js$/ }, async args => ({
        contents: "var Buffer = require('buffer').Buffer;\n" + await readFile(args.path, 'utf8'),
        loader: 'js',
        resolveDir: dirname(args.path)
      }))
    }
  }
  const result = await build({
    entryPoints: [join(here, 'entry-esbuild.mjs')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    metafile: true,
    nodePaths: [consumerModules],
    plugins: [pluginBuffer],
    logLevel: 'silent'
  })
  bundles.esbuild = { code: result.outputFiles[0].text, files: Object.keys(result.metafile.inputs) }

  // browserify, the way its users run it
  const files = []
  const b = browserify(join(here, 'entry-browserify.cjs'), { paths: [consumerModules] })
  b.on('file', file => files.push(file))
  const code = await new Promise((resolve, reject) => b.bundle((err, buf) => err ? reject(err) : resolve(buf.toString())))
  bundles.browserify = { code, files }

  server = http.createServer((req, res) => {
    const name = req.url.slice(1)
    if (Object.hasOwn(bundles, name)) {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(bundles[name].code)
    } else if (req.url.startsWith('/page/')) {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><meta charset="utf-8"><title>bittorrent-protocol</title><script src="/${req.url.slice(6)}"></script>`)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${server.address().port}`

  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    // --disable-dev-shm-usage: CI containers have a small /dev/shm
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage']
  })
})

after(async () => {
  await context?.close()
  server?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

function rel (file) {
  return file.startsWith(root) ? file.slice(root.length) : file
}

for (const bundler of ['esbuild', 'browserify']) {
  test(`${bundler} bundle: the browser build, without MSE or Node's net / fs / crypto`, () => {
    const files = bundles[bundler].files.map(f => rel(f.replace(/\\/g, '/')))
    assert.ok(files.some(f => f.endsWith('dist/browser.cjs')), 'the browser build is what gets bundled')
    assert.ok(!files.some(f => f.endsWith('dist/index.cjs') || f.endsWith('dist/index.mjs')), 'the Node entry stays out')
    assert.deepEqual(files.filter(f => /mse|crypto-browserify|node_modules\/(net|fs)\b|randombytes|diffie-hellman/.test(f)), [])
    // the MSE key derivation (HASH('keyA', S, SKEY)) is nowhere in the bundle
    assert.ok(!/["']keyA["']/.test(bundles[bundler].code), 'no MSE code in the bundle')
    assert.ok(files.some(f => f.includes('node_modules/ut_metadata/')), 'the real ut_metadata plugin is in the page')
  })

  test(`${bundler} bundle in Chromium: two wires piped together, pieces and ut_metadata`, async () => {
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', err => pageErrors.push(err.message))
    try {
      await page.goto(`${origin}/page/${bundler}`)
      const out = await page.evaluate(arg => globalThis.runScenario(arg), input)

      assert.deepEqual(pageErrors, [])
      assert.deepEqual(out.errors, [])
      assert.equal(out.bundler, bundler)
      if (bundler === 'esbuild') {
        // no Node global existed in the page, before or after the run
        const none = { Buffer: 'undefined', global: 'undefined', process: 'undefined' }
        assert.deepEqual(out.globals, { atLoad: none, afterRun: none })
        assert.deepEqual(out.named, { WireError: true, ErrorCodes: true })
      }
      assert.deepEqual(out.handshake, { infoHash, peerId: input.peerA, extended: true })
      assert.equal(out.extended.name, 'handshake')
      assert.ok(out.extended.ut_metadata > 0, 'the peer offers ut_metadata')
      assert.equal(out.extended.metadataSize, infoBuffer.length)
      assert.deepEqual(out.peerPieces, [true, true, true])
      assert.deepEqual(out.state, { aPeerInterested: true, bPeerChoking: false, bAmInterested: true })
      assert.equal(out.blocksAreBuffers, true)
      assert.ok(Buffer.from(out.received, 'base64').equals(content), 'every piece arrives byte for byte')
      assert.deepEqual(out.stats, { downloaded: content.length, uploaded: content.length })
      const metadata = bencode.decode(Buffer.from(out.metadata, 'base64'))
      assert.ok(Buffer.from(bencode.encode(metadata.info)).equals(infoBuffer), 'ut_metadata delivers the info dictionary')
      assert.deepEqual(out.hashes, { err: null, hashes: [1, 2], uncles: [3], buffers: true, rejected: 'ERR_BT_HASH_REJECTED' })
      assert.match(out.allowedFast, /not available in this build/)
      assert.match(out.encrypt, /not available in this build/)
      assert.equal(out.webrtcLevel, 'function')
      assert.match(out.tcpLevel, /not available in this build/)
      assert.equal(out.nativeRC4, false)
      assert.deepEqual(out.hostile, { code: 'ERR_BT_BAD_HANDSHAKE', isWireError: true })
    } finally {
      await page.close()
    }
  })
}
