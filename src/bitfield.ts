/**
 * The `bitfield` package's class. Its CommonJS build exports it as `.default`, which
 * a CommonJS bundle of ours sees as the module object; take the class either way.
 */
import BitFieldImport from 'bitfield'

type BitFieldClass = typeof BitFieldImport
export const BitField: BitFieldClass = (BitFieldImport as unknown as { default?: BitFieldClass }).default ?? BitFieldImport
export type BitField = BitFieldImport

/** `peerPieces` after the peer sent have-all (BEP 6). */
export class HaveAllBitField {
  buffer = new Uint8Array(0)
  get length (): number { return Infinity }
  get (_index: number): boolean { return true }
  set (_index: number, _value?: boolean): void {}
}
