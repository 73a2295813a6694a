/**
 * The `bitfield` package's class. Its CommonJS build exports it as `.default`, which
 * a CommonJS bundle of ours sees as the module object; take the class either way.
 */
import BitFieldImport from 'bitfield'

type BitFieldClass = typeof BitFieldImport
export const BitField: BitFieldClass = (BitFieldImport as unknown as { default?: BitFieldClass }).default ?? BitFieldImport
export type BitField = BitFieldImport

/**
 * Heap a piece index kept aside costs (an entry of a Set of small integers, with the table's
 * slack): the exchange rate between the two records in `PeerPieces`.
 */
const FAR_INDEX_BYTES = 32

/**
 * Bits that grow at once to cover any `have` (16 KiB: 131,072 pieces, a torrent of 32 GiB in
 * 256 KiB pieces), as the `bitfield` package and both originals grow them. Applications read
 * `buffer` as covering every piece the peer announced: WebTorrent takes a peer whose bits are
 * empty (what 5.0.9 gives after have-all) for a seeder, and chokes it; a `have` past this grows
 * the bits this far, so that they are never empty once the peer announced a piece.
 */
const GROW_AT_ONCE_BYTES = 16 * 1024

/**
 * `peerPieces`: what the peer has, a BitField whose memory grows with what the peer proves,
 * not with the indices it names. Its bitfield message costs it a byte per 8 pieces, and the
 * bits grow from it as the `bitfield` package grows them (doubling, up to `maxPieces`). A `have`
 * costs the peer 9 bytes whatever index it names (BEP 3): one within GROW_AT_ONCE_BYTES of bits
 * grows them to cover it, as the package does; one past that (up to the last index of the largest
 * torrent: 256 KiB of bits for 9 bytes) grows them as far as GROW_AT_ONCE_BYTES and is kept aside,
 * in a Set, until the Set costs as much as growing the bits to cover its highest index would add:
 * then they grow. `get` reads both; `buffer` (and `length`, `forEach`, ...) holds the bits, and so
 * the indices kept aside only once the bits grew to cover them (a peer announcing its pieces with
 * `have`s after have-none, as honest ones do, has them in the bits long before it holds every
 * piece).
 */
export class PeerPieces extends BitField {
  /** Indices past the bits announced by `have`, while they cost less than the bits up to them. */
  private _far: Set<number> | null = null
  /** The highest index in `_far`. */
  private _top = 0

  constructor (data: number | Uint8Array, private readonly _maxPieces: number) {
    super(data, { grow: _maxPieces })
  }

  override get (index: number): boolean {
    return this._far !== null && (index >> 3) >= this.buffer.length ? this._far.has(index) : super.get(index)
  }

  override set (index: number, value = true): void {
    // within the bits or what they grow to at once; or past maxPieces, ignored as the bitfield
    // package ignores a bit past its `grow`
    const byte = index >> 3
    if (byte < this.buffer.length || byte < GROW_AT_ONCE_BYTES || index >= this._maxPieces) return super.set(index, value)
    if (!value) { this._far?.delete(index); return }
    // the bits grow as far as they grow at once all the same: never empty once the peer announced
    // a piece (empty bits are what WebTorrent takes for have-all)
    if (this.buffer.length < GROW_AT_ONCE_BYTES) this._growTo(GROW_AT_ONCE_BYTES)
    const far = (this._far ??= new Set())
    far.add(index)
    if (index > this._top) this._top = index
    // the bits would grow to cover them, doubling as the bitfield package grows; they do once the
    // Set costs as much as what they would add (the doubling included: a few haves, each doubling
    // the bits, would otherwise buy 256 KiB for 36 bytes)
    const need = (this._top >> 3) + 1
    const grown = Math.max(need, Math.min(2 * this.buffer.length, (this._maxPieces + 7) >> 3))
    if (far.size * FAR_INDEX_BYTES < grown - this.buffer.length) return
    this._growTo(grown)
    for (const i of far) this.buffer[i >> 3] |= 128 >> (i & 7)
    this._far = null
    this._top = 0
  }

  private _growTo (bytes: number): void {
    const grown = new Uint8Array(bytes)
    grown.set(this.buffer)
    this.buffer = grown
  }
}

/** `peerPieces` after the peer sent have-all (BEP 6). */
export class HaveAllBitField {
  buffer = new Uint8Array(0)
  get length (): number { return Infinity }
  get (_index: number): boolean { return true }
  set (_index: number, _value?: boolean): void {}
}
