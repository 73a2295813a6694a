/**
 * The BEP 10 extension registry: `wire.use(Extension)` and the id <-> name maps.
 *
 * Our ids start at 1 in `use()` order. The peer's ids come from its extended
 * handshake `m` dictionary; entries that are not integers in 0..255 are ignored,
 * and 0 removes a mapping (BEP 10: "disabled").
 */
import { Buffer } from 'buffer'

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
    if (Object.prototype.hasOwnProperty.call(this.handlers, name)) {
      throw new Error(`extension "${name}" is already in use`)
    }
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
   * Apply a peer's `m` dictionary to its name -> id map, skipping entries that are not ids.
   * Returns the map, created only when there is something to put in it.
   */
  static applyPeerMapping (target: Record<string, number> | null, m: unknown): Record<string, number> | null {
    if (m === null || typeof m !== 'object' || ArrayBuffer.isView(m) || Array.isArray(m)) return target
    for (const name of Object.keys(m)) {
      if (name === '__proto__' || name === 'constructor' || name === 'prototype') continue
      const v = (m as Record<string, unknown>)[name]
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) continue
      if (v === 0) { if (target !== null) delete target[name] } else (target ??= {})[name] = v
    }
    return target
  }
}
