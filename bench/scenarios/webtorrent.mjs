// Piece transfer over loopback TCP in one process, each wire on its end of the connection through
// the pipes WebTorrent puts between a socket and its wire (bench/webtorrent-pipes.mjs): WebTorrent
// 3's on ours and 5.0.9, WebTorrent 1.9.7's on ours and 3.5.5. 64 x 16 KiB in flight.
import { IMPLS, IH, ID_A, ID_B, noop, transfer, destroyAll } from '../impls.mjs'
import { overWebTorrentPipes } from '../webtorrent-pipes.mjs'

const BLOCK = Buffer.alloc(16384, 0x5a)

async function run (impl, line, scale) {
  const count = Math.max(256, Math.round(32768 * scale)) // 512 MiB at scale 1
  const leecher = IMPLS[impl].create()
  const seeder = IMPLS[impl].create()
  leecher.on('error', noop)
  seeder.on('error', noop)
  const streams = await overWebTorrentPipes(line, leecher, seeder)
  const handshaken = Promise.all([new Promise(resolve => leecher.once('handshake', resolve)), new Promise(resolve => seeder.once('handshake', resolve))])
  seeder.once('handshake', () => seeder.handshake(IH, ID_B))
  leecher.handshake(IH, ID_A)
  await handshaken
  const secs = await transfer(seeder, leecher, BLOCK, count, 64)
  destroyAll(leecher, seeder, ...streams)
  return count * BLOCK.length / secs
}

/** The scenario of WebTorrent `version`'s pipes (`line` 5 or 3), on ours and `anchor`. */
function scenario (line, version, anchor) {
  return {
    name: `wt${line}-transfer`,
    title: `piece transfer over loopback TCP through WebTorrent ${version}'s pipes, 64 × 16 KiB in flight (reference)`,
    unit: 'B/s',
    higherIsBetter: true,
    impls: ['ours', anchor],
    run: (impl, { scale }) => run(impl, line, scale)
  }
}

export const webTorrent3 = scenario(5, '3', 'bt5')
export const webTorrent1 = scenario(3, '1.9.7', 'bt3')
