// Installs the WebTorrent interop fixtures from their committed lockfiles:
//   test/interop/webtorrent3/  WebTorrent 3.0.21 (imports bittorrent-protocol 5.x)
//   test/interop/webtorrent1/  WebTorrent 1.9.7  (imports bittorrent-protocol 3.5.5)
// Each maps its `bittorrent-protocol` to this package (`file:../../..`, an npm link, so WebTorrent
// loads our built dist/), and WebTorrent 3's `webrtc-polyfill` to a local stub (its node-datachannel
// binary cannot be downloaded here; the tests are TCP only).
//
// `npm ci --ignore-scripts`: WebTorrent 3's ip-set runs a pnpm-only preinstall (`npx only-allow pnpm`).
// Then `npm rebuild` of the native modules WebTorrent loads (utp-native, and ws's bufferutil /
// utf-8-validate), which pick their bundled prebuilds.
//
//   node test/interop/setup-fixtures.mjs            install both (as .ci/run does)
//   node test/interop/setup-fixtures.mjs webtorrent3
// webtorrent.test.mjs calls ensureFixture() in a `before` hook: it installs a fixture that is missing
// or older than its lockfile. The root `npm ci` never touches these folders.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { npm, installedFromLockfile, installFromCommandLine } from '../lib/fixtures.mjs'

const here = dirname(fileURLToPath(import.meta.url))
export const FIXTURES = ['webtorrent3', 'webtorrent1']
const NATIVES = ['utp-native', 'bufferutil', 'utf-8-validate']

export function fixtureDir (name) {
  if (!FIXTURES.includes(name)) throw new Error(`unknown fixture ${name}`)
  return join(here, name)
}

/** Install one fixture from its lockfile (always afresh). */
export function installFixture (name) {
  const dir = fixtureDir(name)
  npm(dir, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'])
  const present = NATIVES.filter(n => existsSync(join(dir, 'node_modules', n)))
  if (present.length) npm(dir, ['rebuild', ...present])
  // the natives load, and WebTorrent's bittorrent-protocol is this package
  const check = spawnSync(process.execPath, ['-e', `
    for (const n of ${JSON.stringify(present)}) require(n)
    const fs = require('fs'), path = require('path')
    const wt = path.dirname(require.resolve('webtorrent/package.json'))
    const p = fs.realpathSync(require('module').createRequire(path.join(wt, 'package.json')).resolve('bittorrent-protocol'))
    if (p !== ${JSON.stringify(join(here, '..', '..', 'dist', 'index.cjs'))}) throw new Error('bittorrent-protocol resolves to ' + p)
  `], { cwd: dir, encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`fixture ${name} does not load as it should:\n${check.stderr}`)
}

/** Install the fixture unless it is there and newer than its lockfile. */
export function ensureFixture (name) {
  const dir = fixtureDir(name)
  if (installedFromLockfile(dir)) return dir
  installFixture(name)
  return dir
}

installFromCommandLine(import.meta.url, FIXTURES, installFixture, 'fixture')
