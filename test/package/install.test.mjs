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
import { makeTmp, makeFixture, checkOnDisk, MiB } from '../interop/lib/fixtures.mjs'
import { spawnClient, freePort } from '../interop/lib/procs.mjs'
import { docExamples } from '../doc-examples.mjs'

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
 * files, and what they take on disk (`du`: 4 KiB blocks, as the issue's 3.5.5 and 5.0.9 figures).
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
  assert.ok(files.includes('CHANGELOG.md') && files.includes('README.md') && files.includes('dist/index.d.cts'), 'the changelog and the CommonJS types ship')
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

test('npm install from a git URL (the README\'s other way): npm builds the package itself (`prepare`) and installs what the tarball holds', (t) => {
  // the repository's last commit, as `npm install git+https://...#<ref>` would fetch it
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
  const dir = install('git', [`git+file://${root}#${commit}`])
  const lib = join(dir, 'node_modules', 'bittorrent-protocol')
  assert.equal(JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8')).version, pkgJson.version)
  for (const f of ['dist/index.cjs', 'dist/index.mjs', 'dist/browser.cjs', 'dist/index.d.cts', 'dist/esm/index.d.ts']) assert.ok(existsSync(join(lib, f)), f)
  assert.ok(!existsSync(join(lib, 'src')) && !existsSync(join(lib, 'test')), 'the files of the tarball only')
  const out = execFileSync(process.execPath, ['-e', "const W = require('bittorrent-protocol'); const w = new W(); console.log(W.name, typeof w.handshake, typeof W.WireError); w.destroy()"], { cwd: dir, encoding: 'utf8' })
  assert.equal(out.trim(), 'Wire function function')
  t.diagnostic(`installed ${commit.slice(0, 10)} from git+file: ${figures(census(dir))}`)
})

test('bt-wire asks for exactly this library\'s version, which no registry serves: installed alone it fails at install time', () => {
  // bittorrent-protocol on the registry stops at 5.0.9 (3.x, 4.1.x and 5.x are the original): a
  // range such as ^4.0.0 would run the CLI on the original 4.1.21, which lacks our exports
  const cliPkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8'))
  assert.equal(cliPkg.dependencies['bittorrent-protocol'], pkgJson.version, 'an exact version, no range')
  assert.equal(cliPkg.version, pkgJson.version, 'released together')
  assert.ok(Number(pkgJson.version.split('.')[0]) >= 6, 'above every published bittorrent-protocol (5.0.9)')
  const dir = join(work, 'cli-alone')
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'install-cli-alone', version: '1.0.0', private: true }))
  let failure = null
  try {
    npm(['install', '--no-package-lock', '--prefer-online', '--loglevel=error', cliTarball.file], dir)
  } catch (err) {
    failure = err
  }
  assert.ok(failure !== null, 'npm install of bt-wire alone must fail: no registry serves its bittorrent-protocol')
  assert.match(String(failure.stderr), /ETARGET|No matching version found for bittorrent-protocol@/)
  assert.ok(!existsSync(join(dir, 'node_modules', 'bittorrent-protocol')), 'no registry bittorrent-protocol installed')
  assert.ok(!existsSync(join(dir, 'node_modules', '.bin', 'bt-wire')), 'no bt-wire command installed')
})

test('TypeScript from the tarball alone: strict ESM and CommonJS consumers and every code block of the README and docs/ compile; are-the-types-wrong finds no problem', (t) => {
  // typescript and @types/node as a TypeScript user has them, nothing else: no @types/readable-stream
  const dir = install('types', [libTarball.file, `typescript@${pkgJson.devDependencies.typescript}`, `@types/node@${pkgJson.devDependencies['@types/node']}`])
  const fixture = join(root, 'test', 'fixtures', 'ts-consumer')
  const files = ['consumer.mts', 'consumer.cts']
  for (const f of files) writeFileSync(join(dir, f), readFileSync(join(fixture, f)))
  for (const { name, code } of docExamples()) { writeFileSync(join(dir, name), code); files.push(name) }
  const tsconfig = JSON.parse(readFileSync(join(fixture, 'tsconfig.json'), 'utf8'))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files }))
  t.diagnostic(`compiling ${files.length} modules: ${files.join(' ')}`)
  assert.equal(tsconfig.compilerOptions.strict, true)
  assert.equal(tsconfig.compilerOptions.skipLibCheck, false)
  assert.ok(!existsSync(join(dir, 'node_modules', '@types', 'readable-stream')))
  try {
    execFileSync(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', stdio: 'pipe' })
  } catch (err) {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`)
  }

  // @arethetypeswrong/cli on the tarball: every resolution mode (node10, node16 from CJS and from
  // ESM, bundler) finds types that match the JavaScript it loads. Installed here, for this test.
  const attw = install('attw', ['@arethetypeswrong/cli@^0.18.5'])
  let out
  try {
    out = execFileSync(join(attw, 'node_modules', '.bin', 'attw'), [libTarball.file, '--format', 'json'], { cwd: attw, encoding: 'utf8', stdio: 'pipe' })
  } catch (err) {
    out = err.stdout
  }
  const report = JSON.parse(out)
  const problems = Object.values(report.problems ?? {}).flat()
  assert.deepEqual(problems, [], JSON.stringify(problems, null, 1))
  const modes = Object.values(report.analysis.entrypoints['.'].resolutions).map(r => [r.resolutionKind, r.resolution?.fileName])
  t.diagnostic(`attw: no problems; types per mode: ${modes.map(([k, f]) => `${k} ${f}`).join(', ')}`)
  assert.equal(modes.length, 4)
  for (const [kind, file] of modes) assert.ok(file, `${kind} resolves types`)
})

/**
 * An empty project with WebTorrent from npm and this package put under it by the README's recipe:
 * the tarball as a dependency and one line of npm `overrides`. --ignore-scripts and the rebuild of
 * the natives as test/interop/setup-fixtures.mjs does (WebTorrent 3's ip-set runs a pnpm-only
 * preinstall); WebTorrent 3's webrtc-polyfill goes to the interop suite's stub, as node-datachannel's
 * binary cannot be downloaded here (these runs are TCP only). That line is the test's, not the recipe's.
 */
/** The README's recipe ("Under WebTorrent"): its package.json block, as the user copies it. */
function readmeRecipe () {
  const block = /^## Install$[\s\S]*?^```json\n([\s\S]*?)^```$/m.exec(readFileSync(join(root, 'README.md'), 'utf8'))
  assert.ok(block, 'the README shows the package.json of the recipe')
  const recipe = JSON.parse(block[1])
  assert.match(recipe.dependencies['bittorrent-protocol'], /bittorrent-protocol-\d+\.\d+\.\d+\.tgz$/)
  assert.match(recipe.dependencies['bittorrent-protocol'], new RegExp(`-${pkgJson.version.replaceAll('.', '\\.')}\\.tgz$`), 'the README names this version\'s tarball')
  assert.deepEqual(Object.keys(recipe.overrides), ['bittorrent-protocol'], 'one line')
  return recipe
}

function installWebTorrent (name, version) {
  const dir = join(work, name)
  mkdirSync(dir)
  const recipe = readmeRecipe()
  const pkg = {
    name: `install-${name}`,
    version: '1.0.0',
    private: true,
    // the recipe's dependency, with the test's path to the tarball, and its overrides as they are
    dependencies: { 'bittorrent-protocol': `file:${libTarball.file}`, webtorrent: version },
    overrides: { ...recipe.overrides }
  }
  if (version.startsWith('3.')) {
    pkg.dependencies['webrtc-polyfill'] = `file:${join(root, 'test', 'interop', 'webtorrent3', 'webrtc-polyfill-stub')}`
    pkg.overrides['webrtc-polyfill'] = '$webrtc-polyfill'
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
  npm(['install', '--ignore-scripts', '--no-package-lock', '--prefer-offline', '--loglevel=error'], dir)
  const natives = ['utp-native', 'bufferutil', 'utf-8-validate'].filter(n => existsSync(join(dir, 'node_modules', n)))
  if (natives.length > 0) npm(['rebuild', '--loglevel=error', ...natives], dir)
  return dir
}

/** Every package in the tree named bittorrent-protocol (nested copies and aliases too): folder and version. */
function protocolCopies (dir) {
  const found = []
  const walk = d => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue
      const p = join(d, entry.name)
      if (entry.name.startsWith('@')) { walk(p); continue }
      const manifest = join(p, 'package.json')
      if (existsSync(manifest)) {
        const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'))
        if (name === 'bittorrent-protocol') found.push({ path: p.slice(dir.length + 1), version, ours: existsSync(join(p, 'dist', 'browser.cjs')) })
      }
      if (existsSync(join(p, 'node_modules'))) walk(join(p, 'node_modules'))
    }
  }
  walk(join(dir, 'node_modules'))
  return found
}

/** npm's own view: every bittorrent-protocol in `npm ls --all`, with its version. */
function npmLsVersions (dir) {
  const versions = []
  const visit = deps => {
    for (const [name, node] of Object.entries(deps ?? {})) {
      if (name === 'bittorrent-protocol') versions.push(node.version)
      visit(node.dependencies)
    }
  }
  visit(JSON.parse(npm(['ls', 'bittorrent-protocol', '--all', '--json'], dir)).dependencies)
  return versions
}

test('WebTorrent 3.0.21 and 1.9.7 from npm with the README\'s one-line override: only this package in the tree, and a download over loopback works', async (t) => {
  const projects = {}
  for (const [line, version] of [['webtorrent3', '3.0.21'], ['webtorrent1', '1.9.7']]) {
    const t0 = Date.now()
    const dir = projects[line] = installWebTorrent(`wt-${version}`, version)
    assert.equal(JSON.parse(readFileSync(join(dir, 'node_modules', 'webtorrent', 'package.json'), 'utf8')).version, version)
    const copies = protocolCopies(dir)
    t.diagnostic(`webtorrent ${version} (installed in ${((Date.now() - t0) / 1000).toFixed(1)} s): bittorrent-protocol at ${copies.map(c => `${c.path} ${c.version}`).join(', ')}`)
    assert.ok(copies.length >= 1)
    for (const c of copies) assert.deepEqual(c, { path: c.path, version: pkgJson.version, ours: true }, 'every bittorrent-protocol in the tree is this package')
    const versions = npmLsVersions(dir)
    assert.ok(versions.length >= 2, `npm ls lists the direct one and WebTorrent's: ${versions}`)
    assert.deepEqual([...new Set(versions)], [pkgJson.version])
    // what WebTorrent itself loads
    const loaded = execFileSync(process.execPath, ['-e', `
      const { createRequire } = require('module'), path = require('path'), fs = require('fs')
      const wt = path.dirname(require.resolve('webtorrent/package.json'))
      const p = createRequire(path.join(wt, 'package.json')).resolve('bittorrent-protocol')
      console.log(fs.realpathSync(p))`], { cwd: dir, encoding: 'utf8' }).trim()
    assert.equal(loaded, join(dir, 'node_modules', 'bittorrent-protocol', 'dist', 'index.cjs'))
  }

  // a download over 127.0.0.1 each way: WebTorrent 1.9.7 from WebTorrent 3.0.21 and back
  const tmp = await makeTmp(t)
  const fx = await makeFixture(tmp, { name: 'payload.bin', length: 4 * MiB + 4321, pieceLength: 64 * 1024 })
  const run = opts => spawnClient(t, process.execPath, [join(root, 'test', 'interop', 'lib', 'webtorrent-run.mjs'), JSON.stringify(opts)], { json: true, label: `${opts.fixture} ${opts.mode}` })
  for (const [seeder, leecher] of [['webtorrent3', 'webtorrent1'], ['webtorrent1', 'webtorrent3']]) {
    const port = await freePort()
    const seed = run({ fixture: seeder, project: projects[seeder], mode: 'seed', torrentPath: fx.torrentPath, dir: fx.seedDir, port })
    await seed.waitEvent('done', 60000, 'the seed checked its data')
    const dl = join(tmp, `dl-${leecher}`)
    mkdirSync(dl)
    // WebTorrent 3 dials with MSE by default (secure 1), which WebTorrent 1.9.7 does not answer
    // unless its own `secure` is on (as with the original packages): plain here
    const secure = leecher === 'webtorrent3' ? { secure: 0 } : {}
    const get = run({ fixture: leecher, project: projects[leecher], mode: 'download', torrentPath: fx.torrentPath, dir: dl, peer: `127.0.0.1:${port}`, ...secure })
    const loaded = await get.waitEvent('loaded', 20000)
    assert.equal(loaded.protocol, join(projects[leecher], 'node_modules', 'bittorrent-protocol', 'dist', 'index.cjs'))
    const wire = await get.waitEvent('wire', 60000)
    assert.equal(wire.ours, true, `${leecher}'s wire is the installed package's Wire`)
    await get.waitEvent('done', 90000, 'the download')
    get.send({ cmd: 'stop' })
    await get.waitEvent('stopped', 20000)
    await checkOnDisk(dl, fx)
    seed.send({ cmd: 'stop' })
    await seed.waitEvent('stopped', 20000)
    t.diagnostic(`${leecher} downloaded ${fx.payload.length} bytes from ${seeder}, both on this package, every byte compared`)
  }
})

test('3.5.5 and 5.0.9 installed the same way, for comparison', (t) => {
  for (const version of ['3.5.5', '5.0.9']) {
    const dir = install(`v${version}`, [`bittorrent-protocol@${version}`])
    t.diagnostic(`bittorrent-protocol ${version}: ${figures(census(dir))}`)
    assert.equal(JSON.parse(readFileSync(join(dir, 'node_modules', 'bittorrent-protocol', 'package.json'), 'utf8')).version, version)
  }
})
