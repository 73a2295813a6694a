// Minified + gzipped size of the browser bundle, next to bittorrent-protocol 5.0.9's (devDependency
// `bt5`) bundled the same way: esbuild, platform browser, minified, every dependency included,
// gzip -9. Each entry is `import Wire from '<package>'`, as an application would write it.
// Usage: npm run build && node scripts/browser-size.mjs [--by-package]
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

async function measure (label, specifier) {
  const entry = join(work, `${label}.mjs`)
  writeFileSync(entry, `import Wire from '${specifier}'\nglobalThis.Wire = Wire\n`)
  const result = await build({
    entryPoints: [entry], bundle: true, minify: true, platform: 'browser', format: 'esm',
    write: false, metafile: true, logLevel: 'error'
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
    await measure('bittorrent-protocol 5.0.9', 'bt5')
  ]
  for (const r of rows) {
    console.log(`${r.label.padEnd(28)} ${(r.minified / 1024).toFixed(1).padStart(6)} KiB minified  ${(r.gzipped / 1024).toFixed(1).padStart(5)} KiB minified + gzipped`)
    if (process.argv.includes('--by-package')) {
      for (const [name, bytes] of Object.entries(r.byPackage).sort((x, y) => y[1] - x[1])) {
        console.log(`    ${name.padEnd(26)} ${(bytes / 1024).toFixed(1).padStart(6)} KiB minified`)
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
