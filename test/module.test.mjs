// Module shape: require() and import give the same Wire class; TypeScript consumers compile.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Wire, { Wire as NamedWire, WireError, ErrorCodes } from 'bittorrent-protocol'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))

test('require() returns the Wire class itself; import default and named give the same class', () => {
  const Required = require('bittorrent-protocol')
  assert.equal(typeof Required, 'function')
  assert.equal(Required.name, 'Wire')
  assert.equal(Required, Wire)
  assert.equal(NamedWire, Wire)
  assert.equal(Required.WireError, WireError)
  assert.equal(Required.ErrorCodes, ErrorCodes)
  const w = new Required()
  assert.ok(w instanceof Wire)
  assert.equal(typeof w.pipe, 'function')
  // the built files behind the exports map
  assert.equal(require(root + 'dist/index.cjs'), Wire)
})

test('a wire is a readable-stream Duplex: the very package an application (or WebTorrent 1.x) requires', async () => {
  const { Duplex, Readable, Writable } = require('readable-stream')
  const { Stream } = await import('node:stream')
  const w = new Wire()
  assert.ok(w instanceof Duplex, "instanceof require('readable-stream').Duplex")
  assert.ok(w instanceof Readable && w instanceof Writable)
  assert.ok(w instanceof Stream, "and a Node Stream (readable-stream 3's base), as 3.5.5's wire")
  assert.equal(require('readable-stream/package.json').version.split('.')[0], '3', "3.5.5's readable-stream line")
  w.destroy()
})

test('the ESM build of the sources loads on its own', async () => {
  const esm = await import(new URL('../dist/esm/index.js', import.meta.url))
  assert.equal(typeof esm.default, 'function')
  assert.equal(esm.default.name, 'Wire')
})

test('a TypeScript consumer (ESM and CommonJS) compiles against the shipped types with typed listeners', () => {
  // consumer.mts contains @ts-expect-error lines: they fail the compile if listeners were untyped
  execFileSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'test/fixtures/ts-consumer/tsconfig.json'], { stdio: 'pipe' })
})
