// Build: tsc emits ESM + .d.ts into dist/esm; esbuild emits the CommonJS entry
// dist/index.cjs whose module.exports is the Wire class itself (3.5.5 shape).
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs'
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
// The ESM entry wraps the CommonJS one, so import and require give the very same class.
const { createRequire } = await import('node:module')
const cjs = createRequire(import.meta.url)(root + '/dist/index.cjs')
const names = Object.keys(cjs).filter(n => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n))
writeFileSync('dist/index.mjs',
  "import cjs from './index.cjs'\n" +
  'export default cjs\n' +
  `export const { ${names.join(', ')} } = cjs\n`)
writeFileSync('dist/index.d.cts', "import Wire from './esm/index.js'\nexport = Wire\n")
if (existsSync('dist/esm/cli/bt-wire.js')) chmodSync('dist/esm/cli/bt-wire.js', 0o755)
