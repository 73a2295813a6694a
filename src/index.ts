/**
 * bittorrent-protocol: the BitTorrent peer wire protocol as a Duplex stream.
 *
 * The default export is the Wire class (as `require('bittorrent-protocol')` is in 3.5.5);
 * the named exports are for new code.
 */
import { Wire } from './wire.js'
import { installMse } from './mse-wire.js'
import { allowedFastSet } from './allowed-fast.js'

installMse(Wire)
Wire._allowedFastSetFn = allowedFastSet

export { Wire, HaveAllBitField } from './wire.js'
export type { WireOptions, WireType, WireEvents, HandshakeExtensions, PeerExtensions } from './wire.js'
export { WireError, ErrorCodes } from './errors.js'
export type { ErrorCode } from './errors.js'
export {
  MessageId, ReservedBits, decodeReserved, DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_PIECES,
  DEFAULT_MAX_PEER_REQUESTS, MAX_BLOCK_LENGTH
} from './codec.js'
export type { ReservedBitName } from './codec.js'
export type { ExtensionConstructor, ExtensionHandler } from './extensions.js'
export { Request } from './requests.js'
export { allowedFastSet, DEFAULT_ALLOWED_FAST_K } from './allowed-fast.js'
export { verifyHashes, padHash, MERKLE_BLOCK_SIZE } from './merkle.js'
export type { HashesReply } from './merkle.js'
export { MAX_HASHES_PER_REQUEST } from './hashes.js'
export type { HashRequest, HashRequestInput, HashesMessage, HashesCallback } from './hashes.js'
export type { EncryptOptions, EncryptResult, EncryptionPolicy } from './mse-wire.js'

export default Wire
