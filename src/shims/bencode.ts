/**
 * The browser build's `bencode`: the wire only encodes with it (what a peer sends is decoded by
 * src/protocol/bencode.ts), so the page gets the package's encoder without its decoder.
 */
import encode from 'bencode/lib/encode.js'

export default { encode }
