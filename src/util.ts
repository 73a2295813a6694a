import { Buffer } from 'buffer'

/** A Buffer view of bytes given as Buffer, Uint8Array or a hex string. */
export function toBuffer (value: Uint8Array | string, what: string): Buffer {
  if (typeof value === 'string') {
    if (/^(?:[0-9a-fA-F]{2})*$/.test(value)) return Buffer.from(value, 'hex')
  } else if (Buffer.isBuffer(value)) return value
  else if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`${what} must be a hex string, Buffer or Uint8Array`)
}

export function isUint32 (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

/** Throw a RangeError unless `n` is an integer 0..2^32-1 (what a u32 field of a message can hold). */
export function checkUint32 (n: unknown, what: string): void {
  if (!isUint32(n)) throw new RangeError(`${what} must be an integer 0..2^32-1`)
}

/** An IPv4 address (dotted quad, IPv4-mapped IPv6, 4 bytes or a u32) as a u32; null for other IPv6. */
export function ipv4ToUint32 (ip: string | Uint8Array | number): number | null {
  if (typeof ip === 'number') {
    if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) throw new RangeError('ip as a number must be a u32')
    return ip
  }
  if (ip instanceof Uint8Array) {
    if (ip.length === 4) return ((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0
    if (ip.length === 16) {
      const mapped = ip.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff))
      return mapped ? ipv4ToUint32(ip.subarray(12)) : null
    }
    throw new RangeError('ip must be 4 or 16 bytes')
  }
  if (typeof ip !== 'string') throw new TypeError('ip must be a string, bytes or a number')
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(ip)
  if (m !== null) {
    const parts = m.slice(1).map(Number)
    if (parts.some(p => p > 255)) throw new RangeError(`not an IPv4 address: ${ip}`)
    return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
  }
  if (ip.includes(':')) return null
  throw new RangeError(`not an IP address: ${ip}`)
}
