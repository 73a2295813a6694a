// Build: tsc emits ESM + .d.ts into dist/esm; esbuild emits the CommonJS entry
// dist/index.cjs whose module.exports is the Wire class itself (3.5.5 shape), and the
// browser twin dist/browser.cjs. Then the bt-wire workspace package (packages/bt-wire), which
// compiles against this package's built types as any client would.
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { build, transformSync } from 'esbuild'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { publishedNames, propertyNames, stringsOf, wordsOf, withoutComments } from './browser-names.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
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
  entryPoints: ['dist/esm/index.js'],
  outfile: 'dist/index.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  packages: 'external',
  logLevel: 'warning',
  // no indentation, lines of at most 160 characters: the install stays under 1 MB (issue #16:
  // 162 -> ~120 KB), while names stay whole and a stack trace still points at a short line
  minifyWhitespace: true,
  lineLimit: 160,
  // module.exports becomes the Wire class, with the named exports hung on it
  // (the Node entry's Wire subclass shares its name with the platform-free Wire, which esbuild
  // renames apart: the class gets its name back here, not by keepNames, which would name every
  // closure and cost ~0.5 KiB per wire)
  footer: { js: "module.exports = Object.assign(module.exports.default, module.exports); Object.defineProperty(module.exports, 'name', { value: 'Wire' });" }
})
// Browser build (package.json `browser` field and `browser` export condition): the same
// CommonJS shape from src/browser.ts, which leaves MSE (node:crypto) out. What a page needs
// from Node is bundled in its smallest faithful form (src/shims; figures in the README):
// readable-stream 3's Duplex (src/stream.ts, as in Node) over our own EventEmitter, chunk list
// and async iterator, a `process.nextTick` of microtasks, a small `debug` reading
// localStorage.debug, a TextDecoder-based `string_decoder`,
// `inherits`, its error classes, and without its debuglog calls; a bencode encoder of our own
// (the wire decodes with src/protocol/bencode.ts), random bytes from Web Crypto. buffer, bitfield and speedometer
// stay imports for the consumer's bundler (a page that has them shares them). No bundler needs
// Node shims for this package.
const BROWSER_EXTERNAL = ['buffer', 'bitfield', 'speedometer']
const shim = name => join(root, 'dist/esm/shims', name)
const shims = {
  events: shim('events.js'),
  debug: shim('debug.js'),
  string_decoder: shim('string-decoder.js'),
  'string_decoder/': shim('string-decoder.js'),
  bencode: shim('bencode.js')
}
// readable-stream 3's own modules that we replace; it require()s them, so they are handed over
// as CommonJS modules whose exports are our default export
const fromRs3 = args => args.importer.includes('/node_modules/readable-stream/')
const rs3Modules = { './internal/streams/async_iterator': 'async-iterator.js', './internal/streams/buffer_list': 'buffer-list.js' }
// readable-stream 3 and io/connection.ts call `process.nextTick` (src/shims/process.ts): each
// module that does gets the shim as a variable of its own. (esbuild's inject would hand it to
// every module of the bundle, each then calling the shim module's initializer: 0.1 KiB.)
const PROCESS = /(?<![\w$.])process\./
const rs3Process = `var process = require(${JSON.stringify(shim('process.js'))}).process;\n`
const ourModule = file => file.startsWith(join(root, 'dist/esm/'))
const { MessageId } = await import(pathToFileURL(join(root, 'dist/esm/protocol/codec.js')).href)
// Property names of ours alone get short names in the browser bundle (esbuild's mangleProps):
// our `_private` members, and the members of the internal modules' classes and interfaces
// (WireHost's `emitRequest`, our requests' `settle`...): measured on #15's three layers, 5.8 KiB
// of a minified page, 0.9 of it the members of the internal modules. esbuild renames a name
// everywhere in the bundle, on whatever object it is read, so a name is kept
// when anything outside our code could spell it (scripts/browser-names.mjs):
// - what a consumer can see: the declarations the published types' exports reach, after
//   stripInternal (Wire's public members, its options and events, the plugin API: `name`,
//   `onHandshake`, `onMessage`..., HashRequest's and Request's fields, EncryptOptions), but the
//   private members of classes;
// - what the code in or around the bundle spells: readable-stream 3, inherits, and the
//   dependencies a page brings (buffer, bitfield, speedometer, bencode), and the plugins, which
//   read wire members (ut_metadata, ut_pex, lt_donthave, both their lines): their property
//   names and the words of their strings (the keys of the dictionaries a peer and the plugins
//   exchange, BEP 10's `m`, among them);
// - what the platform spells: every word of TypeScript's library declarations (ES, DOM) and of
//   @types (Node's Buffer, streams, emitters, timers...): our code may read any of these on an
//   object of the platform's, a foreign stream, a timer;
// - what a peer spells: the keys BEP 10 gives the extended handshake, a dictionary we bencode
//   and decode (the plugins spell them too);
// - every word of a string in our code (`name in obj`, obj['name'], event names), and the names
//   our modules export (esbuild reads `codec.x` of an `import * as codec` as a property).
const ourFiles = readdirSync('dist/esm', { recursive: true }).filter(f => f.endsWith('.js')).map(f => join('dist/esm', f))
const probe = await build({ entryPoints: ourFiles, outdir: 'dist/probe', write: false, metafile: true, mangleProps: /./, mangleCache: {}, logLevel: 'silent' })
const keep = new Set(publishedNames(['dist/esm/index.d.ts', 'dist/esm/browser.d.ts']))
for (const key of ['m', 'p', 'v', 'yourip', 'ipv6', 'ipv4', 'reqq']) keep.add(key)
// the private members code written for 3.5.5 / 5.0.9 calls (README "Private members kept for compatibility")
for (const key of Object.getOwnPropertyNames((await import(pathToFileURL(join(root, 'dist/esm/wire.js')).href)).Wire.prototype)) if (/^_(on[A-Z]|peState$|encryptionMethod$|cryptoHandshakeDone$|peEnabled$|write$)/.test(key)) keep.add(key)
for (const key of Object.getOwnPropertyNames((await import(pathToFileURL(join(root, 'dist/esm/wire-core.js')).href)).WireCore.prototype)) if (/^_on[A-Z]/.test(key)) keep.add(key)
for (const output of Object.values(probe.metafile.outputs)) for (const name of output.exports) keep.add(name)
const keepWords = text => { for (const word of wordsOf(text)) keep.add(word) }
for (const file of ourFiles) for (const string of stringsOf(transformSync(readFileSync(file, 'utf8'), { legalComments: 'none' }).code)) keepWords(string)
const THEIRS = ['readable-stream', 'inherits', 'buffer', 'bitfield', 'speedometer', 'bencode', 'ut_metadata', 'ut_metadata5', 'ut_pex', 'ut_pex5', 'lt_donthave', 'lt_donthave2']
const filesOf = (dir, name) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter(d => d.isFile() && name.test(d.name)).map(d => join(d.parentPath, d.name))
for (const pkg of THEIRS) {
  for (const file of filesOf(join('node_modules', pkg), /\.[cm]?js$/).filter(f => !f.slice(pkg.length + 13).includes('node_modules'))) {
    const code = transformSync(readFileSync(file, 'utf8'), { legalComments: 'none', logLevel: 'silent' }).code
    for (const name of propertyNames(code)) keep.add(name)
    for (const string of stringsOf(code)) keepWords(string)
  }
}
const require = createRequire(import.meta.url)
const tsLib = dirname(createRequire(require.resolve('typescript/package.json')).resolve(`@typescript/typescript-${process.platform}-${process.arch}/package.json`))
for (const file of [...filesOf(join(tsLib, 'lib'), /\.d\.ts$/), ...filesOf('node_modules/@types', /\.d\.ts$/)]) keepWords(withoutComments(readFileSync(file, 'utf8')))
const ownNames = Object.keys(probe.mangleCache).filter(name => !keep.has(name))
const browser = await build({
  entryPoints: ['dist/esm/browser.js'],
  outfile: 'dist/browser.cjs',
  write: false,
  mangleProps: new RegExp('^(' + ownNames.join('|') + ')$'),
  // minified as shipped: bundlers minify a page again anyway, and the install is 80 KB smaller
  minify: true,
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  // the syntax is lowered after this build (below): here esbuild keeps what tsc wrote
  target: 'esnext',
  external: BROWSER_EXTERNAL,
  plugins: [{
    name: 'browser-shims',
    setup (b) {
      b.onResolve({ filter: /^(events|debug|string_decoder\/?|bencode)$/ }, args => ({ path: shims[args.path] }))
      // one binding of `buffer` for the bundle (src/shims/buffer.ts) instead of one per module
      b.onResolve({ filter: /^buffer$/ }, args => ourModule(args.importer) && args.importer !== shim('buffer.js') ? { path: shim('buffer.js') } : undefined)
      // Our modules as tsc wrote them, but for `process` (above) and the BEP message ids, folded
      // (the Node build keeps them): `MessageId.PIECE` is a read of the exported object at each
      // of its uses (some 90), where the page can have the number (0.5 KiB). Only codec.js's
      // MessageId, and never in a string.
      b.onLoad({ filter: /[\\/]dist[\\/]esm[\\/].*\.js$/ }, args => {
        let source = readFileSync(args.path, 'utf8')
        const tick = PROCESS.test(source) && args.path !== shim('process.js')
        if (tick) source = `import { process } from ${JSON.stringify(shim('process.js'))};\n` + source
        if (!/(?<![\w$.])MessageId\.[A-Z]/.test(source)) return tick ? { contents: source, loader: 'js' } : undefined
        if (!args.path.endsWith('protocol/codec.js') && !/^import \{[^}]*\bMessageId\b[^}]*\} from '[./]*(?:protocol\/)?codec\.js';$/m.test(source)) throw new Error(`${args.path}: a MessageId that is not codec.js's`)
        if (stringsOf(source).some(string => string.includes('MessageId.'))) throw new Error(`${args.path}: "MessageId." in a string`)
        const contents = source.replace(/(?<![\w$.])MessageId\.([A-Z_]+)(?![\w$])/g, (_, name) => {
          if (!Object.hasOwn(MessageId, name)) throw new Error(`${args.path}: MessageId.${name} is no message id`)
          return String(MessageId[name])
        })
        return { contents, loader: 'js' }
      })
      b.onResolve({ filter: /^\.\.?\/random\.js$/ }, () => ({ path: join(root, 'dist/esm/random-browser.js') }))
      b.onResolve({ filter: /^inherits$/ }, () => ({ path: shim('inherits.js'), namespace: 'rs3-cjs' }))
      b.onResolve({ filter: /^(\.\.\/)+errors$/ }, args => fromRs3(args) ? { path: shim('stream-errors.js') } : undefined)
      b.onResolve({ filter: /^\.\/internal\/streams\/(async_iterator|buffer_list)$/ }, args =>
        fromRs3(args) ? { path: shim(rs3Modules[args.path]), namespace: 'rs3-cjs' } : undefined)
      // readable-stream 3's Readable traces itself through util.debuglog, which is no function in
      // a page (its 36 calls and their strings: 1 KiB of a minified bundle): the calls go.
      b.onLoad({ filter: /[\\/]node_modules[\\/]readable-stream[\\/]lib[\\/]_stream_readable\.js$/ }, args => {
        const source = readFileSync(args.path, 'utf8')
        const contents = source
          .replace(/^var debugUtil = require\('util'\);\nvar debug;\nif \(debugUtil && debugUtil\.debuglog\) \{\n  debug = debugUtil\.debuglog\('stream'\);\n\} else \{\n  debug = function debug\(\) \{\};\n\}\n/m, '')
          // a statement of its own with a string and property reads: no side effect goes with it
          .replace(/^(\s*)debug\('[^']*'(?:, [\w.]+)*\);$/gm, '$1;')
          // wrap(): makes an old-style (streams1) stream the source of what a Readable emits, which
          // on a wire would replace the protocol's own output; no page has such streams
          .replace(/^Readable\.prototype\.wrap = function \(stream\) \{\n[\s\S]*?\n\};\n/m, '')
          // Readable.from(): a static of readable-stream's Readable, which no page reaches
          // through a wire (Duplex does not inherit it, the bundle does not export Readable)
          .replace(/^if \(typeof Symbol === 'function'\) \{\n  Readable\.from = function \(iterable, opts\) \{\n[\s\S]*?\n  \};\n\}\n/m, '')
        if (/Readable\.from|internal\/streams\/from|prototype\.wrap/.test(contents)) throw new Error('readable-stream 3\'s Readable.from or wrap() is not where the browser build expects it')
        if (/\bdebug\b/.test(contents)) throw new Error('readable-stream 3 calls debug() in a way the browser build does not know')
        return { contents: rs3Process + contents, loader: 'js' }
      })
      // readable-stream 3's Writable: its deprecated `_writableState.buffer` getter (DEP0003,
      // through util-deprecate) goes. It is internal state of a stream's, which a page reaches
      // only through a wire, and the wire never reads it (0.3 KiB of a minified page).
      b.onLoad({ filter: /[\\/]node_modules[\\/]readable-stream[\\/]lib[\\/]_stream_writable\.js$/ }, args => {
        const source = readFileSync(args.path, 'utf8')
        const contents = source
          .replace(/^\/\*<replacement>\*\/\nvar internalUtil = \{\n  deprecate: require\('util-deprecate'\)\n\};\n\/\*<\/replacement>\*\/\n/m, '')
          .replace(/^\(function \(\) \{\n  try \{\n    Object\.defineProperty\(WritableState\.prototype, 'buffer', \{\n[\s\S]*?\n\}\)\(\);\n/m, '')
        if (/internalUtil|deprecate/.test(contents)) throw new Error('readable-stream 3\'s deprecated _writableState.buffer is not where the browser build expects it')
        return { contents: rs3Process + contents, loader: 'js' }
      })
      b.onLoad({ filter: /[\\/]node_modules[\\/]readable-stream[\\/]lib[\\/].*\.js$/ }, args => {
        const source = readFileSync(args.path, 'utf8')
        return PROCESS.test(source) ? { contents: rs3Process + source, loader: 'js' } : undefined
      })
      b.onLoad({ filter: /.*/, namespace: 'rs3-cjs' }, args => ({
        contents: `module.exports = require(${JSON.stringify(args.path)}).default`, loader: 'js', resolveDir: root
      }))
    }
  }],
  logLevel: 'warning',
  footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' }
})
// browserify 17 finds require() calls with detective, which walks into any class whose source
// holds the word `require` and knows no class fields (acorn-walk 7): the Wire's one "require"
// (an MSE policy name) is written with an escape, the same string to every JavaScript engine and
// bundler. detective then runs here over the bundle, so a new case fails the build, not a user's.
// The page gets es2020 syntax (?., ??: Chrome 80, Firefox 74, Safari 13.1), with class fields
// kept as tsc writes them (Chrome 72, Firefox 75, Safari 14.1): lowered, each is a
// __publicField() call, 1 KiB of a minified page. No later syntax: browserify 17's parser
// (acorn 7, below) knows no `??=`. It is lowered here, over the bundle, rather than in the
// build: there esbuild lowers `this._x ??= v` of a mangled `_x` to `this[k = "x"] ?? (this[k] = v)`,
// with a temporary (0.2 KiB of a page in all; dist/browser.cjs, minified once more, 0.4 KiB).
const lowered = transformSync(browser.outputFiles[0].text, {
  minify: true, target: 'es2020', supported: { 'class-field': true, 'class-static-field': true }
}).code
// The bundle is strict as a whole (its first statement says so): the "use strict" esbuild puts
// at the top of each module it wraps (readable-stream's CommonJS files, the modules they
// require) says it again (0.15 KiB).
const directives = /\{"use strict"(?:;|(?=\}))/g
const strictStrings = stringsOf(lowered).filter(string => string.includes('use strict')).length
if (!lowered.startsWith('"use strict";') || strictStrings !== 1 + (lowered.match(directives) ?? []).length) throw new Error('dist/browser.cjs: a "use strict" where the build does not expect one')
const strict = lowered.replace(directives, '{')
writeFileSync('dist/browser.cjs', strict.replaceAll('"require"', '"\\x72equire"'))
{
  const fromBrowserify = createRequire(require.resolve('browserify'))
  const detective = createRequire(fromBrowserify.resolve('module-deps'))('detective')
  detective(readFileSync('dist/browser.cjs', 'utf8'))
}
// Nothing else may reach the page unshimmed: every import left in the bundle is a declared
// dependency, or `buffer`, the one (optional) peer dependency: Node has it built in, browserify
// brings it, other bundlers take the npm package the application installs.
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const left = [...new Set([...readFileSync('dist/browser.cjs', 'utf8').matchAll(/require\("([^"]+)"\)/g)].map(m => m[1]))]
for (const name of left) {
  if (!BROWSER_EXTERNAL.includes(name) || !(name in pkg.dependencies || name in pkg.peerDependencies)) throw new Error(`dist/browser.cjs requires "${name}", which is no browser dependency`)
}
// The ESM entries wrap the CommonJS ones, so import and require give the very same class.
const cjs = require(root + '/dist/index.cjs')
const names = Object.keys(cjs).filter(n => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n))
for (const entry of ['index', 'browser']) {
  writeFileSync(`dist/${entry}.mjs`,
    `import cjs from './${entry}.cjs'\n` +
    'export default cjs\n' +
    `export const { ${names.join(', ')} } = cjs\n`)
}
writeFileSync('dist/index.d.cts', "import Wire from './esm/index.js'\nexport = Wire\n")

// The CLI: its own package, a client of this one (it imports 'bittorrent-protocol', linked by
// the workspace into node_modules), so it is compiled after the library is built.
rmSync('packages/bt-wire/dist', { recursive: true, force: true })
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'packages/bt-wire/tsconfig.json'], { stdio: 'inherit' })
