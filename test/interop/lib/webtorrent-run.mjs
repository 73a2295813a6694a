// Runs one WebTorrent client (3.0.21 or 1.9.7, from its fixture folder, unchanged) in its own
// process, for webtorrent.test.mjs: JSON lines out, JSON commands in (like lt_peer.py).
//
//   node webtorrent-run.mjs '{"fixture":"webtorrent3","mode":"download","torrentPath":...,"dir":...,"peer":"127.0.0.1:port","secure":2}'
//   node webtorrent-run.mjs '{"fixture":"webtorrent1","mode":"seed","torrentPath":...,"dir":...,"port":N,"secure":true}'
//   (seed with "peer": it also dials that peer, for clients that do not dial loopback peers)
// With "project": a folder of its own (test/package: WebTorrent installed from npm with the
// README's `overrides`), WebTorrent comes from there, and `ours` means the bittorrent-protocol
// that project installed.
//
// Out: {event:'loaded', protocol}  where the fixture's bittorrent-protocol resolves to
//      {event:'ready', port}         torrent added (seed: data verified, listening on port)
//      {event:'wire', ours, type, ...} each wire: `ours` = it is an instance of this package's Wire class
//      (status lines add the encryption events each wire emitted: crypto-*, pe1..pe4)
//      {event:'done', ms, bytes}     download complete (ms from the first wire)
//      {event:'status', uploaded, downloaded, wires: [...]} on {cmd:'status'} (each wire: its bytes,
//                                    the peer's requests it dropped, the peer's reqq, our timeouts,
//                                    the peer's haves, WebTorrent's isSeeder)
//      {event:'stopped'}             on {cmd:'stop'}: the client is destroyed (files flushed), then exit;
//                                    {cmd:'drop-and-stop'} removes every peer first, in the same tick
//      {event:'fatal', error}        anything thrown
// Every switch that finds peers by itself is off: DHT, LSD, trackers, web seeds, uTP, UPnP/NAT-PMP,
// and PEX (private torrent; WebTorrent 3 also utPex: false). Peers are added by address only.
import { createRequire } from 'node:module'
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const opts = JSON.parse(process.argv[2])
const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
process.on('uncaughtException', err => { out({ event: 'fatal', error: String(err && err.stack ? err.stack : err) }); process.exit(1) })
process.on('unhandledRejection', err => { out({ event: 'fatal', error: 'unhandled rejection: ' + String(err && err.stack ? err.stack : err) }); process.exit(1) })

const fixtureDir = opts.project ?? join(here, '..', opts.fixture)
const webtorrentDir = join(fixtureDir, 'node_modules', 'webtorrent')
const fromWebTorrent = createRequire(join(webtorrentDir, 'package.json'))
// what `require('bittorrent-protocol')` gives inside WebTorrent: must be this package's build
const protocol = realpathSync(fromWebTorrent.resolve('bittorrent-protocol'))
out({ event: 'loaded', protocol, node: process.version })

// this package's Wire class, as the ESM and CommonJS entries give it (one class, see docs/api.md)
const fromProject = opts.project ? createRequire(join(opts.project, 'package.json')) : null
const OurWire = (await import(pathToFileURL(fromProject ? realpathSync(join(opts.project, 'node_modules', 'bittorrent-protocol', 'dist', 'index.mjs')) : join(root, 'dist', 'index.mjs')).href)).default
const OurWireCjs = fromProject ? fromProject('bittorrent-protocol') : createRequire(import.meta.url)(join(root, 'dist', 'index.cjs'))
if (OurWire !== OurWireCjs) throw new Error('the ESM and CommonJS entries give different classes')

// Instrumentation: WebTorrent hands out a wire ('wire' event) only after its BitTorrent handshake,
// when the encryption events are over, so they are recorded per wire from the start.
const encryptionEvents = new WeakMap()
const ENCRYPTION_EVENTS = new Set(['crypto-infohash', 'crypto-handshake', 'pe1', 'pe2', 'pe3', 'pe4'])
const emit = OurWire.prototype.emit
OurWire.prototype.emit = function (name, ...args) {
  if (ENCRYPTION_EVENTS.has(name)) {
    let list = encryptionEvents.get(this)
    if (list === undefined) encryptionEvents.set(this, (list = []))
    list.push(name)
  }
  return emit.call(this, name, ...args)
}

const WebTorrent = opts.fixture === 'webtorrent3'
  ? (await import(pathToFileURL(join(webtorrentDir, 'index.js')).href)).default
  : fromWebTorrent('webtorrent')

const clientOpts = {
  dht: false,
  lsd: false,
  tracker: false,
  webSeeds: false,
  utp: false,
  natUpnp: false,
  natPmp: false,
  utPex: false
}
if (opts.secure !== undefined) clientOpts.secure = opts.secure
if (opts.port) clientOpts.torrentPort = opts.port
const client = new WebTorrent(clientOpts)
client.on('error', err => { out({ event: 'fatal', error: 'client error: ' + (err.stack || err) }); process.exit(1) })

const wires = []
let firstWireAt = 0
const torrent = client.add(readFileSync(opts.torrentPath), { path: opts.dir, private: true, announce: [] })
torrent.on('error', err => { out({ event: 'fatal', error: 'torrent error: ' + (err.stack || err) }); process.exit(1) })
torrent.on('warning', err => out({ event: 'warning', message: String(err && err.message) }))
torrent.on('wire', (wire, addr) => {
  // WebTorrent 1.9.7 reports an encrypted incoming wire twice (its setup runs twice): count it once
  const known = wires.find(w => w.wire === wire)
  if (known) { known.info.wireEvents++; return }
  if (!firstWireAt) firstWireAt = Date.now()
  const info = {
    at: Date.now(),
    addr,
    type: wire.type,
    ours: wire instanceof OurWire && wire.constructor === OurWire,
    wireEvents: 1
  }
  wires.push({ wire, info })
  // requests of ours that got no reply in time (WebTorrent's 30 s piece timeout)
  info.timeouts = 0
  wire.on('timeout', () => { info.timeouts++ })
  // the peer's have messages, as WebTorrent saw them
  info.haves = 0
  wire.on('have', () => { info.haves++ })
  out({ event: 'wire', ...info })
})
torrent.on('ready', () => {
  // download: the peer to fetch from; seed: a peer to dial and seed to (one that does not dial us)
  if (opts.peer) torrent.addPeer(opts.peer)
  out({ event: 'ready', port: client.torrentPort, infoHash: torrent.infoHash })
})
torrent.on('done', () => {
  out({ event: 'done', at: Date.now(), ms: firstWireAt ? Date.now() - firstWireAt : 0, bytes: torrent.length, downloaded: torrent.downloaded })
})

const status = () => ({
  event: 'status',
  uploaded: torrent.uploaded,
  downloaded: torrent.downloaded,
  firstWireAt,
  wires: wires.map(({ wire, info }) => ({
    ...info,
    encryptionEvents: encryptionEvents.get(wire) ?? [],
    uploaded: wire.uploaded,
    downloaded: wire.downloaded,
    droppedPeerRequests: wire.droppedPeerRequests,
    peerReqq: wire.peerExtendedHandshake?.reqq ?? null,
    // WebTorrent's own view: the peer holds every piece (it chokes such peers)
    isSeeder: wire.isSeeder === true,
    destroyed: wire.destroyed
  }))
})

let buf = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', s => {
  buf += s
  let nl
  while ((nl = buf.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(buf.slice(0, nl))
    buf = buf.slice(nl + 1)
    if (cmd.cmd === 'status') out(status())
    // drop-and-stop: every peer removed, then the client destroyed, in the same tick (an
    // application dropping a peer, then quitting)
    if (cmd.cmd === 'drop-and-stop') for (const { info } of wires) torrent.removePeer(info.addr)
    if (cmd.cmd === 'stop' || cmd.cmd === 'drop-and-stop') {
      out(status())
      client.destroy(err => {
        if (err) out({ event: 'warning', message: String(err) })
        // a wire's 'close' may come after this: let it, before calling the run clean
        setTimeout(() => {
          out({ event: 'stopped' })
          process.exit(0)
        }, 100)
      })
    }
  }
})
