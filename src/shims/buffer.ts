/**
 * The browser build's one binding of the `buffer` package: scripts/build.mjs points our modules'
 * `import { Buffer } from 'buffer'` here. Left to import the external package each, every module
 * of the bundle would keep a `require("buffer")` of its own and read `.Buffer` off it at each use
 * (esbuild keeps an external CommonJS import live): 14 requires and 54 property reads.
 */
import * as buffer from 'buffer'

export const Buffer = buffer.Buffer
