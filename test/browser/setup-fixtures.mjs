// Installs the browser suite's fixtures from their committed lockfiles (the root `npm ci` never
// touches these folders):
//   test/browser/webtorrent3/        a WebTorrent 3.0.21 application (and webpack 5, which bundles it),
//                                    its bittorrent-protocol replaced by this package through npm
//                                    `overrides`; its bittorrent-tracker serves as the test's tracker
//   test/browser/webtorrent3-5.0.9/  the same left on bittorrent-protocol 5.0.9: the size baseline
//   test/browser/tools/              the bundlers of the matrix (Vite, webpack 5, Rollup, esbuild,
//                                    browserify) and puppeteer-core (Firefox over WebDriver BiDi)
//   test/browser/app/                the application the matrix bundles: this package and `buffer`
// This package goes in as a user gets it from the registry: `file:` of the repository root with
// install-links (each folder's .npmrc), so npm packs it (package.json `files`) and installs a copy
// whose dependencies npm places in the fixture's tree, deduplicated with the others there. Build
// first (`npm run build`).
//
// `npm ci --ignore-scripts`: WebTorrent 3's ip-set runs a pnpm-only preinstall, and nothing here
// needs an install script (esbuild and Rolldown come as platform packages; node-datachannel, under
// bittorrent-tracker, is Node-only and never loaded).
//
//   node test/browser/setup-fixtures.mjs            install all four
//   node test/browser/setup-fixtures.mjs webtorrent3
// The tests call ensureFixture() in their `before` hook: it installs a fixture that is missing,
// older than its lockfile, or holding another build of this package than dist/ holds now.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { npm, installedFromLockfile, installFromCommandLine } from '../lib/fixtures.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..')
export const FIXTURES = ['webtorrent3', 'webtorrent3-5.0.9', 'tools', 'app']

export function fixtureDir (name) {
  if (!FIXTURES.includes(name)) throw new Error(`unknown fixture ${name}`)
  return join(here, name)
}

/** The fixture's copy of this package, if it has one, is byte for byte today's package.json and dist/. */
function holdsThisBuild (dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  if (!pkg.dependencies?.['bittorrent-protocol'] && !pkg.overrides?.['bittorrent-protocol']) return true
  const copy = join(dir, 'node_modules', 'bittorrent-protocol')
  if (!existsSync(join(copy, 'dist'))) return false
  const same = file => existsSync(join(root, file)) && readFileSync(join(copy, file)).equals(readFileSync(join(root, file)))
  const shipped = readdirSync(join(copy, 'dist'), { recursive: true }).map(f => join('dist', f)).filter(f => statSync(join(copy, f)).isFile())
  return same('package.json') && shipped.length > 0 && shipped.every(same)
}

/** Install one fixture from its lockfile (always afresh). */
export function installFixture (name) {
  const dir = fixtureDir(name)
  if (!existsSync(join(root, 'dist', 'browser.cjs'))) throw new Error('build first (npm run build)')
  npm(dir, ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'])
  if (!holdsThisBuild(dir)) throw new Error(`fixture ${name}: node_modules/bittorrent-protocol is not this build`)
}

/** Install the fixture unless it is there, newer than its lockfile and holding this build. */
export function ensureFixture (name) {
  const dir = fixtureDir(name)
  if (installedFromLockfile(dir) && holdsThisBuild(dir)) return dir
  installFixture(name)
  return dir
}

installFromCommandLine(import.meta.url, FIXTURES, installFixture, 'browser fixture')
