/**
 * The browser build's `bencode`: the wire only encodes with it (what a peer sends is decoded by
 * src/protocol/bencode.ts), so the page gets an encoder alone, byte for byte bencode 2's
 * `encode()` (test/shims.test.mjs runs both over the same values) in half its size:
 * dictionaries with sorted keys, null and undefined values left out, views and ArrayBuffers as
 * byte strings, Sets as lists, Maps as dictionaries, numbers as bencode 2 truncates them.
 */
import { Buffer } from 'buffer'

const TWO_31 = 0x80000000
let floatWarned = false

function encode (data: unknown): Buffer {
  const out: Uint8Array[] = []
  const text = (s: string): void => { out.push(Buffer.from(Buffer.byteLength(s) + ':' + s)) }
  const number = (n: number): void => {
    // bencode 2's conversion to an integer (no float in bencode), with its one warning
    const val = ((n / TWO_31) << 0) * TWO_31 + ((n % TWO_31) << 0)
    out.push(Buffer.from('i' + val + 'e'))
    if (val !== +n && !floatWarned) {
      floatWarned = true
      console.warn('WARNING: Possible data corruption detected with value "' + n + '":', 'Bencoding only defines support for integers, value was converted to "' + val + '"')
    }
  }
  const list = (items: Iterable<unknown>): void => {
    out.push(Buffer.from('l'))
    for (const item of items) value(item)
    out.push(Buffer.from('e'))
  }
  const dict = (keys: unknown[], get: (key: any) => unknown): void => {
    out.push(Buffer.from('d'))
    for (const key of keys.sort()) {
      const v = get(key)
      if (v == null) continue
      if (Buffer.isBuffer(key)) value(key)
      else text(String(key))
      value(v)
    }
    out.push(Buffer.from('e'))
  }
  const value = (v: any): void => {
    if (v == null) return
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      const bytes = Buffer.isBuffer(v) ? v : ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v)
      out.push(Buffer.from(bytes.length + ':'), bytes)
    } else if (Array.isArray(v) || v instanceof Set) {
      list(v)
    } else if (v instanceof Number || v instanceof Boolean || typeof v === 'number' || typeof v === 'boolean') {
      number(v as number)
    } else if (v instanceof Map) {
      dict([...v.keys()], key => v.get(key))
    } else if (v instanceof String || typeof v === 'string') {
      text(v as string)
    } else if (typeof v === 'object') {
      dict(Object.keys(v), key => v[key])
    }
    // bigint, symbol, function: nothing, as in bencode 2
  }
  value(data)
  return Buffer.concat(out)
}

export default { encode }
