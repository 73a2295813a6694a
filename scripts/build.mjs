// Build: tsc emits ESM + .d.ts into dist/esm; esbuild emits the CommonJS entry
// dist/index.cjs whose module.exports is the Wire class itself (3.5.5 shape), and the
// browser twin dist/browser.cjs. Then the bt-wire workspace package (packages/bt-wire), which
// compiles against this package's built types as any client would.
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync, readFileSync } from 'node:fs'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
rmSync('dist', { recursive: true, force: true })
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' })

await build({
  entryPoints: ['dist/esm/index.js'],
  outfile: 'dist/index.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  packages: 'external',
  logLevel: 'warning',
  // module.exports becomes the Wire class, with the named exports hung on it
  footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' }
})
// Browser build (package.json `browser` field and `browser` export condition): the same
// CommonJS shape from src/browser.ts, which leaves MSE (node:crypto) out. Dependencies stay
// imports for the consumer's bundler, except two that lean on Node globals: bencode (global
// `Buffer`, given here from the `buffer` package) and randombytes (`global.crypto`, replaced
// by Web Crypto), so no bundler needs Node shims for this package.
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
await build({
  entryPoints: ['dist/esm/browser.js'],
  outfile: 'dist/browser.cjs',
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  target: 'es2020',
  external: Object.keys(pkg.dependencies).filter(n => n !== 'bencode' && n !== 'randombytes'),
  alias: { randombytes: './dist/esm/random-browser.js' },
  inject: ['scripts/buffer-global.mjs'],
  logLevel: 'warning',
  footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' }
})
// The ESM entries wrap the CommonJS ones, so import and require give the very same class.
const { createRequire } = await import('node:module')
const cjs = createRequire(import.meta.url)(root + '/dist/index.cjs')
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
