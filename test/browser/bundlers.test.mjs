// The bundler matrix: an application (app/: this package and `buffer`, installed as from
// the registry) built by Vite, webpack 5, Rollup, esbuild and browserify, each with its default
// setup and nothing more than README "Browser" asks for (Rollup: node-resolve with
// `browser: true, preferBuiltins: false`, and commonjs). Each build must pass without a warning,
// and its page runs the two-wire scenario (scenario.cjs, 2 MiB of pieces) in Chromium.
// The same application without `buffer` shows what each bundler does then, which is what the
// README says about a missing `buffer`.
//
// The application is copied to a temporary folder outside the repository before each build, so
// that nothing resolves from the repository's own node_modules (which holds `buffer`) or from the
// bundlers' (browserify brings a `buffer` too): only the application's node_modules count.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, extname, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import http from 'node:http'
import crypto from 'node:crypto'
import { chromium } from 'playwright-core'
import { ensureFixture } from './setup-fixtures.mjs'
import { packageEntries } from './lib/package-entries.mjs'

const CHROMIUM = '/usr/bin/chromium'
const here = fileURLToPath(new URL('.', import.meta.url))
const BUNDLERS = ['vite', 'webpack', 'rollup', 'esbuild', 'browserify']

// 2 MiB in 16 KiB pieces, and its info hash
const pieceLength = 16384
const content = crypto.randomBytes(2 * 1024 * 1024)
const pieceCount = content.length / pieceLength
const input = {
  infoHash: crypto.randomBytes(20).toString('hex'),
  torrent: '',
  content: content.toString('base64'),
  pieceLength,
  pieceCount,
  peerA: '2d4141303030302d' + 'a'.repeat(24),
  peerB: '2d4242303030302d' + 'b'.repeat(24)
}

let tools, work, browser
const servers = []
const origins = {}
const builds = { withBuffer: {}, withoutBuffer: {} }

/** The application copied out of the repository: with its `buffer`, or without it. */
function makeApp (name, withBuffer) {
  const dir = join(work, name)
  cpSync(join(here, 'app'), dir, { recursive: true, dereference: true })
  if (withBuffer) {
    cpSync(join(here, 'scenario.cjs'), join(dir, 'src', 'scenario.cjs'))
  } else {
    rmSync(join(dir, 'node_modules', 'buffer'), { recursive: true })
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    delete pkg.dependencies.buffer
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
    cpSync(join(here, 'nobuffer-scenario.cjs'), join(dir, 'src', 'scenario.cjs'))
  }
  return dir
}

const load = async name => import(pathToFileURL(tools.resolve(name)))
const text = x => String(x?.message ?? x)

// Each returns { files: { path: contents } | null, warnings, errors, modules } for a page served
// from its own folder; `index.html` loads the bundle.
const build = {
  async vite (app) {
    const { build } = await load('vite')
    const warnings = []
    const errors = []
    const logger = {
      hasWarned: false,
      info () {},
      warn (msg) { warnings.push(msg) },
      warnOnce (msg) { warnings.push(msg) },
      error (msg) { errors.push(msg) },
      clearScreen () {},
      hasErrorLogged () { return false }
    }
    const outDir = join(app, 'dist')
    try {
      const out = await build({ root: app, configFile: false, logLevel: 'warn', customLogger: logger, build: { outDir } })
      const modules = [out].flat().flatMap(o => o.output).flatMap(chunk => Object.keys(chunk.modules ?? {}))
      return { dir: outDir, warnings, errors, modules }
    } catch (err) {
      return { dir: null, warnings, errors: [...errors, text(err)], modules: [] }
    }
  },

  async webpack (app) {
    const { default: webpack } = await load('webpack')
    const outDir = join(app, 'dist')
    // webpack's defaults (what `npx webpack` does with no config) but for the entry's name
    const stats = await new Promise((resolve, reject) => webpack({ mode: 'production', context: app, entry: './src/index.js', output: { path: outDir, filename: 'main.js' } }, (err, stats) => err ? reject(err) : resolve(stats)))
    const json = stats.toJson({ all: false, errors: true, warnings: true, modules: true, nestedModules: true })
    const modules = []
    const walk = list => { for (const m of list ?? []) m.modules ? walk(m.modules) : m.nameForCondition && modules.push(m.nameForCondition) }
    walk(json.modules)
    if (json.errors.length === 0) writeFileSync(join(outDir, 'index.html'), page('main.js'))
    return { dir: json.errors.length === 0 ? outDir : null, warnings: json.warnings.map(text), errors: json.errors.map(text), modules }
  },

  async rollup (app, resolveOptions = { browser: true, preferBuiltins: false }) {
    const { rollup } = await load('rollup')
    const { nodeResolve } = await load('@rollup/plugin-node-resolve')
    const { default: commonjs } = await load('@rollup/plugin-commonjs')
    const warnings = []
    const outDir = join(app, 'dist')
    try {
      const bundle = await rollup({
        input: join(app, 'src', 'index.js'),
        plugins: [nodeResolve(resolveOptions), commonjs()],
        onwarn: w => warnings.push(`${w.code}: ${w.message}`)
      })
      const { output } = await bundle.write({ file: join(outDir, 'bundle.js'), format: 'iife' })
      await bundle.close()
      writeFileSync(join(outDir, 'index.html'), page('bundle.js'))
      return { dir: outDir, warnings, errors: [], modules: output.flatMap(chunk => Object.keys(chunk.modules ?? {})) }
    } catch (err) {
      return { dir: null, warnings, errors: [text(err)], modules: [] }
    }
  },

  async esbuild (app) {
    const { build } = await load('esbuild')
    const outDir = join(app, 'dist')
    // as `npx esbuild src/index.js --bundle --platform=browser --minify --outfile=dist/bundle.js`
    try {
      const result = await build({ absWorkingDir: app, entryPoints: ['src/index.js'], bundle: true, platform: 'browser', minify: true, outfile: join(outDir, 'bundle.js'), metafile: true, logLevel: 'silent' })
      writeFileSync(join(outDir, 'index.html'), page('bundle.js'))
      return { dir: outDir, warnings: result.warnings.map(w => w.text), errors: [], modules: Object.keys(result.metafile.inputs).map(f => join(app, f)) }
    } catch (err) {
      return { dir: null, warnings: (err.warnings ?? []).map(w => w.text), errors: (err.errors ?? [err]).map(e => e.text ?? text(e)), modules: [] }
    }
  },

  async browserify (app) {
    const { default: browserify } = await load('browserify')
    const outDir = join(app, 'dist')
    const modules = []
    const b = browserify(join(app, 'src', 'index.cjs'))
    b.on('file', file => modules.push(file))
    try {
      const code = await new Promise((resolve, reject) => b.bundle((err, buf) => err ? reject(err) : resolve(buf)))
      cpSync(join(app, 'src'), join(outDir, 'src'), { recursive: true })
      writeFileSync(join(outDir, 'bundle.js'), code)
      writeFileSync(join(outDir, 'index.html'), page('bundle.js'))
      return { dir: outDir, warnings: [], errors: [], modules }
    } catch (err) {
      return { dir: null, warnings: [], errors: [text(err)], modules }
    }
  }
}

/** Build from the application's folder, as its user runs the bundler there. */
async function buildIn (bundler, app, ...args) {
  const cwd = process.cwd()
  process.chdir(app)
  try {
    return await build[bundler](app, ...args)
  } finally {
    process.chdir(cwd)
  }
}

function page (script) {
  return `<!doctype html><meta charset="utf-8"><title>bittorrent-protocol</title><script src="${script}"></script>`
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }

/** An HTTP server on 127.0.0.1 with `dir` as its root. */
async function serve (dir) {
  const server = http.createServer((req, res) => {
    const file = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1) || 'index.html')
    if (file.startsWith(dir) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      res.end(readFileSync(file))
    } else {
      res.writeHead(404).end()
    }
  })
  servers.push(server)
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}`
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's "chromium" package (apt-get install chromium)`)
  tools = createRequire(join(ensureFixture('tools'), 'package.json'))
  ensureFixture('app')
  work = mkdtempSync(join(tmpdir(), 'bt-bundlers-'))
  for (const bundler of BUNDLERS) {
    builds.withBuffer[bundler] = await buildIn(bundler, makeApp(`${bundler}`, true))
    builds.withoutBuffer[bundler] = await buildIn(bundler, makeApp(`${bundler}-without-buffer`, false))
  }

  // each build's output folder is the root of an origin of its own (Vite's page loads /assets/...)
  for (const [variant, list] of Object.entries(builds)) {
    for (const [bundler, b] of Object.entries(list)) if (b.dir) origins[`${bundler}${variant === 'withBuffer' ? '' : '-without-buffer'}`] = await serve(b.dir)
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage']
  })
})

after(async () => {
  await browser?.close()
  for (const server of servers) server.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** Open a build's page; run the scenario if it got as far as defining it. */
async function openPage (name, run) {
  const context = await browser.newContext()
  const page = await context.newPage()
  const pageErrors = []
  page.on('pageerror', err => pageErrors.push(err.message))
  try {
    await page.goto(`${origins[name]}/`)
    const defined = await page.evaluate(() => typeof globalThis.runScenario === 'function')
    const out = defined && run ? await page.evaluate(arg => globalThis.runScenario(arg), input) : null
    return { pageErrors, defined, out }
  } finally {
    await context.close()
  }
}

for (const bundler of BUNDLERS) {
  test(`${bundler}: the default setup plus \`buffer\` builds without a warning, from this package's browser entry`, () => {
    const b = builds.withBuffer[bundler]
    assert.deepEqual(b.errors, [])
    assert.deepEqual(b.warnings, [])
    const files = b.modules.map(m => m.replace(/\?.*/, ''))
    const ours = files.filter(m => m.includes('node_modules/bittorrent-protocol/')).map(m => m.replace(/.*node_modules\/bittorrent-protocol\//, ''))
    const entries = packageEntries(join(work, bundler, 'node_modules', 'bittorrent-protocol'))
    assert.ok(ours.some(m => entries.browser.has(m)), `a browser entry of the package is bundled (${ours.join(', ')})`)
    assert.deepEqual(ours.filter(m => entries.node.has(m)), [], 'no Node entry')
    // browserify bundles its own `buffer` (and base64-js, ieee754), as with 3.5.5; the others the application's
    const own = bundler === 'browserify' ? ['buffer', 'base64-js', 'ieee754'].map(name => join(dirname(tools.resolve('browserify/package.json')), '..', name, 'index.js')) : []
    assert.ok(files.includes(own[0] ?? join(work, bundler, 'node_modules', 'buffer', 'index.js')), 'the `buffer` package is bundled')
    assert.deepEqual(files.filter(m => m.startsWith('/') && !m.startsWith(join(work, bundler) + '/') && !own.includes(m)), [], 'nothing else comes from outside the application')
  })

  test(`${bundler}: the page runs two wires piped together in Chromium (2 MiB of pieces)`, async () => {
    const { pageErrors, defined, out } = await openPage(bundler, true)
    assert.deepEqual(pageErrors, [])
    assert.ok(defined, 'the page loaded')
    assert.deepEqual(out.errors, [])
    assert.deepEqual(out.handshake, { infoHash: input.infoHash, peerId: input.peerA, extended: true })
    assert.equal(out.extended.name, 'handshake')
    assert.equal(out.peerPieces.length, pieceCount)
    assert.ok(out.peerPieces.every(Boolean))
    assert.deepEqual(out.state, { aPeerInterested: true, bPeerChoking: false, bAmInterested: true })
    assert.equal(out.blocksAreBuffers, true)
    assert.ok(Buffer.from(out.received, 'base64').equals(content), 'every piece arrives byte for byte')
    assert.deepEqual(out.stats, { downloaded: content.length, uploaded: content.length })
    assert.deepEqual(out.hashes, { err: null, hashes: [1, 2], uncles: [3], buffers: true, rejected: 'ERR_BT_HASH_REJECTED' })
    assert.match(out.encrypt, /not available in this build/)
    assert.deepEqual(out.hostile, { code: 'ERR_BT_BAD_HANDSHAKE', isWireError: true })
  })
}

// What README "Browser" says happens without `buffer`, bundler by bundler.
test('without `buffer`: what each bundler does (README "Browser")', async t => {
  const seen = {}
  for (const bundler of BUNDLERS) {
    const b = builds.withoutBuffer[bundler]
    const loaded = b.dir ? await openPage(`${bundler}-without-buffer`, true) : null
    seen[bundler] = { errors: b.errors, warnings: b.warnings, pageErrors: loaded?.pageErrors, out: loaded?.out }
    t.diagnostic(`${bundler}: ${JSON.stringify(seen[bundler]).slice(0, 600)}`)
  }
  // esbuild and webpack stop the build, naming `buffer`
  assert.equal(seen.esbuild.errors.length, 1)
  assert.match(seen.esbuild.errors[0], /Could not resolve "buffer"/)
  assert.ok(seen.webpack.errors.length >= 1)
  assert.match(seen.webpack.errors[0], /Can't resolve 'buffer'/)
  // Rollup warns that the bundle depends on Node's `buffer`, and the page fails at load
  assert.ok(seen.rollup.warnings.some(w => /^MISSING_NODE_BUILTINS: .*"buffer"/.test(w)), JSON.stringify(seen.rollup.warnings))
  assert.match(seen.rollup.pageErrors.join('\n'), /is not defined/)
  assert.equal(seen.rollup.out, null)
  // Vite builds, without a word, and the page throws at load
  assert.deepEqual(seen.vite.errors, [])
  assert.deepEqual(seen.vite.warnings, [])
  assert.match(seen.vite.pageErrors.join('\n'), /Could not resolve "buffer" imported by "bittorrent-protocol"/)
  assert.equal(seen.vite.out, null)
  // browserify brings its own
  assert.deepEqual(seen.browserify.errors, [])
  assert.deepEqual(seen.browserify.pageErrors, [])
  assert.deepEqual(seen.browserify.out, { made: 'function' })
})

// Rollup needs both of the README's options: at its defaults node-resolve takes the `import`
// condition, the Node build; with `browser: true` alone it takes `buffer` for Node's own.
test('Rollup: without `browser: true` it bundles the Node build; without `preferBuiltins: false` it leaves `buffer` out', async t => {
  const ours = b => b.modules.map(m => m.replace(/\?.*/, '')).filter(m => m.includes('node_modules/bittorrent-protocol/')).map(m => m.replace(/.*node_modules\/bittorrent-protocol\//, ''))
  const app = makeApp('rollup-defaults', true)
  const entries = packageEntries(join(app, 'node_modules', 'bittorrent-protocol'))
  const defaults = await buildIn('rollup', app, {})
  assert.ok(ours(defaults).some(m => entries.node.has(m)), ours(defaults).join(', '))
  assert.ok(!ours(defaults).some(m => entries.browser.has(m)))
  assert.ok(defaults.warnings.some(w => /^(MISSING_NODE_BUILTINS|UNRESOLVED_IMPORT): /.test(w)), JSON.stringify(defaults.warnings))
  t.diagnostic(`defaults: ${defaults.warnings.join(' / ')}`)
  const browserOnly = await buildIn('rollup', makeApp('rollup-browser-only', true), { browser: true })
  t.diagnostic(`browser: true: ${browserOnly.warnings.join(' / ')}`)
  assert.ok(ours(browserOnly).some(m => entries.browser.has(m)))
  assert.ok(!ours(browserOnly).some(m => entries.node.has(m)))
  assert.ok(browserOnly.warnings.some(w => /^MISSING_NODE_BUILTINS: .*"buffer"/.test(w)), JSON.stringify(browserOnly.warnings))
})
