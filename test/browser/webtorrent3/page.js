// The application page: WebTorrent 3.0.21 as a user writes it. The Node test drives it: one
// page seeds, another downloads by magnet; peers meet on the test's tracker (a WebSocket on
// 127.0.0.1) and talk over WebRTC data channels. No ICE servers: loopback host candidates only.
import WebTorrent from 'webtorrent'

function client () {
  return new WebTorrent({
    dht: false, lsd: false, utPex: false, natUpnp: false, natPmp: false, webSeeds: false,
    tracker: { rtcConfig: { iceServers: [] } }
  })
}

async function sha256 (bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, b => b.toString(16).padStart(2, '0')).join('')
}

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms) })
  ]).finally(() => clearTimeout(timer))
}

// Seeds `size` random bytes; resolves with the magnet link and the bytes' SHA-256.
globalThis.seed = async ({ announce, size }) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
  const wt = client()
  globalThis.client = wt
  wt.on('error', err => { globalThis.clientError = String(err && err.message) })
  const torrent = await withTimeout(new Promise((resolve, reject) => {
    wt.seed(new File([bytes], 'payload.bin'), { announce: [announce], name: 'payload.bin' }, resolve)
    wt.once('error', reject)
  }), 30000, 'seeding')
  return { magnetURI: torrent.magnetURI, infoHash: torrent.infoHash, sha256: await sha256(bytes) }
}

// Downloads by magnet; resolves with what was received and how.
globalThis.download = async ({ magnetURI, announce }) => {
  const wt = client()
  globalThis.client = wt
  let t
  const torrent = await withTimeout(new Promise((resolve, reject) => {
    t = wt.add(magnetURI, { announce: [announce] })
    t.once('done', () => resolve(t))
    t.once('error', reject)
    wt.once('error', reject)
  }), 60000, 'download').catch(err => {
    // what the swarm looked like when it gave up
    throw new Error(`${err.message} (peers ${t && Object.keys(t._peers).length}, wires ${t && t.wires.length}, metadata ${Boolean(t && t.info)}, progress ${t && t.progress})`)
  })
  const wires = torrent.wires.map(w => ({ type: w.type, thisPackage: typeof w.constructor.WireError === 'function' }))
  const file = torrent.files[0]
  const bytes = new Uint8Array(await file.arrayBuffer())
  return {
    name: file.name,
    length: bytes.length,
    sha256: await sha256(bytes),
    wires,
    peerTypes: Object.values(torrent._peers).map(p => p.type),
    downloaded: torrent.downloaded
  }
}
