// Build: tsc emits ESM + .d.ts into dist/esm; esbuild emits the CommonJS entry
// dist/index.cjs whose module.exports is the Wire class itself (3.5.5 shape), and the
// browser twin dist/browser.cjs. Then the bt-wire workspace package (packages/bt-wire), which
// compiles against this package's built types as any client would.
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { build } from 'esbuild'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
process.chdir(root)
rmSync('dist', { recursive: true, force: true })
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' })
// The package ships the declarations a consumer reaches from the entries' types and no others
// (the shims', the codec internals'...): each file is a 4 KiB block of every install.
const reached = new Set()
for (const queue = ['dist/esm/index.d.ts', 'dist/esm/browser.d.ts']; queue.length > 0;) {
  const file = queue.pop()
  if (reached.has(file)) continue
  reached.add(file)
  for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*['"](\.\.?\/[^'"]+)\.js['"]/g)) queue.push(join(dirname(file), m[1] + '.d.ts'))
}
for (const file of readdirSync('dist/esm', { recursive: true })) {
  if (file.endsWith('.d.ts') && !reached.has(join('dist/esm', file))) rmSync(join('dist/esm', file))
}

await build({
  // esbuild takes the working directory of the process when it is imported, before the chdir above
  absWorkingDir: root,
  entryPoints: ['dist/esm/index.js'],
  outfile: 'dist/index.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  packages: 'external',
  logLevel: 'warning',
  // module.exports becomes the Wire class, with the named exports hung on it
  // (the Node entry's Wire subclass shares its name with the platform-free Wire, which esbuild
  // renames apart: the class gets its name back here, not by keepNames, which would name every
  // closure and cost ~0.5 KiB per wire)
  footer: { js: "module.exports = Object.assign(module.exports.default, module.exports); Object.defineProperty(module.exports, 'name', { value: 'Wire' });" }
})
// Browser build (package.json `browser` field and `browser` export condition): the same
// CommonJS shape from src/browser.ts, which leaves MSE (node:crypto) out. readable-stream 3 (the
// stream the Node build uses too) is bundled in, through its own `browser` mappings (its `util`
// left out, its browser error classes). What it and our code take from Node is served by the
// small stand-ins of src/shims, each tested against Node's own module in test/shims.test.mjs:
// - `process` is injected as a global: readable-stream 3 calls `process.nextTick`, and no page
//   and no bundler of today (webpack 5, Vite, esbuild, Rollup) defines `process`;
// - `events`, `debug`, `string_decoder`, `inherits`, readable-stream's async iterator and chunk
//   list, and the bencode encoder stand in for npm packages that would take 3 to 20 times their
//   size of a page (figures in docs/browser.md).
// buffer (the optional peer dependency), bitfield and speedometer stay imports for the page's
// bundler, which may share them with the rest of the page.
const BROWSER_EXTERNAL = ['buffer', 'bitfield', 'speedometer']
const shim = name => join(root, 'dist/esm/shims', name)
const shims = {
  events: shim('events.js'),
  debug: shim('debug.js'),
  string_decoder: shim('string-decoder.js'),
  'string_decoder/': shim('string-decoder.js'),
  bencode: shim('bencode.js')
}
// readable-stream 3's own modules that a stand-in replaces; it require()s them, so each is handed
// over as a CommonJS module whose exports are the stand-in's default export
const fromRs3 = args => args.importer.includes('/node_modules/readable-stream/')
const rs3Modules = { inherits: 'inherits.js', './internal/streams/async_iterator': 'async-iterator.js', './internal/streams/buffer_list': 'buffer-list.js' }
await build({
  absWorkingDir: root,
  entryPoints: ['dist/esm/browser.js'],
  outfile: 'dist/browser.cjs',
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  // es2020 (?., ??: Chrome 80, Firefox 74, Safari 13.1): `??=` and class fields are lowered,
  // which browserify 17's parser (acorn 7, through detective, below) does not know
  target: 'es2020',
  external: BROWSER_EXTERNAL,
  inject: [shim('process.js')],
  plugins: [{
    name: 'browser-modules',
    setup (b) {
      b.onResolve({ filter: /^(events|debug|string_decoder\/?|bencode)$/ }, args => ({ path: shims[args.path] }))
      // random bytes from Web Crypto instead of node:crypto
      b.onResolve({ filter: /^\.\.?\/random\.js$/ }, () => ({ path: join(root, 'dist/esm/random-browser.js') }))
      b.onResolve({ filter: /^(inherits|\.\/internal\/streams\/(async_iterator|buffer_list))$/ }, args =>
        args.path === 'inherits' || fromRs3(args) ? { path: shim(rs3Modules[args.path]), namespace: 'rs3-cjs' } : undefined)
      b.onLoad({ filter: /.*/, namespace: 'rs3-cjs' }, args => ({
        contents: `module.exports = require(${JSON.stringify(args.path)}).default`, loader: 'js', resolveDir: root
      }))
    }
  }],
  logLevel: 'warning',
  footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' }
})
// browserify 17 finds require() calls with detective: it runs here over the bundle, so a bundle
// it cannot read fails the build, not a user's.
{
  const fromBrowserify = createRequire(require.resolve('browserify'))
  const detective = createRequire(fromBrowserify.resolve('module-deps'))('detective')
  detective(readFileSync('dist/browser.cjs', 'utf8'))
}
// Nothing of Node's may reach the page: every import left in the bundle is a declared
// dependency, or `buffer`, the one (optional) peer dependency: Node has it built in, browserify
// brings it, other bundlers take the npm package the application installs.
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const left = [...new Set([...readFileSync('dist/browser.cjs', 'utf8').matchAll(/require\("([^"]+)"\)/g)].map(m => m[1]))]
for (const name of left) {
  if (!BROWSER_EXTERNAL.includes(name) || !(name in pkg.dependencies || name in pkg.peerDependencies)) throw new Error(`dist/browser.cjs requires "${name}", which is no browser dependency`)
}
// The ESM entries wrap the CommonJS ones, so import and require give the very same class. Their
// named exports are the ESM build's, entry by entry (not the keys of the class, whose statics
// are no exports).
for (const entry of ['index', 'browser']) {
  const names = Object.keys(await import(pathToFileURL(join(root, `dist/esm/${entry}.js`)).href)).filter(n => n !== 'default')
  const cjs = require(root + `/dist/${entry}.cjs`)
  for (const name of names) if (!(name in cjs)) throw new Error(`dist/${entry}.cjs lacks the export ${name}`)
  writeFileSync(`dist/${entry}.mjs`,
    `import cjs from './${entry}.cjs'\n` +
    'export default cjs\n' +
    `export const { ${names.join(', ')} } = cjs\n`)
}
// CommonJS types: `require('bittorrent-protocol')` is the Wire class with the named exports on
// it, so the declaration is a class merged with a namespace holding every export, types too
// (`Wire.WireError`, `import { WireError } from 'bittorrent-protocol'` in a .cts file).
const exportedNames = file => {
  const names = new Set()
  const text = readFileSync(file, 'utf8')
  for (const m of text.matchAll(/^export \*\s+from\s+'(\.[^']+)\.js';$/gm)) for (const n of exportedNames(join(dirname(file), m[1] + '.d.ts'))) names.add(n)
  for (const m of text.matchAll(/^export (?:type )?\{([^}]*)\}/gm)) {
    for (const part of m[1].split(',').map(p => p.trim()).filter(Boolean)) names.add(part.split(/\s+as\s+/).pop())
  }
  for (const m of text.matchAll(/^export (?:declare )?(?:abstract )?(?:class|const|function|enum|interface|type|namespace) ([A-Za-z_$][\w$]*)/gm)) names.add(m[1])
  names.delete('default')
  return [...names].sort()
}
writeFileSync('dist/index.d.cts', [
  '// require(\'bittorrent-protocol\'): the Wire class, with every named export on it',
  "import * as lib from './esm/index.js'",
  'declare class Wire extends lib.Wire {}',
  'declare namespace Wire {',
  ...exportedNames('dist/esm/index.d.ts').map(n => `  export import ${n} = lib.${n}`),
  '}',
  'export = Wire',
  ''
].join('\n'))

// The CLI: its own package, a client of this one (it imports 'bittorrent-protocol', linked by
// the workspace into node_modules), so it is compiled after the library is built.
rmSync('packages/bt-wire/dist', { recursive: true, force: true })
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'packages/bt-wire/tsconfig.json'], { stdio: 'inherit' })
