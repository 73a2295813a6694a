// The packages as users get them: `npm pack` of the library (and of the bt-wire CLI), installed
// into an empty project with npm. The library must stay lean: at most 17 packages (itself
// included), as bittorrent-protocol 3.5.5 (17 packages, 860 KiB), and 1.25 MiB of node_modules as
// `du -sk` counts it (3.5.5: 0.86 MB, 5.0.9: 0.84 MB), with builds a reader can follow (not
// minified); the bytes of the files themselves are printed beside it.
// Needs the npm registry (or npm's cache) for the dependencies: run by `npm run test:package`
// and by CI (.ci/run), not by `npm test`. 3.5.5 and 5.0.9 are installed the same way, and their
// figures printed beside ours.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, lstatSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../..', import.meta.url))
const cli = join(root, 'packages', 'bt-wire')
const MAX_PACKAGES = 17
const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const MAX_DISK_KIB = 1280
// what the library needs at run time: the design card's list, without randombytes (node:crypto
// in Node, Web Crypto in a page); `buffer` is an optional peer, for the browser build's bundlers
const RUNTIME = ['bencode', 'bitfield', 'debug', 'readable-stream', 'speedometer']
const CLI_ONLY = ['bittorrent-peerid', 'cli-progress', 'create-torrent', 'parse-torrent', 'ut_metadata']

let work, libTarball, cliTarball

function npm (args, cwd) {
  // npm's own output goes to stderr of this test; a failure throws with it
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } })
}

function pack (dir) {
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], dir))
  return { file: join(work, info.filename), files: info.files.map(f => f.path), size: info.size, unpackedSize: info.unpackedSize }
}

/** An empty project with these npm install arguments installed. */
function install (name, specs) {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `install-${name}`, version: '1.0.0', private: true }))
  npm(['install', '--no-package-lock', '--prefer-offline', '--loglevel=error', ...specs], dir)
  return dir
}

/**
 * Every package folder under node_modules (nested and scoped ones too), the bytes of all their
 * files, and what they take on disk (`du`: 4 KiB blocks, as the 3.5.5 and 5.0.9 figures).
 */
function census (dir) {
  const packages = []
  let bytes = 0
  const walk = (d, inModules) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isSymbolicLink()) continue
      if (entry.isDirectory()) {
        if (inModules && entry.name.startsWith('@')) { walk(p, true); continue }
        if (inModules && entry.name !== '.bin' && existsSync(join(p, 'package.json'))) packages.push(JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).name)
        walk(p, entry.name === 'node_modules')
      } else {
        bytes += lstatSync(p).size
      }
    }
  }
  walk(join(dir, 'node_modules'), true)
  const diskKiB = Number(execFileSync('du', ['-sk', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0])
  return { packages: packages.sort(), bytes, diskKiB }
}

const mb = bytes => (bytes / 1e6).toFixed(2) + ' MB'
const figures = ({ packages, bytes, diskKiB }) => `${packages.length} packages, ${(diskKiB / 1000).toFixed(2)} MB on disk (du: ${diskKiB} KiB), ${mb(bytes)} of files`

before(() => {
  assert.ok(existsSync(join(root, 'dist', 'index.cjs')) && existsSync(join(cli, 'dist', 'bt-wire.js')), 'built first (npm run build)')
  work = mkdtempSync(join(tmpdir(), 'bt-package-'))
  libTarball = pack(root)
  cliTarball = pack(cli)
})

after(() => { if (work) rmSync(work, { recursive: true, force: true }) })

test('the library tarball holds the built package only: no CLI, no sources, no tests', () => {
  const files = libTarball.files
  assert.ok(files.includes('package.json') && files.includes('dist/index.cjs') && files.includes('dist/browser.cjs') && files.includes('dist/esm/index.d.ts'))
  assert.deepEqual(files.filter(f => !/^(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(f)), [])
  // the ESM build is there for its types; the entries (index / browser .cjs / .mjs) hold the code
  assert.deepEqual(files.filter(f => f.startsWith('dist/esm/') && !f.endsWith('.d.ts')), [])
  assert.deepEqual(files.filter(f => /cli|bt-wire/.test(f)), [])
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), RUNTIME)
  assert.equal(pkg.bin, undefined, 'the library installs no command')
})

test(`npm install of the packed library: at most ${MAX_PACKAGES} packages and ${MAX_DISK_KIB / 1024} MiB of node_modules`, async (t) => {
  const dir = install('lib', [libTarball.file])
  const c = census(dir)
  const { packages, bytes, diskKiB } = c
  t.diagnostic(`bittorrent-protocol (packed, ${(libTarball.size / 1024).toFixed(1)} KiB tarball, ${(libTarball.unpackedSize / 1024).toFixed(1)} KiB unpacked): ${figures(c)}: ${packages.join(' ')}`)
  assert.ok(packages.includes('bittorrent-protocol'))
  for (const name of RUNTIME) assert.ok(packages.includes(name), `${name} is installed`)
  assert.deepEqual(packages.filter(n => CLI_ONLY.includes(n)), [], 'none of the CLI\'s dependencies')
  assert.ok(packages.length <= MAX_PACKAGES, `${packages.length} packages installed (at most ${MAX_PACKAGES}): ${packages.join(' ')}`)
  assert.ok(diskKiB <= MAX_DISK_KIB, `${diskKiB} KiB on disk installed (at most ${MAX_DISK_KIB})`)
  assert.ok(bytes <= MAX_DISK_KIB * 1000, `${mb(bytes)} of files installed`)
  assert.deepEqual(packages.filter(n => ['buffer', 'randombytes', 'events', 'process', 'abort-controller'].includes(n)), [], 'no Node polyfill comes along')
  assert.ok(!existsSync(join(dir, 'node_modules', '.bin', 'bt-wire')))

  // and it is the package users know: require() gives the Wire class, import the same one
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { createRequire } from 'node:module'
    import Wire, { WireError } from 'bittorrent-protocol'
    const Required = createRequire(import.meta.url + '/')('bittorrent-protocol')
    const w = new Required()
    const rs = createRequire(import.meta.url + '/')('readable-stream')
    console.log(JSON.stringify({ name: Required.name, same: Required === Wire, named: Required.WireError === WireError, pipe: typeof w.pipe, duplex: w instanceof rs.Duplex }))
    w.destroy()`], { cwd: dir, encoding: 'utf8' })
  // a wire is an instance of the readable-stream the application gets (one copy, npm's)
  assert.deepEqual(JSON.parse(out), { name: 'Wire', same: true, named: true, pipe: 'function', duplex: true })

  // a page bundle (esbuild, platform browser): the one thing a bundler other than browserify
  // needs from the application is the `buffer` package, the optional peer dependency
  writeFileSync(join(dir, 'page.mjs'), "import Wire from 'bittorrent-protocol'\nglobalThis.Wire = Wire\n")
  const bundle = () => build({ entryPoints: [join(dir, 'page.mjs')], absWorkingDir: dir, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' })
  await assert.rejects(bundle, err => err.errors.length === 1 && /Could not resolve "buffer"/.test(err.errors[0].text))
  npm(['install', '--no-package-lock', '--no-save', '--prefer-offline', '--loglevel=error', `buffer@${pkgJson.peerDependencies.buffer.split(' || ').pop()}`], dir)
  const { metafile } = await bundle()
  const inputs = Object.keys(metafile.inputs)
  assert.ok(inputs.includes('node_modules/bittorrent-protocol/dist/browser.cjs') && inputs.includes('node_modules/buffer/index.js'), inputs.join(' '))
  assert.deepEqual(Object.values(metafile.outputs)[0].imports, [], 'every import bundled')
})

test('npm install of the packed CLI with the packed library: `npx bt-wire demo` runs on this library', (t) => {
  const dir = install('cli', [libTarball.file, cliTarball.file])
  const lib = join(dir, 'node_modules', 'bittorrent-protocol')
  assert.equal(JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8')).version, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)
  assert.ok(existsSync(join(lib, 'dist', 'browser.cjs')), 'the packed library, not one from the registry')
  assert.ok(!existsSync(join(dir, 'node_modules', 'bt-wire', 'node_modules', 'bittorrent-protocol')), 'bt-wire uses the one library')
  const out = execFileSync('npx', ['--no-install', 'bt-wire', 'demo', '--size', '2MiB', '--piece', '64KiB', '--json'], { cwd: dir, encoding: 'utf8' })
  const report = JSON.parse(out)
  assert.equal(report.piecesVerified, 32)
  assert.equal(report.identical, true)
  t.diagnostic(`bittorrent-protocol + bt-wire: ${figures(census(dir))}`)
})

test('3.5.5 and 5.0.9 installed the same way, for comparison', (t) => {
  for (const version of ['3.5.5', '5.0.9']) {
    const dir = install(`v${version}`, [`bittorrent-protocol@${version}`])
    t.diagnostic(`bittorrent-protocol ${version}: ${figures(census(dir))}`)
    assert.equal(JSON.parse(readFileSync(join(dir, 'node_modules', 'bittorrent-protocol', 'package.json'), 'utf8')).version, version)
  }
})
