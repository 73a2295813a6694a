/**
 * The `bitfield` package's class. Its CommonJS build exports it as `.default`, which
 * a CommonJS bundle of ours sees as the module object; take the class either way.
 */
import BitFieldImport from 'bitfield'

type BitFieldClass = typeof BitFieldImport
export const BitField: BitFieldClass = (BitFieldImport as unknown as { default?: BitFieldClass }).default ?? BitFieldImport
export type BitField = BitFieldImport
