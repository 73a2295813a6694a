// Stub of webrtc-polyfill for TCP-only interop runs: its node-datachannel binary cannot be
// downloaded here. simple-peer imports these names; any WebRTC use fails loudly.
function unavailable () { throw new Error('WebRTC is not available in this TCP-only test fixture') }
export class RTCPeerConnection { constructor () { unavailable() } }
export class RTCSessionDescription { constructor () { unavailable() } }
export class RTCIceCandidate { constructor () { unavailable() } }
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
