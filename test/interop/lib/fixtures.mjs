// Test-time fixtures: temp dirs, random payloads, .torrent files (own bencode or mktorrent).
import { mkdtemp, rm, mkdir, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import bencode from 'bencode'
import { requireBinary } from './procs.mjs'

const run = promisify(execFile)

export const KiB = 1024
export const MiB = 1024 * 1024

export function sha1 (buf) {
  return createHash('sha1').update(buf).digest()
}

/** A fresh temp dir, removed when the test ends. */
export async function makeTmp (t) {
  const dir = await mkdtemp(join(tmpdir(), 'bt-interop-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Write random content and a .torrent for it.
 * opts: { name, length } for a single file, or { name, files: [{ path: 'a/b.bin', length }] };
 * pieceLength; announce (URL); tool: 'js' (own bencode) | 'mktorrent'.
 * Content goes to `${root}/seed/`, the torrent to `${root}/${name}.torrent`.
 */
export async function makeFixture (root, opts) {
  const { name, pieceLength, announce, tool = 'js' } = opts
  const seedDir = join(root, 'seed')
  await mkdir(seedDir, { recursive: true })
  const single = !opts.files
  const fileSpecs = single ? [{ path: name, length: opts.length }] : opts.files
  for (const f of fileSpecs) {
    f.data = randomBytes(f.length)
    const p = single ? join(seedDir, name) : join(seedDir, name, f.path)
    await mkdir(dirname(p), { recursive: true })
    await writeFile(p, f.data)
  }
  const torrentPath = join(root, name + '.torrent')
  if (tool === 'mktorrent') {
    requireBinary('/usr/bin/mktorrent', 'mktorrent')
    const log2 = Math.log2(pieceLength)
    if (!Number.isInteger(log2) || log2 < 15) throw new Error('mktorrent 1.1 takes power-of-two piece lengths of 32 KiB and up')
    const args = ['-l', String(log2), '-n', name, '-o', torrentPath, '-d']
    if (announce) args.push('-a', announce)
    args.push(single ? join(seedDir, name) : join(seedDir, name))
    await run('/usr/bin/mktorrent', args)
  } else {
    const all = Buffer.concat(fileSpecs.map(f => f.data))
    const hashes = []
    for (let o = 0; o < all.length; o += pieceLength) hashes.push(sha1(all.subarray(o, o + pieceLength)))
    const info = { name: Buffer.from(name), 'piece length': pieceLength, pieces: Buffer.concat(hashes) }
    if (single) info.length = opts.length
    else info.files = fileSpecs.map(f => ({ length: f.length, path: f.path.split('/').map(s => Buffer.from(s)) }))
    const torrent = { info }
    if (announce) torrent.announce = Buffer.from(announce)
    await writeFile(torrentPath, bencode.encode(torrent))
  }
  const torrentBuf = await readFile(torrentPath)
  const meta = parseTorrentFile(torrentBuf)
  // the payload in torrent order (mktorrent may order files its own way)
  const byPath = new Map(fileSpecs.map(f => [single ? name : f.path, f.data]))
  const payload = Buffer.concat(meta.files.map(f => byPath.get(single ? name : f.path)))
  if (payload.length !== meta.length) throw new Error('fixture: payload length mismatch')
  for (let i = 0; i < meta.numPieces; i++) {
    if (!sha1(pieceData(meta, payload, i)).equals(meta.pieceHashes[i])) throw new Error('fixture: piece hash mismatch ' + i)
  }
  return { name, root, seedDir, torrentPath, torrentBuf, meta, payload, single }
}

/** Minimal .torrent parsing: what the tests need. */
export function parseTorrentFile (buf) {
  const t = bencode.decode(buf)
  const info = t.info
  const infoBuf = bencode.encode(info)
  const infoHashBuf = sha1(infoBuf)
  const pieceLength = info['piece length']
  const pieces = info.pieces
  const pieceHashes = []
  for (let o = 0; o < pieces.length; o += 20) pieceHashes.push(pieces.subarray(o, o + 20))
  const name = info.name.toString()
  let files
  if (info.files) {
    let offset = 0
    files = info.files.map(f => {
      const r = { path: f.path.map(p => p.toString()).join('/'), length: f.length, offset }
      offset += f.length
      return r
    })
  } else {
    files = [{ path: name, length: info.length, offset: 0 }]
  }
  const length = files.reduce((a, f) => a + f.length, 0)
  const numPieces = pieceHashes.length
  if (Math.ceil(length / pieceLength) !== numPieces) throw new Error('torrent: piece count mismatch')
  return {
    name,
    infoBuf,
    infoHash: infoHashBuf.toString('hex'),
    infoHashBuf,
    pieceLength,
    length,
    numPieces,
    pieceHashes,
    lastPieceLength: length - (numPieces - 1) * pieceLength,
    files,
    multi: !!info.files
  }
}

export function pieceSize (meta, i) {
  return i === meta.numPieces - 1 ? meta.lastPieceLength : meta.pieceLength
}

export function pieceData (meta, payload, i) {
  return payload.subarray(i * meta.pieceLength, i * meta.pieceLength + pieceSize(meta, i))
}

/** Read a downloaded torrent's content from dir and compare with the payload; retries while files settle. */
export async function checkOnDisk (dir, fx, ms = 10000) {
  const deadline = Date.now() + ms
  let last
  for (;;) {
    try {
      const parts = []
      for (const f of fx.meta.files) {
        const p = fx.meta.multi ? join(dir, fx.meta.name, f.path) : join(dir, fx.meta.name)
        parts.push(await readFile(p))
      }
      const got = Buffer.concat(parts)
      if (got.equals(fx.payload)) return
      last = new Error(`content on disk differs from the payload (${got.length} vs ${fx.payload.length} bytes, first difference at ${firstDiff(got, fx.payload)})`)
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw last
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

function firstDiff (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

export function mbps (bytes, ms) {
  return +(bytes / MiB / (ms / 1000)).toFixed(2)
}
