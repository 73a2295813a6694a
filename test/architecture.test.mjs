// The module structure (README "Architecture") as checks on the build: no import cycle, only the
// entries import wire.js, no module but wire.js reaches into a Wire's `_` members, and the
// published types of Wire carry no internals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, dirname, relative } from 'node:path'

const ESM = fileURLToPath(new URL('../dist/esm/', import.meta.url))
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
  }
})

test('architecture: no module but wire.js touches a `_` member of a Wire', () => {
  for (const f of files) {
    if (f === 'wire.js' || f.startsWith('shims/')) continue
    const code = source(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
    const hits = [...code.matchAll(/\b(?:wire|_wire|w|host)\._[A-Za-z]\w*/g)].map(m => m[0])
    assert.deepEqual(hits, [], f)
  }
})

test('architecture: the published types of Wire list no internals', () => {
  const dts = readFileSync(join(ESM, 'wire.d.ts'), 'utf8')
  const body = dts.slice(dts.indexOf('export declare class Wire'))
  const members = [...body.matchAll(/^ {4}(?:(?:private|protected|static|readonly|get|set)\s+)*(_\w+)/gm)].map(m => m[1])
  // what real plugins and clients use (lt_donthave: _callback; WebTorrent: _debugId) and the stream hooks
  const allowed = new Set(['_callback', '_debugId', '_read', '_write', '_destroy'])
  assert.deepEqual([...new Set(members)].filter(m => !allowed.has(m)), [])
  assert.doesNotMatch(body, /^\s+private\s/m, 'no private members in the published types')
})
