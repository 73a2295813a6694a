// One WebTorrent 3.0.21 client in a process of its own, for bench/webtorrent-download.mjs: on this
// package (the interop fixture, test/interop/webtorrent3) or on bittorrent-protocol 5.0.9 (the
// browser suite's fixture, test/browser/webtorrent3-5.0.9, WebTorrent as npm installs it). Both
// get webrtc-polyfill as a stub: TCP only, no WebRTC binary to load.
//
//   node webtorrent-client.mjs '{"impl":"ours","mode":"seed","file":...,"torrentPath":...}'
//   node webtorrent-client.mjs '{"impl":"bt5","mode":"leech","torrentPath":...,"dir":...,"peer":"127.0.0.1:port"}'
//
// Out, one JSON line each: {event:'ready', port} (seed: data hashed, listening, torrent file
// written), {event:'done', ms, cpu} (leech: every piece verified; ms from the first wire, cpu the
// process's CPU-seconds since then), {event:'cpu', cpu} on the line 'cpu' in (seed), {event:'fatal'}.
import { register } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const FIXTURES = {
  ours: new URL('../test/interop/webtorrent3/node_modules/webtorrent/index.js', import.meta.url),
  bt5: new URL('../test/browser/webtorrent3-5.0.9/node_modules/webtorrent/index.js', import.meta.url)
}

const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const cpuSeconds = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6 }
const fail = err => { out({ event: 'fatal', error: String(err?.stack ?? err) }); process.exit(1) }

// run as a client process (bench/webtorrent-download.mjs imports only FIXTURES from here)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('uncaughtException', fail)
  process.on('unhandledRejection', fail)
  register('./webtorrent-hooks.mjs', import.meta.url)
  const opts = JSON.parse(process.argv[2])
  const WebTorrent = (await import(pathToFileURL(fileURLToPath(FIXTURES[opts.impl])).href)).default
  // everything that finds peers by itself off: peers are added by address
  const client = new WebTorrent({ dht: false, lsd: false, tracker: false, webSeeds: false, utp: false, natUpnp: false, natPmp: false, utPex: false })
  client.on('error', fail)
  const torrentOpts = { private: true, announce: [] }

  if (opts.mode === 'seed') {
    client.seed(opts.file, torrentOpts, torrent => {
      writeFileSync(opts.torrentPath, torrent.torrentFile)
      out({ event: 'ready', port: client.torrentPort })
    })
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', s => { if (s.includes('cpu')) out({ event: 'cpu', cpu: cpuSeconds() }) })
    process.stdin.on('end', () => client.destroy(() => process.exit(0)))
  } else {
    const torrent = client.add(readFileSync(opts.torrentPath), { ...torrentOpts, path: opts.dir })
    let started = 0
    let cpu0 = 0
    torrent.on('error', fail)
    torrent.on('ready', () => torrent.addPeer(opts.peer))
    torrent.once('wire', () => { started = performance.now(); cpu0 = cpuSeconds() })
    torrent.on('done', () => {
      out({ event: 'done', ms: performance.now() - started, cpu: cpuSeconds() - cpu0 })
      client.destroy(() => process.exit(0))
    })
  }
}
