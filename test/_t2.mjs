import utPex3 from 'ut_pex'
import { tcpPair, event, PEER_A, PEER_B, INFO_HASH } from '/work/main/test/helpers.mjs'
setTimeout(()=>{}, 3000)
const { a, b } = await tcpPair(wire => wire.use(utPex3()))
console.log('paired')
b.once('handshake', () => b.handshake(INFO_HASH, PEER_B))
b.on('extended', (n, p) => console.log('b ext', n, p))
a.on('extended', (n, p) => console.log('a ext', n, p))
a.on('error', e => console.log('a err', e)); b.on('error', e => console.log('b err', e))
a.on('close', () => console.log('a close')); b.on('close', () => console.log('b close'))
a.handshake(INFO_HASH, PEER_A)
setTimeout(() => { a.ut_pex.addPeer('127.0.0.2:6881'); a.ut_pex._sendMessage() }, 200)
