// A small downloader and seeder on top of the Wire under test.
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import BitField from 'bitfield'
import Wire from './impl.mjs'
import { sha1, pieceSize, pieceData, mbps } from './fixtures.mjs'

export const BLOCK = 16 * 1024

export function peerId (tag = 'IT') {
  // Azureus style: -XX0001- + 12 random bytes
  return Buffer.concat([Buffer.from(`-${tag}0001-`), randomBytes(12)]).toString('hex')
}

/** Connect to 127.0.0.1:port, retrying while the client is not up yet. */
export async function dial (port, ms = 20000) {
  const deadline = Date.now() + ms
  for (;;) {
    const socket = net.connect(port, '127.0.0.1')
    try {
      await once(socket, 'connect')
      return socket
    } catch (err) {
      socket.destroy()
      if (Date.now() > deadline) throw new Error(`could not connect to 127.0.0.1:${port}: ${err.message}`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
}

/** Pipe a socket and a wire both ways; either side closing ends the other. */
export function attach (socket, wire) {
  socket.pipe(wire).pipe(socket)
  socket.on('error', () => {})
  wire.on('error', () => {})
  socket.on('close', () => { if (!wire.destroyed) wire.destroy() })
  wire.on('close', () => socket.destroy())
}

/**
 * Download a whole torrent into memory over one wire, verifying every piece against its SHA-1.
 * opts:
 *  meta                parsed torrent (fixtures.parseTorrentFile)
 *  port | socket       where to connect (or an already connected socket)
 *  fast, dht           handshake bits we send (extended is always set, as in 3.5.5)
 *  pipeline            requests in flight (default 48), blockSize (16 KiB)
 *  pipelineFromReqq    cap: use min(peer's extended-handshake reqq, cap) requests in flight
 *  timeoutMs           whole-transfer bound (default 60 s); stallMs without any block (default 20 s)
 *  onBlock(ctx)        called after every stored block (for choreography: cancel, commands to the peer)
 *  before(wire)        called before the handshake (wire.use(...))
 *  handshakeFirst      false → wait for the peer's handshake first (incoming wires)
 *  handshakeOn         send our handshake when the wire emits this event (e.g. 'pe4' after 3.5.5-style MSE)
 * Resolves { data, ms, bytes, mbps, stats, wire }.
 */
export function download (opts) {
  const { meta, fast = true, dht = false, blockSize = BLOCK, timeoutMs = 60000, stallMs = 20000 } = opts
  let pipeline = opts.pipeline || 48
  const wire = opts.wire || new Wire('tcpOutgoing')
  const data = Buffer.alloc(meta.length)
  const stats = {
    blocks: 0,
    requested: 0,
    failed: 0,
    failedWhileChoked: 0,
    chokes: 0,
    unchokes: 0,
    rejects: 0,
    allowedFast: 0,
    requestedWhileChoked: 0,
    cancelled: 0,
    cancelErrors: 0,
    lateCancelledBlocks: 0,
    piecesVerified: 0,
    haveAll: false,
    bitfield: false,
    errors: []
  }
  // block queue
  const todo = [] // [piece, offset, length]
  for (let i = 0; i < meta.numPieces; i++) {
    const size = pieceSize(meta, i)
    for (let o = 0; o < size; o += blockSize) todo.push([i, o, Math.min(blockSize, size - o)])
  }
  const received = new Array(meta.numPieces).fill(0)
  const stored = new Set() // "i:o"
  const inflight = new Map() // "i:o" → [i, o, l]
  const cancelledKeys = new Map() // "i:o" → 'pending' | 'errored'
  const donePieces = new Set()
  const peerId_ = opts.peerId || peerId()

  return new Promise((resolve, reject) => {
    let start = 0
    let lastProgress = Date.now()
    let finished = false
    let filling = false

    const fail = (err) => {
      if (finished) return
      finished = true
      clearInterval(watch)
      err.message += ` [stats ${JSON.stringify({ ...stats, inflight: inflight.size, todo: todo.length, piecesDone: donePieces.size, of: meta.numPieces, peerChoking: wire.peerChoking, wireRequests: wire.requests && wire.requests.length })}]`
      wire.destroy()
      reject(err)
    }
    const watch = setInterval(() => {
      if (Date.now() - lastProgress > stallMs) fail(new Error(`transfer stalled: no block for ${stallMs} ms`))
      else if (start && Date.now() - start > timeoutMs) fail(new Error(`transfer did not finish within ${timeoutMs} ms`))
    }, 250)

    const canRequest = (i) => {
      if (!wire.peerPieces.get(i)) return false
      if (!wire.peerChoking) return true
      return fast && wire.hasFast && (wire.peerAllowedFastSet || []).includes(i)
    }

    const fill = () => {
      if (filling || finished || !start) return
      filling = true
      try {
        for (let k = 0; k < todo.length && inflight.size < pipeline;) {
          const [i, o, l] = todo[k]
          const key = i + ':' + o
          if (stored.has(key) || donePieces.has(i)) { todo.splice(k, 1); continue }
          if (inflight.has(key) || !canRequest(i)) { k++; continue }
          todo.splice(k, 1)
          inflight.set(key, [i, o, l])
          stats.requested++
          stats.firstRequestAt = stats.firstRequestAt || Date.now()
          if (wire.peerChoking) stats.requestedWhileChoked++
          wire.request(i, o, l, (err, buf) => onBlock(key, i, o, l, err, buf))
        }
      } finally {
        filling = false
      }
    }

    const onBlock = (key, i, o, l, err, buf) => {
      if (finished) return
      inflight.delete(key)
      if (err) {
        stats.failed++
        if (wire.peerChoking) stats.failedWhileChoked++
        const cancelled = cancelledKeys.get(key) === 'pending'
        if (cancelled) {
          stats.cancelErrors++
          cancelledKeys.set(key, 'errored')
        }
        // a cancelled block goes to the back of the queue: under fast the peer answers our cancel with a
        // reject, which must not meet a fresh request for the same block
        if (!stored.has(key)) {
          if (cancelled) todo.push([i, o, l])
          else todo.unshift([i, o, l])
        }
        if (!wire.destroyed) setImmediate(fill)
        return
      }
      if (!buf || buf.length !== l) return fail(new Error(`block ${key} came back with ${buf && buf.length} bytes, expected ${l}`))
      if (cancelledKeys.has(key)) stats.lateCancelledBlocks++
      if (!stored.has(key)) {
        buf.copy(data, i * meta.pieceLength + o)
        stored.add(key)
        received[i] += l
        stats.blocks++
        lastProgress = Date.now()
        if (received[i] === pieceSize(meta, i)) {
          const got = sha1(pieceData(meta, data, i))
          if (!got.equals(meta.pieceHashes[i])) return fail(new Error(`piece ${i} failed its SHA-1 check`))
          donePieces.add(i)
          stats.piecesVerified++
        }
      }
      if (opts.onBlock) {
        try {
          opts.onBlock({ wire, stats, inflight, cancel: cancelInflight, fraction: donePieces.size / meta.numPieces, donePieces })
        } catch (e) { return fail(e) }
      }
      if (donePieces.size === meta.numPieces) {
        finished = true
        clearInterval(watch)
        // rate over the transfer itself: from the first unchoke (or have-all/allowed-fast start) to the end
        const end = Date.now()
        const totalMs = end - start
        const ms = Math.max(1, end - Math.max(start, Math.min(stats.firstUnchokeAt || Infinity, stats.firstRequestAt || Infinity)))
        stats.waitedForUnchokeMs = (stats.firstUnchokeAt || start) - start
        stats.unexpectedRequestsLeft = wire.requests.length
        resolve({ data, ms, totalMs, bytes: meta.length, mbps: mbps(meta.length, ms), stats, wire })
        return
      }
      fill()
    }

    /** Cancel up to n requests that are in flight; their callbacks must fail. */
    const cancelInflight = (n) => {
      const picked = [...inflight.values()].slice(-n)
      for (const [i, o, l] of picked) {
        cancelledKeys.set(i + ':' + o, 'pending')
        stats.cancelled++
        wire.cancel(i, o, l)
      }
      return picked.length
    }

    wire.on('error', err => stats.errors.push(err.message))
    wire.on('close', () => fail(new Error('wire closed before the download finished')))
    wire.on('choke', () => { stats.chokes++ })
    wire.on('unchoke', () => { stats.unchokes++; stats.firstUnchokeAt = stats.firstUnchokeAt || Date.now(); fill() })
    wire.on('have', fill)
    wire.on('bitfield', () => { stats.bitfield = true; fill() })
    wire.on('have-all', () => { stats.haveAll = true; fill() })
    wire.on('reject', () => { stats.rejects++ })
    wire.on('extended', (ext, obj) => {
      // pipelineFromReqq: as many requests in flight as the peer's BEP 10 reqq allows (capped)
      if (ext === 'handshake' && opts.pipelineFromReqq && obj && Number.isInteger(obj.reqq) && obj.reqq > 0) {
        stats.peerReqq = obj.reqq
        pipeline = Math.min(obj.reqq, opts.pipelineFromReqq)
        fill()
      }
    })
    wire.on('allowed-fast', () => { stats.allowedFast++; fill() })

    wire.once('handshake', (infoHash, pid, ext) => {
      if (infoHash !== meta.infoHash) return fail(new Error('peer answered with info hash ' + infoHash))
      stats.peerExtensions = ext
      if (opts.handshakeFirst === false) wire.handshake(meta.infoHash, peerId_, { dht, fast })
      start = Date.now()
      lastProgress = start
      if (wire.hasFast) wire.haveNone()
      wire.interested()
      fill()
    })
    if (opts.before) opts.before(wire)

    const go = (socket) => {
      attach(socket, wire)
      if (opts.handshakeOn) wire.once(opts.handshakeOn, () => wire.handshake(meta.infoHash, peerId_, { dht, fast }))
      else if (opts.handshakeFirst !== false) wire.handshake(meta.infoHash, peerId_, { dht, fast })
    }
    if (opts.socket) go(opts.socket)
    else dial(opts.port).then(go, fail)
  })
}

/**
 * Seed over one wire from the payload in memory.
 * opts:
 *  meta, payload
 *  outgoing     true → we send our handshake first (we dialled); else we answer the peer's
 *  fast         set the fast bit (then have-all instead of a bitfield when both have it)
 *  allowedFast  pieces to announce as allowed-fast (fast only)
 *  respondDelayMs  answer requests after a delay (keeps requests pending, like a disk read)
 *  choke        { afterBytes, forMs }: choke the peer once mid-transfer, unchoke after forMs
 * Returns { wire, stats, peerComplete: Promise } — peerComplete resolves when the peer has every piece.
 */
export function seed (wire, opts) {
  const { meta, payload, fast = true, allowedFast = [], respondDelayMs = 0, choke } = opts
  const stats = {
    served: 0,
    bytes: 0,
    requestsWhileChoked: 0,
    allowedFastServedWhileChoked: 0,
    invalidRequests: 0,
    uploadedDuringChoke: null,
    peerRequestsAtChoke: null,
    peerRequestsAfterChoke: null,
    chokedAt: null,
    errors: []
  }
  const peerHas = new BitField(meta.numPieces)
  let peerCount = 0
  let resolveComplete, rejectComplete
  const peerComplete = new Promise((resolve, reject) => { resolveComplete = resolve; rejectComplete = reject })
  peerComplete.catch(() => {})
  let choking = false
  let chokedOnce = false
  let start = 0

  const markHave = (i) => {
    if (i < meta.numPieces && !peerHas.get(i)) {
      peerHas.set(i, true)
      peerCount++
      if (peerCount === meta.numPieces) {
        const ms = Date.now() - start
        resolveComplete({ ms, mbps: +(meta.length / 1048576 / (ms / 1000)).toFixed(2) })
      }
    }
  }

  wire.on('error', err => stats.errors.push(err.message))
  wire.on('close', () => rejectComplete(new Error(`wire closed before the peer had every piece (${peerCount}/${meta.numPieces}) ${JSON.stringify(stats)}`)))
  wire.on('have', markHave)
  wire.on('bitfield', bf => { for (let i = 0; i < meta.numPieces; i++) if (bf.get(i)) markHave(i) })
  wire.on('interested', () => { if (!choking) wire.unchoke() })

  wire.on('request', (i, o, l, respond) => {
    if (choking) {
      stats.requestsWhileChoked++
      if (allowedFast.includes(i)) stats.allowedFastServedWhileChoked++
    }
    if (i >= meta.numPieces || o + l > pieceSize(meta, i) || l > 128 * 1024) {
      stats.invalidRequests++
      return respond(new Error('invalid request'))
    }
    const start = i * meta.pieceLength + o
    const block = payload.subarray(start, start + l)
    const send = () => {
      stats.served++
      stats.bytes += l
      stats.firstServeAt = stats.firstServeAt || Date.now()
      stats.lastServeAt = Date.now()
      respond(null, block)
      maybeChoke()
    }
    if (respondDelayMs) setTimeout(send, respondDelayMs)
    else send()
  })

  const maybeChoke = () => {
    if (!choke || chokedOnce || stats.bytes < choke.afterBytes) return
    chokedOnce = true
    choking = true
    stats.chokedAt = stats.bytes
    stats.peerRequestsAtChoke = wire.peerRequests.length
    const uploadedAtChoke = wire.uploaded
    wire.choke()
    stats.peerRequestsAfterChoke = wire.peerRequests.length
    stats.peerRequestsAfterChokeOutsideAllowedFast = wire.peerRequests.filter(r => !allowedFast.includes(r.piece)).length
    setTimeout(() => {
      stats.uploadedDuringChoke = wire.uploaded - uploadedAtChoke
      choking = false
      if (!wire.destroyed) wire.unchoke()
    }, choke.forMs)
  }

  const afterHandshake = () => {
    start = Date.now()
    stats.handshakeAt = start
    if (wire.hasFast) {
      wire.haveAll()
      for (const i of allowedFast) wire.allowedFast(i)
    } else {
      const bf = new BitField(meta.numPieces)
      for (let i = 0; i < meta.numPieces; i++) bf.set(i, true)
      wire.bitfield(bf)
    }
  }

  const pid = opts.peerId || peerId('SD')
  wire.once('handshake', (infoHash, peer, ext) => {
    stats.peerExtensions = ext
    stats.peerIdHex = peer
    if (infoHash !== meta.infoHash) {
      stats.errors.push('wrong info hash ' + infoHash)
      wire.destroy()
      return
    }
    if (!opts.outgoing) wire.handshake(meta.infoHash, pid, { dht: false, fast })
    afterHandshake()
  })
  if (opts.outgoing) wire.handshake(meta.infoHash, pid, { dht: false, fast })
  return { wire, stats, peerComplete }
}

/**
 * Upload rate of a seeding session: payload bytes over the time from the first block we served to
 * `endAt`, the moment the client reported it had everything (libtorrent 'finished', aria2 exiting,
 * Transmission's last have / close).
 */
export function uploadRate (session, bytes, endAt) {
  const ms = Math.max(1, endAt - session.stats.firstServeAt)
  return { bytes, ms, mbps: +(bytes / 1048576 / (ms / 1000)).toFixed(2) }
}

/**
 * A listening server that seeds to every peer that connects. onSeed(session) sees each one.
 * opts.makeWire() makes each incoming wire (default `new Wire('tcpIncoming')`); opts.before(wire, socket),
 * if given, runs on each new wire before it is piped to its socket.
 */
export async function seedServer (t, opts, onSeed = () => {}) {
  const sessions = []
  const server = net.createServer(socket => {
    const wire = opts.makeWire ? opts.makeWire() : new Wire('tcpIncoming')
    if (opts.before) opts.before(wire, socket)
    attach(socket, wire)
    const s = seed(wire, { ...opts, outgoing: false })
    sessions.push(s)
    onSeed(s)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const s of sessions) s.wire.destroy()
    server.close()
  })
  return { server, port: server.address().port, sessions }
}

/** Resolve when `p` resolves; fail after ms with `what`. */
export function within (p, ms, what) {
  let timer
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms) })
  ])
}
