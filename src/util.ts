import { Buffer } from 'buffer'

/** A Buffer view of bytes given as Buffer, Uint8Array or a hex string. */
export function toBuffer (value: Uint8Array | string, what: string): Buffer {
  if (typeof value === 'string') {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(value)) throw new TypeError(`${what} must be a hex string, Buffer or Uint8Array`)
    return Buffer.from(value, 'hex')
  }
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`${what} must be a hex string, Buffer or Uint8Array`)
}

export function isUint32 (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}
