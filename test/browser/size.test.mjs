// The browser bundle's ceiling: `import Wire from 'bittorrent-protocol'` bundled for a page by
// esbuild, minified, with every dependency (buffer, bitfield, speedometer) in it, as
// scripts/browser-size.mjs measures it, is at most 36 KiB gzipped (gzip -9): under 3.5.5's 37.3.
// What a page's user waits for is the gzipped transfer; the minified size is reported beside it.
// bittorrent-protocol 3.5.5, bundled the same way, is measured beside it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const MAX_GZIPPED = 36 * 1024

test('the browser bundle is at most 36 KiB minified and gzipped, and smaller than 3.5.5\'s', (t) => {
  const rows = JSON.parse(execFileSync(process.execPath, ['scripts/browser-size.mjs', '--json'], { cwd: root, encoding: 'utf8' }))
  const ours = rows.find(r => r.label === 'this package')
  const v3 = rows.find(r => r.label === 'bittorrent-protocol 3.5.5')
  for (const r of rows) t.diagnostic(`${r.label}: ${(r.minified / 1024).toFixed(1)} KiB minified, ${(r.gzipped / 1024).toFixed(1)} KiB gzipped`)
  // the bundle is the package's browser build with its dependencies, nothing of Node's
  assert.ok(ours.byPackage['(this package)'] > 40 * 1024 && ours.byPackage.buffer > 0 && ours.byPackage.bitfield > 0, JSON.stringify(ours.byPackage))
  assert.ok(ours.gzipped <= MAX_GZIPPED, `${(ours.gzipped / 1024).toFixed(1)} KiB gzipped (at most ${MAX_GZIPPED / 1024} KiB)`)
  assert.ok(ours.minified < v3.minified && ours.gzipped < v3.gzipped)
})
