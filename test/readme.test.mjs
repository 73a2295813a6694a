// The README's usage examples (the user's own, with Buffer.from for new Buffer) run for real,
// and every code block of the README and docs/ compiles as strict TypeScript against the build
// (test/doc-examples.mjs; test/package/install.test.mjs compiles them against the packed tarball).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import crypto from 'node:crypto'
import { format } from 'node:util'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { docExamples, docFiles } from './doc-examples.mjs'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import bencode from 'bencode'
import utMetadata from 'ut_metadata'
import Wire from 'bittorrent-protocol'
import { event } from './helpers.mjs'

const require = createRequire(import.meta.url)
const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function exampleBody (file) {
  // the README shows each example without its last two lines (listen port / export for the test)
  const src = fs.readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8')
  return src.split('\n').filter(l => !l.startsWith('server.listen') && !l.startsWith('module.exports')).join('\n').trim()
}

async function start (file) {
  process.env.PORT = '0'
  const server = require(`../examples/${file}`)
  if (!server.listening) await once(server, 'listening')
  return server
}

test('README and docs/ show the examples verbatim', () => {
  const docs = docFiles().map(f => fs.readFileSync(f, 'utf8'))
  assert.ok(readme.includes(exampleBody('server.cjs')), 'README contains examples/server.cjs')
  assert.ok(docs.some(d => d.includes(exampleBody('metadata.cjs'))), 'the docs contain examples/metadata.cjs')
})

test('the README is short and its links to docs/ and the changelog lead somewhere', () => {
  const lines = readme.split('\n').length
  assert.ok(lines <= 300, `README: ${lines} lines (at most 300; the reference is in docs/)`)
  const root = fileURLToPath(new URL('..', import.meta.url))
  const links = [...readme.matchAll(/\]\(((?:docs\/|CHANGELOG|packages\/)[^)#]+)/g)].map(m => m[1])
  for (const doc of ['api', 'extensions', 'encryption', 'security', 'browser', 'migrating', 'architecture', 'benchmarks']) {
    assert.ok(links.includes(`docs/${doc}.md`), `README links docs/${doc}.md`)
  }
  for (const link of links) assert.ok(fs.existsSync(join(root, link)), `${link} exists`)
  for (const file of docFiles()) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/\]\(([\w./-]+\.md)(?:#[^)]*)?\)/g)) {
      assert.ok(fs.existsSync(join(file, '..', m[1])), `${file}: link ${m[1]}`)
    }
  }
})

test('the bundler config in docs/browser.md is the one the browser suite builds with', () => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const doc = fs.readFileSync(join(root, 'docs', 'browser.md'), 'utf8')
  const block = /^```js\n(\/\/ rollup\.config\.mjs[\s\S]*?)^```$/m.exec(doc)
  assert.ok(block, 'docs/browser.md shows a rollup.config.mjs')
  const suite = fs.readFileSync(join(root, 'test', 'browser', 'bundlers.test.mjs'), 'utf8')
  assert.match(block[1], /nodeResolve\(\{ browser: true, preferBuiltins: false \}\), commonjs\(\)/)
  assert.match(suite, /\{ browser: true, preferBuiltins: false \}/)
  assert.match(suite, /commonjs\(/)
})

test('every code block of the README and docs/ compiles (strict TypeScript, ESM or CommonJS)', (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const dir = join(root, 'test', 'fixtures', 'ts-consumer', 'doc-examples')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir)
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const examples = docExamples()
  assert.ok(examples.length >= 10, `${examples.length} examples`)
  for (const { name, code } of examples) fs.writeFileSync(join(dir, name), code)
  const { compilerOptions } = JSON.parse(fs.readFileSync(join(root, 'test', 'fixtures', 'ts-consumer', 'tsconfig.json'), 'utf8'))
  fs.writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: examples.map(e => e.name) }))
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' })
  } catch (err) {
    const where = Object.fromEntries(examples.map(e => [e.name, e.source]))
    assert.fail(String(err.stdout).replace(/^(?:\S*\/)?(\S+?\.[cm][jt]s)\((\d+),(\d+)\)/gm, (_, f, l, c) => `${where[f] ?? f}, ${f}(${l},${c})`))
  }
  t.diagnostic(`${examples.length} code blocks compiled`)
})

test('example: the handshake server answers a handshake and reports unchoke', async (t) => {
  const server = await start('server.cjs')
  t.after(() => server.close())
  const socket = net.connect(server.address().port, '127.0.0.1')
  t.after(() => socket.destroy())
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  const hs = event(wire, 'handshake')
  wire.handshake(crypto.randomBytes(20), crypto.randomBytes(20))
  const [infoHash, peerId] = await hs
  assert.equal(infoHash, Buffer.from('my info hash........').toString('hex'))
  assert.equal(peerId, Buffer.from('my peer id..........').toString('hex'))
  const logs = []
  const log = console.log
  console.log = (...args) => logs.push(format(...args))
  t.after(() => { console.log = log })
  const ka = event(wire, 'keep-alive').catch(() => {})
  wire.unchoke()
  wire.keepAlive()
  await new Promise(resolve => setTimeout(resolve, 100))
  console.log = log
  void ka
  assert.deepEqual(logs, ['peer is no longer choking us: false'])
})

test('example: the ut_metadata server fetches metadata from a peer that has it', async (t) => {
  const server = await start('metadata.cjs')
  t.after(() => server.close())
  const info = { length: 1, name: Buffer.from('x'), 'piece length': 16384, pieces: crypto.randomBytes(20) }
  const torrent = bencode.encode({ info })
  const infoHash = crypto.createHash('sha1').update(bencode.encode(info)).digest()
  const socket = net.connect(server.address().port, '127.0.0.1')
  t.after(() => socket.destroy())
  const wire = new Wire()
  wire.use(utMetadata(torrent))
  socket.pipe(wire).pipe(socket)
  const logs = []
  const log = console.log
  const gotLog = new Promise(resolve => {
    console.log = (...args) => { logs.push(format(...args)); resolve() }
  })
  t.after(() => { console.log = log })
  wire.handshake(infoHash, crypto.randomBytes(20))
  await gotLog
  console.log = log
  assert.match(logs[0], /^got metadata of \d+ bytes$/)
})
