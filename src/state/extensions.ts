/**
 * BEP 10, the extension protocol, for one wire: our extensions (`wire.use(Extension)`) and their
 * ids, the extended handshake both ways, and the peer's extended messages on their way to our
 * plugins or to the 'extended' event.
 *
 * Our ids start at 1 in `use()` order. The peer's ids come from its extended
 * handshake `m` dictionary; entries that are not integers in 0..255 are ignored,
 * and 0 removes a mapping (BEP 10: "disabled").
 *
 * Extensions are a trust boundary: they run on the peer's bytes, and a plugin that throws
 * (ut_metadata answering a peer that never mapped ut_metadata, say) must fail its wire, not
 * the process. Every call into a handler goes through `guard`, which turns a throw into a
 * coded error (ERR_BT_EXTENSION_FAILED, naming the extension) for the wire to fail with.
 *
 * The send watermark (io/output.ts) holds plugins back too: a ut_metadata request answered at
 * once adds 16 KiB to our output. While the output is over the watermark the peer's messages for
 * our plugins, and its re-sent extended handshakes (each one can make ut_metadata ask again for
 * every piece), wait here, in order, and go out from `release` (the wire's `_read`) once the
 * connection has read the output down. When a chunk from the connection is done with
 * HELD_EXTENDED_MAX or more waiting, `holdWrite` keeps the wire's `_write` callback, so the wire
 * reads nothing more and TCP holds the peer back. The chunk itself is read to its end first: up
 * to one chunk's worth more may wait (a socket reads at most 64 KiB at a time). From our own
 * end() on, nothing is held back any more (see `endHolding`).
 *
 * The wire makes this state on first use (the peer's extended handshake or message, an extension
 * getter, `use()`). It keeps no link to the wire: calls that may send, fail or emit are given the
 * wire's host (io/host.ts).
 */
import { Buffer } from 'buffer'
import bencode from 'bencode' // for what we send; the peer's bencode is decoded by protocol/bencode.ts
import { ErrorCodes, WireError } from '../errors.js'
import { checkDictionary, decodeStrict, type BencodeLimits } from '../protocol/bencode.js'
import type { WireHost } from '../io/host.js'
import type { Wire } from '../wire.js'
import type { PeerExtensions, ExtendedHandshake } from '../types.js'
import { pexOverLimit, MAX_PEX_CONTACTS } from './pex.js'

/** Largest extended handshake (its bencoded payload) a peer may send; honest ones are well under 1 KiB. */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024
/**
 * Bounds of the peer's extended handshake as bencode. An honest one has a few dozen values
 * (libtorrent's: its `m` of a dozen names and ten other keys, ~50 with the keys); the handshake
 * is kept as `peerExtendedHandshake` for the wire's life, each string a Buffer of its own (about
 * 100 bytes of heap even when empty), so the count of values bounds what a wire keeps: a
 * handshake of 9,996 empty strings in 20 KB would keep 1 MiB.
 */
export const EXTENDED_HANDSHAKE_LIMITS: BencodeLimits = { maxDepth: 8, maxItems: 256 }
/**
 * Extended handshakes a peer may send over a wire's life. BEP 10 lets a peer send it again to
 * update it; honest ones send it once, or a few times. Each one reaches every plugin, and
 * ut_metadata, told a `metadata_size` again, allocates the metadata anew and asks for every
 * piece again: past this many the wire fails. With MAX_EXTENDED_HANDSHAKE_LENGTH this also bounds
 * what we decode for a peer: 16 × 64 KiB, 1 MiB over the wire's life.
 */
export const MAX_EXTENDED_HANDSHAKES = 16
/**
 * The largest `metadata_size` (BEP 9) handed to plugins: libtorrent's default `max_metadata_size`
 * (it refuses info dictionaries larger). A larger claim is taken out of the handshake before
 * plugins, the 'extended' event or `peerExtendedHandshake` see it, as libtorrent's ut_metadata
 * ignores a claim it will not allocate for.
 */
export const MAX_METADATA_SIZE = 3 * 1024 * 10240
/** Most names kept in `peerExtendedMapping`: the names we use are always kept, others up to this many in all. */
export const MAX_PEER_EXTENSIONS = 128
/** Longest extension name kept (libtorrent's names are under 20 bytes). */
export const MAX_EXTENSION_NAME_LENGTH = 64
/**
 * @internal Extended messages for our plugins held while the output is over the send watermark;
 * at this many, the wire stops reading from the connection until they are handed out.
 */
export const HELD_EXTENDED_MAX = 32

/**
 * Extensions whose messages start with a bencoded dictionary, which their plugins decode with
 * `bencode.decode` (unsafe on hostile input: see protocol/bencode.ts). The head of each such
 * message is checked strictly before the plugin sees it.
 */
const BENCODED_EXTENSIONS: ReadonlySet<string> = new Set(['ut_metadata', 'ut_pex'])

/** What `wire.use()` makes of an extension class: its hooks, each optional. */
export interface ExtensionHandler {
  readonly name?: string
  /** Our BitTorrent handshake went out; `extensions` are the peer's reserved bits. */
  onHandshake?(infoHash: string, peerId: string, extensions: PeerExtensions): void
  /** The peer's extended handshake, when it advertises this extension's name in `m`. */
  onExtendedHandshake?(handshake: ExtendedHandshake): void
  /** A message the peer sent to this extension. */
  onMessage?(buf: Buffer): void
}

/**
 * An extension class (or constructor function) for `wire.use()`: `new Extension(wire)`, with its
 * BEP 10 name on the prototype (`use()` reads it before making the handler).
 */
export interface ExtensionConstructor<T extends ExtensionHandler = ExtensionHandler> {
  new (wire: Wire): T
  prototype: { readonly name: string }
}

/**
 * A base class for extensions written in TypeScript. The name must live on the prototype, as a
 * getter: `get name () { return 'ut_example' }`. A `name` instance field does not compile
 * (TS2610), since `use()` could not see it.
 */
export abstract class Extension implements ExtensionHandler {
  /** The wire this handler was made for. */
  readonly wire: Wire
  constructor (wire: Wire) { this.wire = wire }
  /** BEP 10 name: override with a getter. (Empty here: `use()` refuses a class without one.) */
  get name (): string { return '' }
  onHandshake? (infoHash: string, peerId: string, extensions: PeerExtensions): void
  onExtendedHandshake? (handshake: ExtendedHandshake): void
  onMessage? (buf: Buffer): void
}

function noop (): void {}
/** The hooks an extension may leave out (they become no-ops). */
const HOOKS = ['onHandshake', 'onExtendedHandshake', 'onMessage'] as const

/**
 * @internal Call `fn` on the handler of extension `name`; a throw becomes the WireError returned (null
 * when it ran cleanly). Nothing an extension throws leaves here.
 */
export function guard (name: string, fn: () => void): WireError | null {
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
 * @internal Apply a peer's `m` dictionary to its name -> id map, skipping entries that are not ids.
 * Returns the map, created only when there is something to put in it. At most
 * MAX_PEER_EXTENSIONS names are kept: past that, names we do not use (`ours`) are not added
 * (changes and removals of names already there still apply, as BEP 10's additive rule says).
 */
export function applyPeerMapping (target: Record<string, number> | null, m: unknown, ours?: Record<string, unknown>): Record<string, number> | null {
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

/**
 * Decode a peer's extended handshake (BEP 10, message 20/0): strictly (protocol/bencode.ts),
 * at most MAX_EXTENDED_HANDSHAKE_LENGTH bytes and EXTENDED_HANDSHAKE_LIMITS values, and a
 * dictionary. Bytes after the dictionary are ignored, as bencode 2 (and so 3.5.5) does. The
 * payload is copied first: the handshake is kept as `peerExtendedHandshake`, and its strings
 * must not pin the chunk it came in. A `metadata_size` over MAX_METADATA_SIZE is taken out.
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
    const handshake = decodeStrict(own, 0, own.length, EXTENDED_HANDSHAKE_LIMITS).value as Record<string, any>
    if (handshake.metadata_size > MAX_METADATA_SIZE) delete handshake.metadata_size
    return handshake
  } catch (err) {
    if (err instanceof WireError) return err
    throw err
  }
}

/** @internal The name of an extension class (`Extension.prototype.name`): `use()` refuses a class without one. */
export function extensionName (Extension: ExtensionConstructor): string {
  const name = Extension?.prototype?.name
  if (!name) throw new Error('Extension class requires a "name" property on the prototype')
  return name
}

/**
 * @internal The id to send extension `ext` under: for a name, the peer's id for it (from its extended
 * handshake); a number is the id itself. Throws when there is none in 0..255.
 */
export function extendedId (state: Extensions | null, ext: string | number): number {
  let id: number | undefined
  if (typeof ext === 'string') id = state?._peerMapping?.[ext]
  else if (typeof ext === 'number') id = ext
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 255) {
    throw new Error(`Unrecognized extension: ${String(ext)}`)
  }
  return id
}

/** @internal The payload of an extended message we send: bytes as they are, anything else bencoded. */
export function extendedPayload (obj: unknown): Uint8Array {
  return obj instanceof Uint8Array ? obj : bencode.encode(obj)
}

/**
 * @internal Our extended handshake (message 20/0): the extra fields (`wire.extendedHandshake`), our
 * `m`, and `reqq` (BEP 10: how many requests we hold without dropping any), `maxPeerRequests`
 * unless the application set one. Peers that pipeline by it (libtorrent, Transmission, WebTorrent)
 * then never send requests past our cap, which would be dropped (rejected under BEP 6): a
 * WebTorrent leecher on a fast link keeps thousands in flight, and waits its 30 s piece timeout
 * for each one dropped or rejected.
 */
export function ourExtendedHandshake (state: Extensions | null, reqq: number): Uint8Array {
  const msg: Record<string, unknown> = Object.assign({}, state?._fields)
  msg.m = state === null ? {} : state.m()
  if (msg.reqq === undefined) msg.reqq = reqq
  return bencode.encode(msg)
}

/**
 * @internal One wire's BEP 10 state: our extensions (`use()`) and their ids, the extra fields of
 * our extended handshake, the peer's side (its name -> id map, its extended handshake and the
 * budget for them), and the peer's messages for our plugins that wait for the output.
 */
export class Extensions {
  /** Our id -> name (`wire.extendedMapping`). */
  readonly mapping: Record<number, string> = {}
  /** Name -> handler. */
  readonly handlers: Record<string, ExtensionHandler> = {}
  private _next = 1
  /** Extra fields of the extended handshake we send (`wire.extendedHandshake`; "m" is ours). */
  _fields: Record<string, any> | null = null
  /** The peer's name -> id (`wire.peerExtendedMapping`), made when there is something in it. */
  _peerMapping: Record<string, number> | null = null
  /** The peer's extended handshake, decoded (`wire.peerExtendedHandshake`). */
  _peerHandshake: Record<string, any> | null = null
  /** Extended handshakes the peer has sent (see MAX_EXTENDED_HANDSHAKES). */
  _peerHandshakes = 0
  /**
   * The peer's messages for our plugins, and its extended handshakes (name null), waiting for
   * the output to drain (null: none).
   */
  private _held: Array<[name: string, payload: Buffer] | [name: null, handshake: Record<string, any>]> | null = null
  /** The wire's `_write` callback, kept while HELD_EXTENDED_MAX messages wait. */
  private _heldWrite: (() => void) | null = null
  /** Our end() or destroy() came: nothing is held back any more (`endHolding`). */
  private _ending = false

  /** Add `handler` (just made by `new Extension(wire)`) as extension `name`; its missing hooks become no-ops. */
  use (name: string, handler: ExtensionHandler): ExtensionHandler {
    for (const hook of HOOKS) if (typeof handler[hook] !== 'function') handler[hook] = noop
    this.add(name, handler)
    return handler
  }

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
   * The peer's BitTorrent handshake arrived (and the 'handshake' event ran): each plugin's
   * onHandshake, guarded. False when a plugin failed the wire or it was shut down meanwhile.
   */
  onHandshake (host: WireHost, infoHash: string, peerId: string, extensions: unknown): boolean {
    return this._callPlugins(host, false, h => h.onHandshake!(infoHash, peerId, extensions as PeerExtensions))
  }

  /** An extended message (BEP 10, id 20) from the peer: `id` is its first byte, `payload` the rest (a view of the peer's chunk). */
  onMessage (host: WireHost, id: number, payload: Buffer): void {
    if (id === 0) this._onPeerHandshake(host, payload)
    else this._onExtensionMessage(host, id, payload)
  }

  /** Messages for our plugins wait for the output to drain. */
  get holding (): boolean {
    return this._held !== null
  }

  /** The output drained (the wire's `_read`): hand the held messages to their plugins, in order, while it stays under the watermark. */
  release (host: WireHost): void {
    const held = this._held
    if (held === null) return
    let i = 0
    while (i < held.length && !host.finished && host.outputOpen) {
      const entry = held[i++]
      if (entry[0] === null) this._takeHandshake(host, entry[1])
      else this._deliver(host, entry[0], entry[1])
    }
    if (host.finished) return
    held.splice(0, i)
    if (held.length === 0) this._held = null
    if (held.length < HELD_EXTENDED_MAX) this._letWriteGo()
  }

  /** HELD_EXTENDED_MAX messages are held: the wire's next write should be held back. */
  get mustHoldWrite (): boolean {
    return this._held !== null && this._held.length >= HELD_EXTENDED_MAX && !this._ending
  }

  /**
   * The wire's `_write` is done with a chunk: at HELD_EXTENDED_MAX held messages its callback
   * is kept (true) and called by `release` or `shutdown`, so the connection is not read meanwhile.
   */
  holdWrite (cb: () => void): boolean {
    if (!this.mustHoldWrite) return false
    this._heldWrite = cb
    return true
  }

  /** The wire shut down: drop the held messages, let a held write go. */
  shutdown (): void {
    this._held = null
    this._letWriteGo()
  }

  /**
   * Our end() or destroy(): the wire reads on only until it finishes, so the connection is held
   * back no more (a held write is let go; otherwise 'finish' would wait for a peer that may
   * never read). Messages for plugins still wait for the output, and are dropped at shutdown.
   */
  endHolding (): void {
    this._ending = true
    this._letWriteGo()
  }

  private _onPeerHandshake (host: WireHost, payload: Buffer): void {
    if (++this._peerHandshakes > MAX_EXTENDED_HANDSHAKES) {
      return host.fail(new WireError(ErrorCodes.BAD_EXTENDED_HANDSHAKE, `more than ${MAX_EXTENDED_HANDSHAKES} extended handshakes`))
    }
    const handshake = parseExtendedHandshake(payload)
    if (handshake instanceof WireError) return host.fail(handshake)
    // over the watermark, or behind messages that wait, a handshake waits its turn when it may
    // make plugins send
    if (this._next > 1 && (this._held !== null || !host.outputOpen)) {
      (this._held ??= []).push([null, handshake])
      return
    }
    this._takeHandshake(host, handshake)
  }

  /** A well-formed extended handshake from the peer takes effect: its map, `peerExtendedHandshake`, our plugins, the event. */
  private _takeHandshake (host: WireHost, handshake: Record<string, any>): void {
    this._peerHandshake = handshake
    this._peerMapping = applyPeerMapping(this._peerMapping, handshake.m, this.handlers)
    if (this._callPlugins(host, true, h => h.onExtendedHandshake!(handshake))) host.emit('extended', 'handshake', handshake)
  }

  private _onExtensionMessage (host: WireHost, id: number, payload: Buffer): void {
    const name = this.mapping[id]
    // not one of our ids: the event names the id; extendedMapping is public, so a name may be
    // mapped without a handler (the application handles the 'extended' event itself)
    if (name === undefined || this.handlers[name] === undefined) {
      host.emit('extended', name ?? id, payload)
      return
    }
    // over the send watermark, plugins (ut_metadata answering with a block per request) wait
    // for the output to drain; the message is copied, as it is a view of the peer's chunk
    if (this._held !== null || !host.outputOpen) {
      (this._held ??= []).push([name, Buffer.from(payload)])
      return
    }
    this._deliver(host, name, payload)
  }

  /** Let the wire's kept `_write` callback go (the connection is read again). */
  private _letWriteGo (): void {
    const cb = this._heldWrite
    if (cb !== null) { this._heldWrite = null; cb() }
  }

  /**
   * Call `fn` on each plugin (only those the peer announced, when `announced`), guarded. False
   * when one failed the wire or the wire shut down meanwhile.
   */
  private _callPlugins (host: WireHost, announced: boolean, fn: (handler: ExtensionHandler) => void): boolean {
    const handlers = this.handlers
    for (const name in handlers) {
      if (announced && !this._peerMapping?.[name]) continue
      const err = guard(name, () => fn(handlers[name]))
      if (err !== null) { host.fail(err); return false }
      if (host.finished) return false
    }
    return true
  }

  /**
   * Hand a peer's message for our extension `name` to its handler, guarded. BEP 10: a peer
   * sends a message of one of our extensions only once it has announced that extension itself
   * (libtorrent drops it otherwise; a plugin answering it would have no id to answer to). For
   * the bencoded extensions the message must start with a well-formed dictionary (else
   * ERR_BT_BAD_BENCODE) before the plugin's own decoder sees it; a ut_pex message listing more
   * contacts than PEX peers send is dropped (state/pex.ts).
   */
  private _deliver (host: WireHost, name: string, payload: Buffer): void {
    if (!this._peerMapping?.[name]) {
      host.debug('dropping %s message: the peer has not announced %s', name, name)
      return
    }
    const end = BENCODED_EXTENSIONS.has(name) ? checkDictionary(payload) : 0
    if (name === 'ut_pex' && typeof end === 'number' && pexOverLimit(payload, end)) {
      host.debug('dropping a ut_pex message of more than %d contacts', MAX_PEX_CONTACTS)
      return
    }
    const err = typeof end !== 'number' ? end : guard(name, () => this.handlers[name].onMessage!(payload))
    if (err !== null) return host.fail(err)
    if (host.finished) return
    host.emit('extended', name, payload)
  }
}
