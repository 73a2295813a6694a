// WebTorrent 3.0.21 and 1.9.7 (the fixtures of setup-fixtures.mjs) run by lib/webtorrent-run.mjs,
// each in a process of its own, for webtorrent.test.mjs and webtorrent-clients.test.mjs.
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnClient } from './procs.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/** What `require('bittorrent-protocol')` must resolve to inside both fixtures: this package's build. */
export const OUR_DIST = join(here, '..', '..', '..', 'dist', 'index.cjs')

export const WT_VERSION = { webtorrent3: 'WebTorrent 3.0.21', webtorrent1: 'WebTorrent 1.9.7' }

/** A WebTorrent client process (options: see webtorrent-run.mjs), ended when the test ends. */
export function startWebTorrent (t, opts) {
  return spawnClient(t, process.execPath, [join(here, 'webtorrent-run.mjs'), JSON.stringify(opts)], { json: true, label: opts.fixture })
}

/** The client's status line: its wires as WebTorrent holds them. */
export async function wtStatus (wt) {
  wt.events = wt.events.filter(e => e.event !== 'status')
  wt.send({ cmd: 'status' })
  return wt.waitEvent('status', 10000, 'status')
}
