/**
 * bittorrent-protocol: the BitTorrent peer wire protocol as a Duplex stream.
 *
 * The default export is the Wire class (as `require('bittorrent-protocol')` is in 3.5.5);
 * the named exports are for new code.
 */
import { Wire } from './wire.js'
import { installMse } from './mse-wire.js'

installMse(Wire)

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
export type { EncryptOptions, EncryptResult, EncryptionPolicy } from './mse-wire.js'

export default Wire
