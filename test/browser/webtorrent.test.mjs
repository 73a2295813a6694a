// WebTorrent 3.0.21 in real browsers, on this package: the page (webtorrent3/page.js) bundled by
// webpack 5 with WebTorrent's documented config (webtorrent3/webpack.config.mjs), with this
// package put in by npm `overrides` (webtorrent3/package.json, installed by setup-fixtures.mjs;
// puppeteer-core comes from tools/).
// A bittorrent-tracker WebSocket server on 127.0.0.1, two browser contexts: one seeds 4 MiB, the
// other downloads it by magnet over WebRTC; the bytes are compared by SHA-256. In Debian's
// Chromium (playwright-core) and Firefox ESR (puppeteer-core over WebDriver BiDi). Each swarm runs
// in a process of its own (lib/webtorrent-swarm.mjs), inside a network namespace that has only a
// loopback interface when the machine allows one (`unshare --net`, else a user namespace's
// `unshare -rn`); where neither is allowed it runs on the host's 127.0.0.1 and says why.
//
// The cost of this package in a WebTorrent 3 page: WebTorrent itself bundled by the same config
// (as webtorrent.min.js is built) from this fixture and from webtorrent3-5.0.9 (the same
// application as npm installs it with bittorrent-protocol 5.0.9), minified and gzip -9, the
// difference held to a ceiling.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { ensureFixture } from './setup-fixtures.mjs'
import { packageEntries } from './lib/package-entries.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const SIZE = 4 * 1024 * 1024
const BROWSERS = { chromium: '/usr/bin/chromium', firefox: '/usr/bin/firefox-esr' }
// this package's cost in WebTorrent's bundle, over 5.0.9's, minified + gzipped: measured 27.8 KiB
// (README "Browser"); a quarter of it is `buffer`, which the page carries for this package alone
const MAX_COST = 30 * 1024

let fixture, fixture5, work
const pages = {}

/** webpack 5 from `dir` with WebTorrent's config; the modules it bundled, by path. */
async function bundle (dir, entry) {
  const { default: webpack } = await import(pathToFileURL(createRequire(join(dir, 'package.json')).resolve('webpack')))
  const { default: config } = await import(pathToFileURL(join(here, 'webtorrent3', 'webpack.config.mjs')))
  const outputPath = join(work, `${dir.split('/').pop()}-${entry}`)
  const stats = await new Promise((resolve, reject) => webpack(config({ fixture: dir, entry, outputPath }), (err, stats) => err ? reject(err) : resolve(stats)))
  const json = stats.toJson({ all: false, errors: true, warnings: true, modules: true, nestedModules: true })
  const modules = []
  const walk = list => { for (const m of list ?? []) m.modules ? walk(m.modules) : m.nameForCondition && modules.push(m.nameForCondition) }
  walk(json.modules)
  const code = readFileSync(join(outputPath, 'page.js'))
  return { dir: outputPath, fixture: dir, errors: json.errors.map(e => e.message), warnings: json.warnings.map(e => e.message), modules, minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

/** How to run a process in a network namespace with only loopback, or why it cannot be. */
function loopbackNamespace () {
  const lo = 'ip link set lo up && exec "$@"'
  const tries = [['--net'], ['--user', '--map-root-user', '--net']]
  const reasons = []
  for (const flags of tries) {
    const r = spawnSync('unshare', [...flags, 'sh', '-c', `${lo}`, 'sh', 'ip', '-o', 'link'], { encoding: 'utf8' })
    if (r.status === 0 && r.stdout.trim().split('\n').length === 1 && /: lo:/.test(r.stdout)) return { prefix: ['unshare', ...flags, 'sh', '-c', lo, 'sh'] }
    reasons.push(`unshare ${flags.join(' ')}: ${(r.error?.message || r.stderr || r.stdout).trim()}`)
  }
  return { prefix: [], why: reasons.join('; ') }
}

before(async () => {
  for (const [name, path] of Object.entries(BROWSERS)) assert.ok(existsSync(path), `${path} not found: install Debian's ${name === 'chromium' ? 'chromium' : 'firefox-esr'} package`)
  fixture = ensureFixture('webtorrent3')
  fixture5 = ensureFixture('webtorrent3-5.0.9')
  ensureFixture('tools')
  work = mkdtempSync(join(tmpdir(), 'bt-webtorrent-page-'))
  pages.ours = await bundle(fixture, 'page')
  pages.lib = await bundle(fixture, 'webtorrent')
  pages.v5 = await bundle(fixture5, 'webtorrent')
})

after(() => { if (work) rmSync(work, { recursive: true, force: true }) })

test('the WebTorrent 3.0.21 page: webpack bundles this package\'s browser entry from the fixture\'s tree, nothing else', () => {
  const { errors, modules } = pages.ours
  assert.deepEqual(errors, [])
  const rel = modules.map(m => m.startsWith(fixture + '/') ? m.slice(fixture.length + 1) : m)
  assert.ok(rel.includes('node_modules/webtorrent/index.js'), 'WebTorrent is in the page')
  const entries = packageEntries(join(fixture, 'node_modules', 'bittorrent-protocol'))
  const ours = rel.filter(m => m.startsWith('node_modules/bittorrent-protocol/')).map(m => m.slice('node_modules/bittorrent-protocol/'.length))
  assert.ok(ours.some(m => entries.browser.has(m)), `WebTorrent's bittorrent-protocol is this package's browser entry (${ours.join(', ')})`)
  assert.deepEqual(ours.filter(m => entries.node.has(m)), [], 'not the Node entry')
  assert.deepEqual(modules.filter(m => !m.startsWith(fixture + '/')), [], 'every module comes from the fixture\'s own node_modules')
  // the size comparison: WebTorrent alone, on this package and on 5.0.9, each from its own tree
  for (const p of [pages.lib, pages.v5]) {
    assert.deepEqual(p.errors, [])
    assert.deepEqual(p.modules.filter(m => !m.startsWith(p.fixture + '/')), [])
  }
  const prefix = join(fixture, 'node_modules/bittorrent-protocol/')
  assert.ok(pages.lib.modules.some(m => m.startsWith(prefix) && entries.browser.has(m.slice(prefix.length))))
  assert.ok(pages.v5.modules.includes(join(fixture5, 'node_modules/bittorrent-protocol/index.js')), 'the baseline is 5.0.9')
  assert.equal(JSON.parse(readFileSync(join(fixture5, 'node_modules/bittorrent-protocol/package.json'), 'utf8')).version, '5.0.9')
})

test(`this package's cost in a WebTorrent 3 page: at most ${MAX_COST / 1024} KiB minified + gzipped over 5.0.9's`, t => {
  const kib = n => (n / 1024).toFixed(1) + ' KiB'
  for (const [label, p] of [['5.0.9', pages.v5], ['this package', pages.lib]]) t.diagnostic(`WebTorrent 3.0.21 bundle with ${label}: ${kib(p.minified)} minified, ${kib(p.gzipped)} minified + gzipped`)
  const cost = pages.lib.gzipped - pages.v5.gzipped
  t.diagnostic(`cost over 5.0.9: ${kib(pages.lib.minified - pages.v5.minified)} minified, ${kib(cost)} minified + gzipped`)
  assert.ok(cost <= MAX_COST, `${kib(cost)} over 5.0.9 (at most ${kib(MAX_COST)})`)
})

const netns = loopbackNamespace()

for (const browser of Object.keys(BROWSERS)) {
  test(`${browser}: WebTorrent 3.0.21 seeds 4 MiB in one context, another downloads it by magnet over WebRTC`, async t => {
    t.diagnostic(netns.why ? `not in a network namespace (${netns.why}): on the host's 127.0.0.1` : `in a loopback-only network namespace (${netns.prefix.slice(0, -4).join(' ')})`)
    const argv = [...netns.prefix, process.execPath, join(here, 'lib', 'webtorrent-swarm.mjs'), browser, pages.ours.dir, String(SIZE)]
    const out = await new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      const timer = setTimeout(() => child.kill('SIGKILL'), 150000)
      child.stdout.on('data', d => { stdout += d })
      child.stderr.on('data', d => { stderr += d })
      child.on('error', reject)
      child.on('close', code => {
        clearTimeout(timer)
        try { resolve(JSON.parse(stdout.trim().split('\n').pop())) } catch { reject(new Error(`swarm exited ${code} without a result:\n${stdout}\n${stderr}`)) }
      })
    })
    assert.deepEqual(out.errors, [])
    t.diagnostic(`${out.version}: ${SIZE} bytes seeded in ${out.seconds.seed} s, downloaded in ${out.seconds.download} s; ${out.announces} announces`)
    assert.equal(out.trackerPeers, 2, 'both pages announced to the tracker on 127.0.0.1')
    assert.match(out.seed.magnetURI, /^magnet:\?xt=urn:btih:[0-9a-f]{40}/)
    const { download } = out
    assert.equal(download.name, 'payload.bin')
    assert.equal(download.length, SIZE)
    assert.equal(download.sha256, out.seed.sha256, 'the downloaded bytes are the seeded bytes')
    assert.match(download.sha256, /^[0-9a-f]{64}$/)
    assert.notEqual(download.sha256, createHash('sha256').update(Buffer.alloc(SIZE)).digest('hex'), 'random bytes, not zeros')
    assert.equal(download.downloaded, SIZE)
    assert.deepEqual(download.wires, [{ type: 'webrtc', thisPackage: true }], 'one WebRTC wire, of this package')
  })
}
