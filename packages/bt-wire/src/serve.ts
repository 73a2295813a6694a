/**
 * Serve a whole torrent to one peer on one wire: answer its handshake (fast and extended),
 * ut_metadata with our info dictionary, have-all (or a full bitfield), unchoke when it is
 * interested, and answer requests from the store. Requests outside the torrent are refused.
 */
import type { Wire } from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import { type TorrentMeta, type Store, pieceSize } from './torrent.js'
import { CLIENT_NAME } from './util.js'

type MetaLike = Pick<TorrentMeta, 'infoHash' | 'pieceHashes' | 'pieceLength' | 'lastPieceLength'> & { infoBuffer?: Buffer | null }

export interface ServeOptions {
  peerId: Buffer
  fast?: boolean
  /** Serve the info dictionary with ut_metadata (needs meta.infoBuffer). Default true. */
  metadata?: boolean
  /** Called with the reason when a handshake names another torrent. */
  onWrongTorrent?: (infoHash: string) => void
}

/** A full bitfield of n pieces (spare bits at the end clear). */
export function fullBitfield (n: number): Buffer {
  const buf = Buffer.alloc(Math.ceil(n / 8), 0xff)
  if (n % 8 !== 0) buf[buf.length - 1] = (0xff << (8 - (n % 8))) & 0xff
  return buf
}

export function serve (wire: Wire, meta: MetaLike, store: Store, opts: ServeOptions): void {
  const total = meta.pieceHashes.length
  if (opts.metadata !== false && meta.infoBuffer) wire.use(utMetadata(meta.infoBuffer))
  wire.extendedHandshake.v = CLIENT_NAME
  wire.setKeepAlive(true)

  wire.once('handshake', (infoHash: string) => {
    if (infoHash !== meta.infoHash) {
      opts.onWrongTorrent?.(infoHash)
      wire.destroy()
      return
    }
    wire.handshake(meta.infoHash, opts.peerId, { fast: opts.fast !== false })
    if (wire.hasFast) wire.haveAll()
    else wire.bitfield(fullBitfield(total))
  })

  wire.on('interested', () => wire.unchoke())

  wire.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void) => {
    if (index >= total || offset + length > pieceSize(meta, index)) {
      respond(new Error('request outside the torrent'))
      return
    }
    let block
    try {
      block = store.read(index, offset, length)
    } catch (err) {
      respond(err as Error)
      return
    }
    if (block instanceof Promise) block.then(b => respond(null, b), err => respond(err as Error))
    else respond(null, block)
  })
}
