/**
 * Strict bencode for bytes that come from a peer.
 *
 * Why not `bencode.decode`: it trusts its input. A string length with a minus sign ("d-3:ee")
 * moves its read position backwards, so `decode` loops forever ("l-3:ee" grows a list until
 * the heap is gone); bencode 4.x does the same, and so do the plugins that call it (ut_metadata
 * 3.x / 5.x, ut_pex). Its nesting is unbounded recursion. This decoder reads forwards only,
 * once, in time linear in the input, and refuses what BEP 3 does not allow:
 *   - string lengths of digits only (no sign), within the input;
 *   - integers "i<digits>e" with an optional "-", no leading zero, no "-0", at least one digit;
 *   - dictionary keys that are strings;
 *   - at most `maxDepth` nested lists / dictionaries and `maxItems` values in all.
 * What it accepts decodes exactly as `bencode.decode` (2.x) does: dictionaries are plain objects
 * keyed by the UTF-8 text of their keys (a repeated key: the last one wins), strings are Buffer
 * views into the input, integers are numbers (computed digit by digit as bencode does, so huge
 * ones round the same way). One difference, on purpose: a key "__proto__" becomes an own
 * property, not the object's prototype.
 *
 * Our own output is still encoded with `bencode.encode`: that input is ours, not the peer's.
 */
import { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'

export interface BencodeLimits {
  /** Most lists / dictionaries inside each other (the outermost counts as 1). */
  maxDepth: number
  /** Most values in all (every string, integer, list and dictionary counts, keys too). */
  maxItems: number
}

export const DEFAULT_BENCODE_LIMITS: BencodeLimits = { maxDepth: 32, maxItems: 10000 }

const I = 0x69 // 'i'
const L = 0x6c // 'l'
const D = 0x64 // 'd'
const E = 0x65 // 'e'
const COLON = 0x3a
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39

class Parser {
  pos: number
  items = 0
  constructor (readonly buf: Uint8Array, start: number, readonly end: number, readonly limits: BencodeLimits, readonly build: boolean) {
    this.pos = start
  }

  fail (what: string): never {
    throw new WireError(ErrorCodes.BAD_BENCODE, `malformed bencode at byte ${this.pos}: ${what}`)
  }

  count (): void {
    if (++this.items > this.limits.maxItems) this.fail(`more than ${this.limits.maxItems} values`)
  }

  value (depth: number): unknown {
    if (this.pos >= this.end) this.fail('unexpected end')
    const c = this.buf[this.pos]
    if (c === I) return this.integer()
    if (c === L) return this.list(depth + 1)
    if (c === D) return this.dict(depth + 1)
    if (c >= ZERO && c <= NINE) return this.string()
    return this.fail(`unexpected byte 0x${c.toString(16)}`)
  }

  integer (): number {
    this.count()
    const buf = this.buf
    let p = this.pos + 1
    let sign = 1
    if (p < this.end && buf[p] === MINUS) { sign = -1; p++ }
    const first = p
    let n = 0
    while (p < this.end && buf[p] >= ZERO && buf[p] <= NINE) { n = n * 10 + (buf[p] - ZERO); p++ }
    if (p === first) this.fail('integer without digits')
    if (p >= this.end || buf[p] !== E) this.fail('integer not ended by "e"')
    if (buf[first] === ZERO && (p - first > 1 || sign === -1)) this.fail('integer with a leading zero or "-0"')
    this.pos = p + 1
    return n * sign
  }

  /** Start and end of the string's bytes. */
  stringBounds (): number {
    this.count()
    const buf = this.buf
    let p = this.pos
    let n = 0
    const first = p
    while (p < this.end && buf[p] >= ZERO && buf[p] <= NINE) {
      n = n * 10 + (buf[p] - ZERO)
      p++
      // a length longer than the input is refused as soon as it is one
      if (n > this.end) this.fail('string longer than the input')
    }
    if (p === first) this.fail('string length without digits')
    if (p >= this.end || buf[p] !== COLON) this.fail('string length not ended by ":"')
    const start = p + 1
    if (start + n > this.end) this.fail('string longer than the input')
    this.pos = start + n
    return start
  }

  string (): Buffer | null {
    const start = this.stringBounds()
    if (!this.build) return null
    const b = this.buf
    return Buffer.from(b.buffer, b.byteOffset + start, this.pos - start)
  }

  /** Step into a list or dictionary `depth` deep (its first byte counts as a value). */
  open (depth: number): void {
    if (depth > this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth}`)
    this.count()
    this.pos++
  }

  list (depth: number): unknown[] | null {
    this.open(depth)
    const out: unknown[] | null = this.build ? [] : null
    for (;;) {
      if (this.pos >= this.end) this.fail('list not ended by "e"')
      if (this.buf[this.pos] === E) { this.pos++; return out }
      const v = this.value(depth)
      if (out !== null) out.push(v)
    }
  }

  dict (depth: number): Record<string, unknown> | null {
    this.open(depth)
    const out: Record<string, unknown> | null = this.build ? {} : null
    const buf = this.buf
    for (;;) {
      if (this.pos >= this.end) this.fail('dictionary not ended by "e"')
      const c = buf[this.pos]
      if (c === E) { this.pos++; return out }
      if (c < ZERO || c > NINE) this.fail('dictionary key is not a string')
      const keyStart = this.stringBounds()
      const keyEnd = this.pos
      const v = this.value(depth)
      if (out !== null) {
        const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, keyEnd - keyStart).toString()
        if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
        else out[key] = v
      }
    }
  }
}

export interface Decoded {
  value: unknown
  /** Where the value ended: bytes from here to the end were not part of it. */
  end: number
}

/**
 * Decode one value from buf[start..end). Throws a WireError (ERR_BT_BAD_BENCODE) on
 * malformed input; bytes after the value are left to the caller (see `Decoded.end`).
 */
export function decodeStrict (buf: Uint8Array, start = 0, end = buf.length, limits: BencodeLimits = DEFAULT_BENCODE_LIMITS): Decoded {
  const p = new Parser(buf, start, end, limits, true)
  const value = p.value(0)
  return { value, end: p.pos }
}

/**
 * Check that buf[start..end) begins with one well-formed dictionary, building nothing.
 * Returns where it ended, or the WireError that says why it is malformed.
 */
export function checkDictionary (buf: Uint8Array, start = 0, end = buf.length, limits: BencodeLimits = DEFAULT_BENCODE_LIMITS): number | WireError {
  if (start >= end || buf[start] !== D) return new WireError(ErrorCodes.BAD_BENCODE, 'expected a bencoded dictionary')
  const p = new Parser(buf, start, end, limits, false)
  try {
    p.value(0)
  } catch (err) {
    if (err instanceof WireError) return err
    throw err
  }
  return p.pos
}
