// Minified + gzipped size of the browser bundle, next to bittorrent-protocol 3.5.5's and 5.0.9's
// (devDependencies `bt3`, `bt5`) bundled the same way: esbuild, platform browser, minified, every
// dependency included, gzip -9. Each entry is `import Wire from '<package>'`, as an application
// would write it. 3.5.5 requires Node's `crypto` (for MSE) and uses a global `process`: it is
// measured with `crypto` as an empty module (webpack 5's `resolve.fallback: { crypto: false }`;
// browserify would bundle crypto-browserify instead) and the `process` package injected.
// Usage: npm run build && node scripts/browser-size.mjs [--by-package] [--markdown | --json]
// (test/browser/size.test.mjs holds the bundle to its ceiling with --json)
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'bt-size-'))
mkdirSync(join(work, 'node_modules'))
symlinkSync(root, join(work, 'node_modules', 'bittorrent-protocol'), 'dir')
symlinkSync(join(root, 'node_modules', 'bt5'), join(work, 'node_modules', 'bt5'), 'dir')
symlinkSync(join(root, 'node_modules', 'bt3'), join(work, 'node_modules', 'bt3'), 'dir')
const emptyCrypto = {
  name: 'crypto-false',
  setup (b) {
    b.onResolve({ filter: /^crypto$/ }, () => ({ path: 'crypto', namespace: 'empty' }))
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'module.exports = {}', loader: 'js' }))
  }
}

async function measure (label, specifier, options = {}) {
  const entry = join(work, `${label}.mjs`)
  writeFileSync(entry, `import Wire from '${specifier}'\nglobalThis.Wire = Wire\n`)
  const result = await build({
    entryPoints: [entry], bundle: true, minify: true, platform: 'browser', format: 'esm',
    write: false, metafile: true, logLevel: 'error', nodePaths: [join(root, 'node_modules')], ...options
  })
  const code = result.outputFiles[0].contents
  const byPackage = {}
  for (const [file, { bytesInOutput }] of Object.entries(Object.values(result.metafile.outputs)[0].inputs)) {
    const m = file.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)/)
    const name = m ? m[1] : file.includes('dist/') ? '(this package)' : file
    byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput
  }
  return { label, minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, byPackage }
}

try {
  const rows = [
    await measure('this package', 'bittorrent-protocol'),
    await measure('bittorrent-protocol 3.5.5', 'bt3', { plugins: [emptyCrypto], inject: [join(root, 'node_modules', 'process', 'browser.js')] }),
    await measure('bittorrent-protocol 5.0.9', 'bt5')
  ]
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows))
    process.exit(0)
  }
  if (process.argv.includes('--markdown')) {
    console.log('| bundle | minified | minified + gzipped |\n| --- | ---: | ---: |')
    for (const r of rows) console.log(`| ${r.label} | ${(r.minified / 1024).toFixed(1)} KiB | ${(r.gzipped / 1024).toFixed(1)} KiB |`)
    process.exit(0)
  }
  for (const r of rows) {
    console.log(`${r.label.padEnd(28)} ${(r.minified / 1024).toFixed(1).padStart(6)} KiB minified  ${(r.gzipped / 1024).toFixed(1).padStart(5)} KiB minified + gzipped  (${r.minified} / ${r.gzipped} bytes)`)
    if (process.argv.includes('--by-package')) {
      for (const [name, bytes] of Object.entries(r.byPackage).sort((x, y) => y[1] - x[1])) {
        console.log(`    ${name.padEnd(26)} ${(bytes / 1024).toFixed(1).padStart(6)} KiB minified`)
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
