/**
 * bittorrent-protocol: the BitTorrent peer wire protocol as a Duplex stream.
 *
 * The default export is the Wire class (as `require('bittorrent-protocol')` is in 3.5.5);
 * the named exports are for new code. This Node entry is the platform-free one (browser.ts)
 * plus what needs node:crypto: message stream encryption, the allowed-fast set, and the
 * BEP 52 merkle check.
 */
import Wire from './browser.js'
import { installMse } from './mse-wire.js'
import { allowedFastSet } from './state/allowed-fast.js'

installMse(Wire)
Wire._allowedFastSetFn = allowedFastSet

export * from './browser.js'
export { allowedFastSet, DEFAULT_ALLOWED_FAST_K } from './state/allowed-fast.js'
export { verifyHashes, padHash, MERKLE_BLOCK_SIZE } from './merkle.js'
export type { HashesReply } from './merkle.js'

export default Wire
