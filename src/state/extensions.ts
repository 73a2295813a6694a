/**
 * The BEP 10 extension registry: `wire.use(Extension)`, the id <-> name maps, the peer's
 * extended handshake, and the calls into extensions.
 *
 * Our ids start at 1 in `use()` order. The peer's ids come from its extended
 * handshake `m` dictionary; entries that are not integers in 0..255 are ignored,
 * and 0 removes a mapping (BEP 10: "disabled").
 *
 * Extensions are a trust boundary: they run on the peer's bytes, and a plugin that throws
 * (ut_metadata answering a peer that never mapped ut_metadata, say) must fail its wire, not
 * the process. Every call into a handler goes through `guard`, which turns a throw into a
 * coded error (ERR_BT_EXTENSION_FAILED, naming the extension) for the wire to fail with.
 */
import { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'
import { checkDictionary, decodeStrict } from '../protocol/bencode.js'

/** Largest extended handshake (its bencoded payload) a peer may send; honest ones are well under 1 KiB. */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024
/**
 * Extended-handshake bytes a peer may send over a wire's life. BEP 10 lets a peer send the
 * handshake again to update it; a peer that keeps sending large ones would have us decode
 * without end (each 64 KiB one costs real CPU), so past this budget the wire fails.
 */
export const EXTENDED_HANDSHAKE_BUDGET = 1024 * 1024
/** Most names kept in `peerExtendedMapping`: the names we use are always kept, others up to this many in all. */
export const MAX_PEER_EXTENSIONS = 128
/** Longest extension name kept (libtorrent's names are under 20 bytes). */
export const MAX_EXTENSION_NAME_LENGTH = 64

/**
 * Extensions whose messages start with a bencoded dictionary, which their plugins decode with
 * `bencode.decode` (unsafe on hostile input: see protocol/bencode.ts). The head of each such
 * message is checked strictly before the plugin sees it.
 */
const BENCODED_EXTENSIONS: ReadonlySet<string> = new Set(['ut_metadata', 'ut_pex'])

export interface ExtensionHandler {
  name?: string
  onHandshake?: (infoHash: string, peerId: string, extensions: any) => void
  onExtendedHandshake?: (handshake: Record<string, any>) => void
  onMessage?: (buf: Buffer) => void
  [key: string]: any
}

export interface ExtensionConstructor {
  new (wire: any): ExtensionHandler
  prototype: { name?: string }
}

export class ExtensionRegistry {
  /** Our id -> name. */
  readonly mapping: Record<number, string> = {}
  /** Name -> handler. */
  readonly handlers: Record<string, ExtensionHandler> = {}
  private _next = 1

  add (name: string, handler: ExtensionHandler): number {
    if (this._next > 255) throw new Error('too many extensions: ids are one byte')
    // A name used again gets a new id and replaces the handler, as in 3.5.5 (its earlier ids keep
    // naming it): WebTorrent 1.9.7 runs its whole wire setup twice on an incoming encrypted
    // connection (peer.js and conn-pool.js both call onHandshake) and use()s each extension twice.
    const id = this._next++
    this.mapping[id] = name
    this.handlers[name] = handler
    return id
  }

  /** The `m` dictionary of our extended handshake. */
  m (): Record<string, number> {
    const m: Record<string, number> = {}
    for (const id in this.mapping) m[this.mapping[id]] = Number(id)
    return m
  }

  /**
   * Call `fn` on the handler of extension `name`; a throw becomes the WireError returned
   * (null when it ran cleanly). Nothing an extension throws leaves here.
   */
  guard (name: string, fn: () => void): WireError | null {
    try {
      fn()
      return null
    } catch (err) {
      const e = new WireError(ErrorCodes.EXTENSION_FAILED, `extension "${name}" failed: ${(err as Error)?.message ?? String(err)}`)
      ;(e as { cause?: unknown }).cause = err
      return e
    }
  }

  /**
   * Hand a peer's message for our extension `name` to its handler, guarded. For the bencoded
   * extensions the message must start with a well-formed dictionary (else ERR_BT_BAD_BENCODE)
   * before the plugin's own decoder sees it.
   */
  deliver (name: string, handler: ExtensionHandler, payload: Buffer): WireError | null {
    if (BENCODED_EXTENSIONS.has(name)) {
      const end = checkDictionary(payload)
      if (typeof end !== 'number') return end
    }
    return this.guard(name, () => handler.onMessage!(payload))
  }

  /**
   * Apply a peer's `m` dictionary to its name -> id map, skipping entries that are not ids.
   * Returns the map, created only when there is something to put in it. At most
   * MAX_PEER_EXTENSIONS names are kept: past that, names we do not use are not added (changes
   * and removals of names already there still apply, as BEP 10's additive rule says).
   */
  static applyPeerMapping (target: Record<string, number> | null, m: unknown, ours?: Record<string, unknown>): Record<string, number> | null {
    if (m === null || typeof m !== 'object' || ArrayBuffer.isView(m) || Array.isArray(m)) return target
    let size = target === null ? 0 : Object.keys(target).length
    for (const name of Object.keys(m)) {
      if (name === '__proto__' || name === 'constructor' || name === 'prototype') continue
      if (name.length > MAX_EXTENSION_NAME_LENGTH) continue
      const v = (m as Record<string, unknown>)[name]
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) continue
      const known = target !== null && Object.prototype.hasOwnProperty.call(target, name)
      if (v === 0) {
        if (known) { delete target![name]; size-- }
        continue
      }
      if (!known) {
        if (size >= MAX_PEER_EXTENSIONS && !(ours !== undefined && Object.prototype.hasOwnProperty.call(ours, name))) continue
        size++
      }
      (target ??= {})[name] = v
    }
    return target
  }
}

/**
 * Decode a peer's extended handshake (BEP 10, message 20/0): strictly (protocol/bencode.ts),
 * at most MAX_EXTENDED_HANDSHAKE_LENGTH bytes, and a dictionary. Bytes after the dictionary
 * are ignored, as bencode 2 (and so 3.5.5) does. The payload is copied first: the handshake
 * is kept as `peerExtendedHandshake`, and its strings must not pin the chunk it came in.
 */
export function parseExtendedHandshake (payload: Uint8Array): Record<string, any> | WireError {
  if (payload.length > MAX_EXTENDED_HANDSHAKE_LENGTH) {
    return new WireError(ErrorCodes.BAD_EXTENDED_HANDSHAKE, `extended handshake of ${payload.length} bytes: at most ${MAX_EXTENDED_HANDSHAKE_LENGTH}`)
  }
  if (payload.length === 0 || payload[0] !== 0x64) {
    return new WireError(ErrorCodes.BAD_EXTENDED_HANDSHAKE, 'extended handshake is not a bencoded dictionary')
  }
  const own = Buffer.from(payload)
  try {
    return decodeStrict(own).value as Record<string, any>
  } catch (err) {
    if (err instanceof WireError) return err
    throw err
  }
}
