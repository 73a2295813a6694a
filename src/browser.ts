/**
 * Browser entry (picked by bundlers through the `browser` condition / field): the same API
 * as the Node entry without message stream encryption, which needs node:crypto and which
 * WebRTC peers (they encrypt with DTLS) never use, and without `allowedFastSet` / `verifyHashes`
 * (synchronous SHA-1 / SHA-256 from node:crypto). The BEP 52 hash messages themselves are here.
 */
import { Wire } from './wire.js'

export { Wire, HaveAllBitField } from './wire.js'
export { WireOptions, WireType, WireEvents, HandshakeExtensions, PeerExtensions, ExtendedHandshake, RequestRespond, WirePlugins } from './wire.js'
export { WireError, ErrorCodes } from './errors.js'
export { ErrorCode } from './errors.js'
export {
  MessageId, ReservedBits, decodeReserved, DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_PIECES,
  DEFAULT_MAX_PEER_REQUESTS, MAX_BLOCK_LENGTH
} from './protocol/codec.js'
export { ReservedBitName } from './protocol/codec.js'
export { Extension } from './state/extensions.js'
export { ExtensionConstructor, ExtensionHandler } from './state/extensions.js'
export { Request } from './state/requests.js'
export { RequestCallback } from './state/requests.js'
export { MAX_HASHES_PER_REQUEST } from './state/hashes.js'
export { HashRequest, HashRequestInput, HashesMessage, HashesCallback } from './state/hashes.js'
export { EncryptOptions, EncryptResult, EncryptionPolicy } from './mse/types.js'

export default Wire
