// Encrypted (MSE, RC4) piece transfer between two piped wires, 64 x 16 KiB in flight:
// ours against bittorrent-protocol 5.0.9 (3.5.5's MSE busy-waits for its ciphers and is
// left out). The MSE exchange itself is not timed.
import Ours from '../../dist/index.mjs'
import Bt5 from 'bt5'
import { IH, ID_A, ID_B, transfer, destroyAll } from '../impls.mjs'

const BLOCK = Buffer.alloc(16384, 0x5a)

async function oursPair () {
  const a = new Ours({ type: 'tcpOutgoing' })
  const b = new Ours({ type: 'tcpIncoming' })
  a.on('error', () => {}); b.on('error', () => {})
  a.pipe(b).pipe(a)
  const [ra, rb] = await Promise.all([a.encrypt({ infoHash: IH, policy: 'require' }), b.encrypt({ infoHashes: [IH], policy: 'require' })])
  if (!ra.encrypted || !rb.encrypted) throw new Error('ours: not encrypted')
  return { a, b }
}

async function bt5Pair () {
  const a = new Bt5('tcpOutgoing', 2)
  const b = new Bt5('tcpIncoming', 2)
  a.on('error', () => {}); b.on('error', () => {})
  a.pipe(b).pipe(a)
  b.on('crypto-infohash', () => b.setInfoHash(IH))
  const done = Promise.all([new Promise(resolve => a.once('crypto-handshake', resolve)), new Promise(resolve => b.once('crypto-handshake', resolve))])
  a.startEncryption(IH)
  await done
  if (a._encryptionMethod !== 2 || b._encryptionMethod !== 2) throw new Error('5.0.9: not encrypted')
  return { a, b }
}

export default {
  name: 'encrypted',
  title: 'encrypted (MSE RC4) piece transfer, piped wires',
  unit: 'B/s',
  higherIsBetter: true,
  target: ['>=', 1.5],
  impls: ['ours', 'bt5'],
  async run (impl, { scale }) {
    const count = Math.max(128, Math.round(4096 * scale)) // 64 MiB at scale 1
    const { a, b } = impl === 'ours' ? await oursPair() : await bt5Pair()
    const ready = Promise.all([new Promise(resolve => a.once('handshake', resolve)), new Promise(resolve => b.once('handshake', resolve))])
    a.handshake(IH, ID_A)
    b.handshake(IH, ID_B)
    await ready
    const secs = await transfer(a, b, BLOCK, count, 64)
    destroyAll(a, b)
    return count * BLOCK.length / secs
  }
}
