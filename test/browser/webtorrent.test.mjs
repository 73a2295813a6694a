// WebTorrent 3.0.21 in real browsers, on this package: the page (webtorrent3/page.js) bundled by
// webpack 5 with WebTorrent's documented config (webtorrent3/webpack.config.mjs), with this
// package put in by npm `overrides` (webtorrent3/package.json, installed by setup-fixtures.mjs).
// A bittorrent-tracker WebSocket server on 127.0.0.1, two browser contexts: one seeds 4 MiB, the
// other downloads it by magnet over WebRTC; the bytes are compared by SHA-256. In Debian's
// Chromium (playwright-core) and Firefox ESR (puppeteer-core over WebDriver BiDi). Each swarm runs
// in a process of its own (lib/webtorrent-swarm.mjs), inside a network namespace that has only a
// loopback interface when the machine allows one (`unshare --net`, else a user namespace's
// `unshare -rn`); where neither is allowed it runs on the host's 127.0.0.1 and says why.
//
// The same page bundled with bittorrent-protocol 5.0.9 in this package's place gives the cost of
// this package in a WebTorrent 3 page (minified, gzip -9), held to a ceiling.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { ensureFixture } from './setup-fixtures.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const SIZE = 4 * 1024 * 1024
const BROWSERS = { chromium: '/usr/bin/chromium', firefox: '/usr/bin/firefox-esr' }
// this package's cost in the page, over 5.0.9's, minified + gzipped: measured 23.3 KiB (README
// "Browser"); most of it is `buffer`, which the page carries for this package alone
const MAX_COST = 25 * 1024

let fixture, work
const pages = {}

/** webpack 5 with WebTorrent's config; the modules it bundled, by path. */
async function bundle (bittorrentProtocol) {
  const { default: webpack } = await import(pathToFileURL(join(fixture, 'node_modules', 'webpack', 'lib', 'index.js')))
  const { default: config } = await import(pathToFileURL(join(fixture, 'webpack.config.mjs')))
  const outputPath = join(work, bittorrentProtocol.replace(/\W/g, '-'))
  const stats = await new Promise((resolve, reject) => webpack(config({ bittorrentProtocol, outputPath }), (err, stats) => err ? reject(err) : resolve(stats)))
  const json = stats.toJson({ all: false, errors: true, warnings: true, modules: true, nestedModules: true })
  const modules = []
  const walk = list => { for (const m of list ?? []) m.modules ? walk(m.modules) : m.nameForCondition && modules.push(m.nameForCondition) }
  walk(json.modules)
  const code = readFileSync(join(outputPath, 'page.js'))
  return { dir: outputPath, errors: json.errors.map(e => e.message), warnings: json.warnings.map(e => e.message), modules, minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
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
  work = mkdtempSync(join(tmpdir(), 'bt-webtorrent-page-'))
  pages.ours = await bundle('this package')
  pages.v5 = await bundle('5.0.9')
})

after(() => { if (work) rmSync(work, { recursive: true, force: true }) })

test('the WebTorrent 3.0.21 page: webpack bundles this package\'s browser build from the fixture\'s tree, nothing else', () => {
  const { errors, modules } = pages.ours
  assert.deepEqual(errors, [])
  const rel = modules.map(m => m.startsWith(fixture + '/') ? m.slice(fixture.length + 1) : m)
  assert.ok(rel.includes('node_modules/webtorrent/index.js'), 'WebTorrent is in the page')
  assert.ok(rel.includes('node_modules/bittorrent-protocol/dist/browser.cjs'), 'WebTorrent\'s bittorrent-protocol is this package\'s browser build')
  assert.deepEqual(rel.filter(m => /bittorrent-protocol\/dist\/(index|mse)|node_modules\/bt5\//.test(m)), [], 'neither the Node build nor 5.0.9')
  assert.deepEqual(modules.filter(m => !m.startsWith(fixture + '/')), [], 'every module comes from the fixture\'s own node_modules')
  // the baseline really is 5.0.9
  assert.ok(pages.v5.modules.some(m => m.endsWith('node_modules/bt5/index.js')))
  assert.ok(!pages.v5.modules.some(m => m.includes('node_modules/bittorrent-protocol/')))
})

test(`this package's cost in a WebTorrent 3 page: at most ${MAX_COST / 1024} KiB minified + gzipped over 5.0.9's`, t => {
  const kib = n => (n / 1024).toFixed(1) + ' KiB'
  for (const [label, p] of [['5.0.9', pages.v5], ['this package', pages.ours]]) t.diagnostic(`WebTorrent 3.0.21 page with ${label}: ${kib(p.minified)} minified, ${kib(p.gzipped)} minified + gzipped`)
  const cost = pages.ours.gzipped - pages.v5.gzipped
  t.diagnostic(`cost over 5.0.9: ${kib(pages.ours.minified - pages.v5.minified)} minified, ${kib(cost)} minified + gzipped`)
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
    t.diagnostic(`${out.version}: ${SIZE} bytes in ${out.seconds} s`)
    assert.deepEqual(out.errors, [])
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
