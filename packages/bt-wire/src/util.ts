/**
 * Shared pieces of the bt-wire CLI: exit codes and one-line errors, argument helpers
 * (sizes, HOST:PORT, info hashes), formatting, connecting, and waiting on a wire.
 */
import net from 'node:net'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import Wire, { WireError, ErrorCodes, type PeerExtensions, type EncryptResult } from 'bittorrent-protocol'
import peerid from 'bittorrent-peerid'

/** Exit codes, documented in `bt-wire --help` and the README. */
export const Exit = {
  OK: 0,
  /** Anything else: a piece that keeps failing its hash, a file error, data that does not match. */
  FAILURE: 1,
  /** Bad arguments. */
  USAGE: 2,
  /** No connection: refused, unreachable, timed out. */
  NO_CONNECTION: 3,
  /** Connected, but the peer does not serve this torrent or refused us (closed, other info hash, no MSE). */
  REFUSED: 4,
  /** The peer broke the protocol (a coded WireError). */
  PROTOCOL: 5,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT's number, as shells report it. */
  INTERRUPTED: 130
} as const

/** The `code` of a failure in `--json` output when nothing more precise is known. */
const CODE_OF_EXIT: Record<number, string> = {
  1: 'FAILURE', 2: 'BAD_INPUT', 3: 'NO_CONNECTION', 4: 'REFUSED', 5: 'PROTOCOL', 130: 'INTERRUPTED'
}

/** An error that ends the command with a one-line message and an exit code. */
export class CliError extends Error {
  readonly exitCode: number
  /** A stable name for scripts (`--json` failures): NOT_A_TORRENT, NOT_BITTORRENT, PEER_HAS_NONE, a WireError code... */
  readonly code: string
  constructor (exitCode: number, message: string, code?: string) {
    super(message)
    this.exitCode = exitCode
    this.code = code ?? CODE_OF_EXIT[exitCode] ?? 'FAILURE'
  }
}

export const usageError = (message: string): CliError => new CliError(Exit.USAGE, message)

const require = createRequire(import.meta.url)
export const VERSION: string = (require('../package.json') as { version: string }).version

/** Our peer id: Azure-style client code "BP" (bittorrent-protocol), version, 12 random bytes. */
export function makePeerId (): Buffer {
  const [major = '0', minor = '0', patch = '0'] = VERSION.split('.')
  const v = (major + minor + patch + '0').slice(0, 4).replace(/[^0-9A-Za-z]/g, '0')
  return Buffer.concat([Buffer.from(`-BP${v}-`), randomBytes(12)])
}

export const CLIENT_NAME = `bt-wire ${VERSION}`

const UNITS: Record<string, number> = {
  b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3
}

/** "64MiB", "256KiB", "1.5GB", "16384" → bytes. */
export function parseSize (text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m?.[2].toLowerCase() ?? ''
  if (m === null || !(unit === '' || unit in UNITS)) throw usageError(`${what}: "${text}" is not a size (e.g. 64MiB, 256KiB, 1GB)`)
  const n = Math.round(Number(m[1]) * (unit === '' ? 1 : UNITS[unit]))
  if (!Number.isSafeInteger(n) || n <= 0) throw usageError(`${what}: "${text}" must be more than 0 bytes`)
  return n
}

export function parsePort (text: string, what = '--port', allowZero = true): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n > 65535 || (!allowZero && n === 0)) throw usageError(`${what}: "${text}" is not a port number`)
  return n
}

/** "127.0.0.1:6881", "[::1]:6881", "host.example:6881" → { host, port }. */
export function parseHostPort (text: string): { host: string, port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text)
  if (m === null) throw usageError(`"${text}" is not HOST:PORT`)
  return { host: m[1], port: parsePort(m[2], text, false) }
}

export function parseSeconds (text: string, what: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw usageError(`${what}: "${text}" is not a number of seconds`)
  return n * 1000
}

const MiB = 1024 * 1024

export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < MiB) return `${+(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * MiB) return `${+(n / MiB).toFixed(2)} MiB`
  return `${+(n / 1024 / MiB).toFixed(2)} GiB`
}

/** Megabytes (10^6 bytes) per second (the `mbPerSec` of --json output, kept for scripts). */
export function mbPerSec (bytes: number, ms: number): number {
  return ms > 0 ? +(bytes / 1e6 / (ms / 1000)).toFixed(1) : 0
}

/** Mebibytes (2^20 bytes) per second: the unit of every speed bt-wire prints. */
export function mibPerSec (bytes: number, ms: number): number {
  return ms > 0 ? +(bytes / MiB / (ms / 1000)).toFixed(1) : 0
}

/** A speed in the same binary units as the sizes: "1.5 MiB/s", "730 KiB/s". */
export function formatRate (bytesPerSec: number): string {
  if (bytesPerSec >= MiB) return `${(bytesPerSec / MiB).toFixed(1)} MiB/s`
  if (bytesPerSec >= 1024) return `${(bytesPerSec / 1024).toFixed(0)} KiB/s`
  return `${Math.round(bytesPerSec)} B/s`
}

/** A duration for an ETA: "45 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`
}

/**
 * What answered, from the first bytes a server sent instead of a BitTorrent handshake (BEP 3:
 * a handshake starts with the byte 19 and "BitTorrent protocol"). Null when it is not recognisable.
 */
export function recogniseServer (bytes: Buffer | null): string | null {
  if (bytes === null || bytes.length === 0) return null
  const text = bytes.subarray(0, 64).toString('latin1')
  if (/^HTTP\/\d/.test(text)) return `an HTTP server (${firstLine(text)})`
  if (/^SSH-\d/.test(text)) return `an SSH server (${firstLine(text)})`
  // a TLS record: content type 21 (alert) or 22 (handshake), protocol version 3.x
  if ((bytes[0] === 0x15 || bytes[0] === 0x16) && bytes.length >= 2 && bytes[1] === 0x03) return 'a TLS server'
  if (/^(220|\+OK|\* OK)[ -]/.test(text)) return `a mail or FTP server (${firstLine(text)})`
  if (/^[\x20-\x7e]{4,}/.test(text)) return `a server that sent text (${JSON.stringify(firstLine(text))})`
  return null
}

function firstLine (text: string): string {
  return text.split(/\r?\n/)[0].replace(/[^\x20-\x7e]/g, '').slice(0, 40)
}

/** Connect over TCP; a refused, unreachable or slow peer is a CliError(NO_CONNECTION). */
export function connect (host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new CliError(Exit.NO_CONNECTION, `cannot connect to ${host}:${port}: no answer within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      socket.destroy()
      reject(new CliError(Exit.NO_CONNECTION, `cannot connect to ${host}:${port}: ${err.code ?? err.message}`))
    })
  })
}

/** Pipe a socket and a wire into each other; socket errors (ECONNRESET...) just close the wire. */
export function attach (socket: net.Socket, wire: Wire): void {
  socket.on('error', () => wire.destroy())
  socket.on('close', () => { if (!wire.destroyed) wire.destroy() })
  wire.on('close', () => socket.destroy())
  socket.pipe(wire).pipe(socket)
}

/** An outgoing wire on a fresh connection, after the MSE exchange when `encrypt` is set. */
export interface Dialed {
  wire: Wire
  /** The agreed encryption, null for a plain connection. */
  encryption: EncryptResult | null
  /** The last error the wire emitted, if any. */
  lastError: () => Error | null
  /** The first bytes the peer sent (up to 64), null before it sent any: tells what answered when it is not a peer. */
  firstBytes: () => Buffer | null
  /** Where we connected, "HOST:PORT". */
  address: string
}

/**
 * Connect to a peer, pipe a new outgoing wire to the socket and, with `encrypt`, run the MSE
 * exchange (encryption required). A refused exchange is a CliError(REFUSED) and the wire is
 * destroyed; the caller destroys the wire when done with it.
 */
export async function dial (host: string, port: number, infoHash: string, encrypt: boolean, timeoutMs: number): Promise<Dialed> {
  const socket = await connect(host, port, timeoutMs)
  let first: Buffer | null = null
  const sniff = (chunk: Buffer): void => {
    first = first === null ? Buffer.from(chunk.subarray(0, 64)) : Buffer.concat([first, chunk]).subarray(0, 64)
    if (first.length >= 64) socket.removeListener('data', sniff)
  }
  socket.on('data', sniff)
  // backstops for a peer that stalls: the steps below have their own, shorter deadlines
  const wire = new Wire({ type: 'tcpOutgoing', handshakeTimeout: timeoutMs * 3, idleTimeout: timeoutMs * 5 })
  let lastError: Error | null = null
  wire.on('error', err => { lastError = err })
  const encrypting = encrypt ? wire.encrypt({ policy: 'require', infoHash, timeout: timeoutMs }) : null
  attach(socket, wire)
  let encryption: EncryptResult | null = null
  if (encrypting !== null) {
    try {
      encryption = await encrypting
    } catch (err) {
      wire.destroy()
      const what = recogniseServer(first)
      if (what !== null) throw notBitTorrent(`${host}:${port}`, what)
      throw wireEndError(lastError ?? err as Error, Exit.REFUSED, `the peer refused the encrypted connection (${(err as Error).message})`)
    }
  }
  return { wire, encryption, lastError: () => lastError, firstBytes: () => first, address: `${host}:${port}` }
}

/** Connected, but what answered is not a BitTorrent peer. */
export function notBitTorrent (address: string, what: string): CliError {
  return new CliError(Exit.REFUSED, `connected to ${address}, but it is not a BitTorrent peer: ${what} answered`, 'NOT_BITTORRENT')
}

/**
 * Turn why a wire ended into a CliError: a coded protocol error of the peer → PROTOCOL,
 * a clean or reset close → `closedCode` with `closedMessage`.
 */
export function wireEndError (err: Error | null | undefined, closedCode: number, closedMessage: string, dialed?: Dialed): CliError {
  if (err instanceof WireError && err.code !== ErrorCodes.WIRE_CLOSED) {
    if (err.code === ErrorCodes.MSE_FAILED) return new CliError(Exit.REFUSED, `encryption failed: ${err.message}`, err.code)
    if (err.code === ErrorCodes.HANDSHAKE_TIMEOUT) return new CliError(Exit.REFUSED, `connected, but the peer did not handshake: ${err.message}`, err.code)
    if (err.code === ErrorCodes.IDLE_TIMEOUT) return new CliError(Exit.FAILURE, `the peer went silent: ${err.message}`, err.code)
    if (err.code === ErrorCodes.BAD_HANDSHAKE && dialed !== undefined) {
      // BEP 3: a peer's first byte is 19, the length of "BitTorrent protocol"; anything else
      // is another kind of server, named when its greeting is recognisable
      const what = recogniseServer(dialed.firstBytes())
      if (what !== null) return notBitTorrent(dialed.address, what)
      return new CliError(Exit.REFUSED, `connected to ${dialed.address}, but it is not a BitTorrent peer: its first bytes are not a BitTorrent handshake (${err.message})`, 'NOT_BITTORRENT')
    }
    return new CliError(Exit.PROTOCOL, `protocol error from the peer (${err.code}): ${err.message}`, err.code)
  }
  return new CliError(closedCode, closedMessage)
}

/**
 * Wait for the peer's handshake. Rejects with REFUSED when the peer closes first or answers
 * for another torrent, PROTOCOL when it breaks the protocol, NO_CONNECTION on timeout.
 */
export function waitHandshake (wire: Wire, infoHash: string, timeoutMs: number, dialed?: Dialed): Promise<{ peerId: string, extensions: PeerExtensions }> {
  return new Promise((resolve, reject) => {
    let lastError: Error | null = null
    const done = (): void => {
      clearTimeout(timer)
      wire.removeListener('handshake', onHandshake)
      wire.removeListener('error', onError)
      wire.removeListener('close', onClose)
    }
    const onHandshake = (peerInfoHash: string, peerId: string, extensions: PeerExtensions): void => {
      done()
      if (peerInfoHash !== infoHash) {
        wire.destroy()
        reject(new CliError(Exit.REFUSED, `the peer answered for another torrent (${peerInfoHash})`))
        return
      }
      resolve({ peerId, extensions })
    }
    const onError = (err: Error): void => { lastError = err }
    const onClose = (): void => {
      done()
      const what = dialed !== undefined ? recogniseServer(dialed.firstBytes()) : null
      if (what !== null && !(lastError instanceof WireError && lastError.code !== ErrorCodes.BAD_HANDSHAKE && lastError.code !== ErrorCodes.WIRE_CLOSED)) {
        reject(notBitTorrent(dialed!.address, what))
        return
      }
      reject(wireEndError(lastError, Exit.REFUSED, 'the peer closed the connection before its handshake: it does not serve this torrent, or refused us', dialed))
    }
    const timer = setTimeout(() => {
      done()
      wire.destroy()
      // the TCP connection is up: something listens there, but it does not answer as a peer
      const what = dialed !== undefined ? recogniseServer(dialed.firstBytes()) : null
      if (what !== null) reject(notBitTorrent(dialed!.address, what))
      else if (dialed !== undefined && dialed.firstBytes() === null) reject(new CliError(Exit.REFUSED, `connected to ${dialed.address}, but nothing answered our BitTorrent handshake within ${timeoutMs / 1000} s: not a BitTorrent peer, or one that ignores us`, 'NO_HANDSHAKE'))
      else reject(new CliError(Exit.REFUSED, `connected, but no complete handshake from the peer within ${timeoutMs / 1000} s`, 'NO_HANDSHAKE'))
    }, timeoutMs)
    wire.on('handshake', onHandshake)
    wire.on('error', onError)
    wire.once('close', onClose)
  })
}

/** A peer id as text: its printable characters, others as dots. */
export function peerIdText (id: Buffer): string {
  return id.toString('latin1').replace(/[^\x20-\x7e]/g, '.')
}

/** The client behind a peer id (bittorrent-peerid): { client, version }, client 'unknown' when it cannot tell. */
export function decodePeerId (id: Buffer): { client: string, version: string | null } {
  try {
    const r = peerid(id)
    return { client: r.client, version: r.version ?? null }
  } catch {
    return { client: 'unknown', version: null }
  }
}

/** "libtorrent (Rasterbar) 2.0, peer id -LT2080-..." for logs. */
export function describePeer (id: Buffer): string {
  const { client, version } = decodePeerId(id)
  const name = client === 'unknown' ? 'unknown client' : client + (version !== null ? ' ' + version : '')
  return `${name}, peer id ${peerIdText(id.subarray(0, 8))}`
}

/** Human or JSON output. Human text goes to stdout, progress and errors to stderr. */
export interface Output {
  json: boolean
}

export function printJson (obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n')
}
