/**
 * bt-wire probe: connect to one peer, handshake, and report what it is and what it offers.
 */
import { ReservedBits } from 'bittorrent-protocol'
import { Exit, dial, decodePeerId, peerIdText, makePeerId, printJson, waitHandshake, wireEndError, CLIENT_NAME, type Output } from './util.js'
import { resolveTarget } from './torrent.js'

export interface ProbeOptions extends Output {
  host: string
  port: number
  target: string
  encrypt: boolean
  timeoutMs: number
  /** How long to wait for an unchoke after `interested`. */
  waitMs: number
}

const BIT_MEANING: Record<string, string> = {
  azureus: 'Azureus messaging protocol',
  location: 'location-aware protocol',
  extended: 'extension protocol (BEP 10)',
  v2: 'BitTorrent v2 (BEP 52)',
  nat: 'NAT traversal (libtorrent)',
  fast: 'fast extension (BEP 6)',
  dht: 'DHT (BEP 5)',
  extensionNegotiation: 'extension negotiation protocol (BEP 4)',
  xbtPex: 'XBT peer exchange'
}

export interface ProbeReport {
  peer: string
  infoHash: string
  encryption: string
  peerId: string
  peerIdText: string
  client: string
  clientVersion: string | null
  reserved: string
  reservedBits: Array<{ name: string, meaning: string }>
  unknownReservedBits: string[]
  extendedHandshake: Record<string, unknown> | null
  /** haveMessages: `have` messages for pieces not announced before. */
  pieces: { source: 'bitfield' | 'have-all' | 'have-none' | 'none', have: number | null, bitfieldBits: number | null, haveMessages: number, total: number | null }
  allowedFast: number[]
  suggested: number[]
  dhtPort: number | null
  unchoked: boolean
  /** From our `interested` to the peer's unchoke; negative when it unchoked us before. */
  unchokeMs: number | null
}

/** Bencoded values as JSON: printable strings as text, other bytes as hex, yourip as an address. */
function plain (v: unknown, key = ''): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v)
    if (key === 'yourip' || key === 'ipv4' || key === 'ipv6') {
      if (b.length === 4) return [...b].join('.')
      if (b.length === 16) return (b.toString('hex').match(/.{4}/g) ?? []).join(':')
    }
    const s = b.toString('utf8')
    return /^[\x20-\x7e]*$/.test(s) ? s : b.toString('hex')
  }
  if (Array.isArray(v)) return v.map(x => plain(x))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = plain(x, k)
    return out
  }
  return v
}

function popcount (buf: Uint8Array): number {
  let n = 0
  for (const byte of buf) {
    let b = byte
    while (b !== 0) { n += b & 1; b >>= 1 }
  }
  return n
}

export async function probe (opts: ProbeOptions): Promise<ProbeReport> {
  const target = await resolveTarget(opts.target, 'probe')
  const infoHash = target.infoHash
  const total = target.meta !== null ? target.meta.pieceHashes.length : null
  const dialed = await dial(opts.host, opts.port, infoHash, opts.encrypt, opts.timeoutMs)
  const { wire, encryption, lastError: errorOf } = dialed
  try {

    // everything the peer says from now on
    let source = 'none' as ProbeReport['pieces']['source']
    let bitfieldBits: number | null = null
    const haves = new Set<number>()
    let haveMessages = 0
    let bitfieldCount = 0
    let bitfieldBuf: Buffer | null = null
    const allowedFast: number[] = []
    const suggested: number[] = []
    let dhtPort: number | null = null
    let gotExtended = false
    let gotPieces = false
    let wake: (() => void) | null = null
    const poke = (): void => { wake?.() }
    wire.on('bitfield', bf => {
      source = 'bitfield'
      gotPieces = true
      bitfieldBuf = Buffer.from(bf.buffer as Uint8Array)
      bitfieldBits = bitfieldBuf.length * 8
      bitfieldCount = popcount(bitfieldBuf)
      poke()
    })
    wire.on('have-all', () => { source = 'have-all'; gotPieces = true; poke() })
    wire.on('have-none', () => { source = 'have-none'; gotPieces = true; poke() })
    wire.on('have', (i: number) => { haveMessages++; haves.add(i) })
    wire.on('allowed-fast', (i: number) => { if (!allowedFast.includes(i)) allowedFast.push(i) })
    wire.on('suggest', (i: number) => { if (!suggested.includes(i)) suggested.push(i) })
    wire.on('port', (p: number) => { dhtPort = p })
    wire.on('extended', (ext: string | number) => { if (ext === 'handshake') { gotExtended = true; poke() } })
    let unchokedAt: number | null = null
    wire.on('unchoke', () => { unchokedAt ??= Date.now(); poke() })
    wire.on('close', poke)

    wire.extendedHandshake.v = CLIENT_NAME
    wire.handshake(infoHash, makePeerId(), { fast: true, dht: false })
    const hs = await waitHandshake(wire, infoHash, opts.timeoutMs, dialed)
    if (wire.hasFast) wire.haveNone()

    /** Wait until cond() or ms passed or the wire closed. */
    const waitFor = async (cond: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms
      while (!cond() && !wire.destroyed && Date.now() < deadline) {
        await new Promise<void>(resolve => {
          const t = setTimeout(resolve, Math.max(0, deadline - Date.now()))
          wake = () => { clearTimeout(t); resolve() }
        })
        wake = null
      }
    }
    // the peer's extended handshake and piece announcement come right after its handshake
    const settleMs = Math.min(3000, opts.waitMs)
    await waitFor(() => (gotExtended || !hs.extensions.extended) && gotPieces, settleMs)
    if (wire.destroyed) throw wireEndError(errorOf(), Exit.REFUSED, 'the peer closed the connection after its handshake')

    const interestedAt = Date.now()
    wire.interested()
    await waitFor(() => !wire.peerChoking, opts.waitMs)
    const unchoked = !wire.peerChoking
    // negative: the peer unchoked us before we said we were interested
    const unchokeMs = unchoked && unchokedAt !== null ? unchokedAt - interestedAt : null
    if (wire.destroyed && !unchoked) throw wireEndError(errorOf(), Exit.REFUSED, 'the peer closed the connection after we said we were interested')

    const peerIdBuf = wire.peerIdBuffer ?? Buffer.from(hs.peerId, 'hex')
    const { client, version: clientVersion } = decodePeerId(peerIdBuf)
    const reserved = wire.peerReserved ?? Buffer.alloc(8)
    const known = Buffer.alloc(8)
    const reservedBits: ProbeReport['reservedBits'] = []
    for (const [name, [byte, mask]] of Object.entries(ReservedBits) as Array<[string, readonly number[]]>) {
      known[byte] |= mask
      if ((reserved[byte] & mask) !== 0) reservedBits.push({ name, meaning: BIT_MEANING[name] ?? name })
    }
    const unknownReservedBits: string[] = []
    for (let i = 0; i < 8; i++) {
      for (let bit = 7; bit >= 0; bit--) {
        const mask = 1 << bit
        if ((reserved[i] & mask) !== 0 && (known[i] & mask) === 0) unknownReservedBits.push(`byte ${i} 0x${mask.toString(16).padStart(2, '0')}`)
      }
    }
    const inBitfield = (i: number): boolean => bitfieldBuf !== null && i < bitfieldBuf.length * 8 && (bitfieldBuf[i >> 3] & (0x80 >> (i & 7))) !== 0
    const pieceCount = source === 'have-all' ? total : bitfieldCount + [...haves].filter(i => !inBitfield(i)).length
    const report: ProbeReport = {
      peer: `${opts.host}:${opts.port}`,
      infoHash,
      encryption: encryption === null ? 'none' : encryption.method,
      peerId: peerIdBuf.toString('hex'),
      peerIdText: peerIdText(peerIdBuf),
      client,
      clientVersion,
      reserved: reserved.toString('hex'),
      reservedBits,
      unknownReservedBits,
      extendedHandshake: gotExtended ? plain(wire.peerExtendedHandshake) as Record<string, unknown> : null,
      pieces: { source, have: pieceCount, bitfieldBits, haveMessages, total },
      allowedFast: allowedFast.sort((a, b) => a - b),
      suggested,
      dhtPort,
      unchoked,
      unchokeMs
    }
    return report
  } finally {
    wire.destroy()
  }
}

export function printProbe (r: ProbeReport, out: Output): void {
  if (out.json) { printJson(r); return }
  const lines: string[] = []
  const ext = r.extendedHandshake
  lines.push(`peer        ${r.peer}${r.encryption !== 'none' ? ` (MSE, ${r.encryption})` : ''}`)
  lines.push(`info hash   ${r.infoHash}`)
  lines.push(`peer id     ${r.peerIdText}  (${r.client === 'unknown' ? 'unknown client' : r.client + (r.clientVersion ? ' ' + r.clientVersion : '')})`)
  lines.push(`reserved    ${r.reserved}: ${r.reservedBits.map(b => `${b.name} (${b.meaning})`).join(', ') || 'no known bits'}` +
    (r.unknownReservedBits.length > 0 ? `; unknown: ${r.unknownReservedBits.join(', ')}` : ''))
  if (ext === null) {
    lines.push('extended    no extended handshake')
  } else {
    const m = (ext.m ?? {}) as Record<string, unknown>
    lines.push(`extended    client ${String(ext.v ?? '?')}`)
    lines.push(`            m: ${Object.entries(m).map(([k, v]) => `${k}=${String(v)}`).join(' ') || '(none)'}`)
    const more: string[] = []
    for (const key of ['metadata_size', 'reqq', 'yourip', 'upload_only', 'p', 'ipv4', 'ipv6']) {
      if (ext[key] !== undefined) more.push(`${key}=${String(ext[key])}`)
    }
    if (more.length > 0) lines.push(`            ${more.join(' ')}`)
  }
  const p = r.pieces
  const of = p.total !== null ? ` of ${p.total}` : ''
  if (p.source === 'have-all') lines.push(`pieces      all${of} (have-all)`)
  else if (p.source === 'have-none') lines.push(`pieces      ${p.have}${of} (have-none${p.haveMessages ? `, then ${p.haveMessages} have` : ''})`)
  else if (p.source === 'bitfield') lines.push(`pieces      ${p.have}${of} (bitfield of ${p.bitfieldBits} bits${p.haveMessages ? `, ${p.haveMessages} have` : ''})`)
  else lines.push(`pieces      ${p.have}${of} (no bitfield${p.haveMessages ? `, ${p.haveMessages} have` : ''})`)
  lines.push(`allowed fast ${r.allowedFast.length > 0 ? r.allowedFast.join(' ') : '(none)'}`)
  if (r.suggested.length > 0) lines.push(`suggested   ${r.suggested.join(' ')}`)
  if (r.dhtPort !== null) lines.push(`dht port    ${r.dhtPort}`)
  const when = r.unchokeMs === null ? '' : r.unchokeMs < 0 ? ', before we were interested' : `, ${r.unchokeMs} ms after interested`
  lines.push(`unchoke     ${r.unchoked ? `yes${when}` : `no, still choked after interested`}`)
  process.stdout.write(lines.join('\n') + '\n')
}
