// A hand-written HTTP tracker on 127.0.0.1 (BEP 3 announce, BEP 23 compact peers).
import http from 'node:http'
import { once } from 'node:events'
import bencode from 'bencode'

/** Decode a query string keeping binary values (info_hash, peer_id) as Buffers. */
function parseQuery (qs) {
  const out = {}
  for (const part of qs.split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq))
    const raw = eq < 0 ? '' : part.slice(eq + 1)
    const bytes = []
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]
      if (c === '%' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(parseInt(raw.slice(i + 1, i + 3), 16))
        i += 2
      } else if (c === '+') bytes.push(0x20)
      else bytes.push(c.charCodeAt(0))
    }
    out[k] = Buffer.from(bytes)
  }
  return out
}

function compact (peers) {
  const buf = Buffer.alloc(peers.length * 6)
  peers.forEach(({ host, port }, n) => {
    host.split('.').forEach((b, k) => { buf[n * 6 + k] = Number(b) })
    buf.writeUInt16BE(port, n * 6 + 4)
  })
  return buf
}

export async function startTracker (t) {
  const swarms = new Map() // infoHashHex → Map("host:port" → peer)
  const announces = []
  const waiters = new Set()
  const swarm = (ih) => {
    if (!swarms.has(ih)) swarms.set(ih, new Map())
    return swarms.get(ih)
  }
  const server = http.createServer((req, res) => {
    const [path, qs = ''] = req.url.split('?')
    const fail = (reason) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(bencode.encode({ 'failure reason': reason }))
    }
    if (path !== '/announce') { res.writeHead(404); return res.end() }
    const q = parseQuery(qs)
    if (!q.info_hash || q.info_hash.length !== 20) return fail('bad info_hash')
    const ih = q.info_hash.toString('hex')
    const host = (req.socket.remoteAddress || '').replace(/^::ffff:/, '')
    const port = Number(q.port && q.port.toString())
    const event = q.event ? q.event.toString() : ''
    const a = { infoHash: ih, host, port, event, left: q.left && Number(q.left.toString()), peerId: q.peer_id && q.peer_id.toString('hex') }
    announces.push(a)
    const s = swarm(ih)
    const key = host + ':' + port
    if (event === 'stopped') s.delete(key)
    else s.set(key, { host, port, static: false })
    const peers = [...s.values()].filter(p => !(p.host === host && p.port === port))
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(bencode.encode({ interval: 5, 'min interval': 2, complete: 0, incomplete: 0, peers: compact(peers) }))
    for (const w of waiters) w()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { server.closeAllConnections?.(); server.close() })
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}/announce`,
    announces,
    /** A peer the tracker hands out without it announcing (our wire has no HTTP client). */
    addPeer (infoHash, host, port) { swarm(infoHash).set(host + ':' + port, { host, port, static: true }) },
    waitAnnounce (pred, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const a = announces.find(pred)
          if (a) { clearTimeout(timer); waiters.delete(check); resolve(a) }
        }
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`tracker: no matching announce within ${ms} ms (saw ${JSON.stringify(announces)})`)) }, ms)
        waiters.add(check)
        check()
      })
    }
  }
}
