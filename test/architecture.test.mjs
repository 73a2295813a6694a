// The module structure (docs/architecture.md) as checks on the build: no import cycle, only the
// entries import wire.js, no module but wire.js reaches into a Wire's `_` members, and the
// published types of Wire carry no internals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, dirname, relative } from 'node:path'

const ESM = fileURLToPath(new URL('../dist/esm/', import.meta.url))
const LAYERS = ['wire.js', 'wire-core.js', 'io/wire-stream.js']
const files = readdirSync(ESM, { recursive: true }).filter(f => f.endsWith('.js')).map(f => f.split('\\').join('/'))
const source = f => readFileSync(join(ESM, f), 'utf8')
const importsOf = f => [...source(f).matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)]
  .map(m => relative(ESM, join(dirname(join(ESM, f)), m[1])).split('\\').join('/'))

test('architecture: the import graph has no cycle', () => {
  const graph = new Map(files.map(f => [f, importsOf(f)]))
  const state = new Map()
  const visit = (f, path) => {
    if (state.get(f) === 'done') return
    assert.notEqual(state.get(f), 'open', `import cycle: ${[...path, f].join(' -> ')}`)
    state.set(f, 'open')
    for (const g of graph.get(f) ?? []) visit(g, [...path, f])
    state.set(f, 'done')
  }
  for (const f of files) visit(f, [])
})

test('architecture: only the entries import wire.js; the MSE adapter only from the Node entry', () => {
  for (const f of files) {
    const imports = importsOf(f)
    if (imports.includes('wire.js')) assert.ok(['browser.js', 'index.js'].includes(f), `${f} imports wire.js`)
    if (imports.includes('mse/wire-adapter.js')) assert.equal(f, 'index.js', `${f} imports the MSE adapter`)
    // the layers below the Wire are its own: each imported by the one above only
    if (imports.includes('wire-core.js')) assert.equal(f, 'wire.js', `${f} imports wire-core.js`)
    if (imports.includes('io/wire-stream.js')) assert.equal(f, 'wire-core.js', `${f} imports io/wire-stream.js`)
  }
})

test('architecture: no module but the Wire layers touches a `_` member of a Wire', () => {
  for (const f of files) {
    // the Wire's own layers: its public API, its protocol core, its stream
    if (LAYERS.includes(f) || f.startsWith('shims/')) continue
    const code = source(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
    const hits = [...code.matchAll(/\b(?:wire|_wire|w|host)\._[A-Za-z]\w*/g)].map(m => m[0])
    assert.deepEqual(hits, [], f)
  }
})

test('architecture: the published types of Wire (and of its layers) list no internals', () => {
  for (const [file, cls] of [['wire.d.ts', 'Wire'], ['wire-core.d.ts', 'WireCore'], ['io/wire-stream.d.ts', 'WireStream']]) {
    const dts = readFileSync(join(ESM, file), 'utf8')
    const at = dts.search(new RegExp(`export declare (?:abstract )?class ${cls}\\b`))
    assert.ok(at >= 0, `${file} declares ${cls}`)
    const body = dts.slice(at)
    const members = [...body.matchAll(/^ {4}(?:(?:private|protected|static|readonly|abstract|get|set)\s+)*(_\w+)/gm)].map(m => m[1])
    // what real plugins and clients use (lt_donthave: _callback; WebTorrent: _debugId) and the stream hooks
    const allowed = new Set(['_callback', '_debugId', '_read', '_write', '_destroy'])
    assert.deepEqual([...new Set(members)].filter(m => !allowed.has(m)), [], file)
    assert.doesNotMatch(body, /^\s+private\s/m, `no private members in the published types (${file})`)
  }
})
