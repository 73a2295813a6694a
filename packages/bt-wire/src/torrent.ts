/**
 * Torrent metadata for the CLI (parsed with parse-torrent, made with create-torrent) and
 * piece storage: in memory (demo) or in files on disk (fetch, seed).
 */
import { createHash } from 'node:crypto'
import { open, mkdir, readFile, type FileHandle } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import parseTorrent, { type ParsedTorrent } from 'parse-torrent'
import createTorrent from 'create-torrent'
import { CliError, Exit, usageError } from './util.js'

export interface TorrentFile {
  /** Path relative to the storage root, with the torrent's name first (parse-torrent's `path`). */
  path: string
  length: number
  offset: number
}

/** What the CLI needs of a torrent with its info dictionary. */
export interface TorrentMeta {
  infoHash: string
  /** The bencoded info dictionary (what ut_metadata sends). */
  infoBuffer: Buffer
  name: string
  length: number
  pieceLength: number
  lastPieceLength: number
  /** SHA-1 of each piece. */
  pieceHashes: Buffer[]
  files: TorrentFile[]
  /** The .torrent file's bytes, when we have them. */
  torrentFile: Buffer | null
}

/** The largest piece length accepted (64 MiB). */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024

export function pieceSize (meta: Pick<TorrentMeta, 'pieceHashes' | 'pieceLength' | 'lastPieceLength'>, index: number): number {
  return index === meta.pieceHashes.length - 1 ? meta.lastPieceLength : meta.pieceLength
}

export function sha1 (data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest()
}

/** A parse-torrent result with an info dictionary → TorrentMeta (checked). */
export function toMeta (parsed: ParsedTorrent, torrentFile: Buffer | null): TorrentMeta {
  const { infoBuffer, pieces, files, pieceLength, lastPieceLength, length, name } = parsed
  if (infoBuffer === undefined || pieces === undefined || files === undefined || pieceLength === undefined ||
      lastPieceLength === undefined || length === undefined || name === undefined) {
    throw new CliError(Exit.FAILURE, 'the torrent has no usable info dictionary')
  }
  // a piece is held in memory while it is downloaded or checked: metadata from a peer must not
  // be able to make us allocate gigabytes
  if (pieceLength > MAX_PIECE_LENGTH) {
    throw new CliError(Exit.FAILURE, `the torrent's piece length (${pieceLength} bytes) is over the ${MAX_PIECE_LENGTH / 1024 / 1024} MiB this tool handles`)
  }
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0 || pieces.length === 0 ||
      Math.ceil(length / pieceLength) !== pieces.length) {
    throw new CliError(Exit.FAILURE, `the torrent's piece length (${pieceLength}), piece count (${pieces.length}) and size (${length}) do not fit together`)
  }
  return {
    infoHash: parsed.infoHash,
    infoBuffer: Buffer.from(infoBuffer),
    name,
    length,
    pieceLength,
    lastPieceLength,
    pieceHashes: pieces.map(h => Buffer.from(h, 'hex')),
    files: files.map(f => ({ path: f.path, length: f.length, offset: f.offset })),
    torrentFile
  }
}

/** Parse the bytes of a .torrent file (or a bencoded `{ info }` from ut_metadata). */
export async function metaFromTorrentFile (buf: Buffer, what: string): Promise<TorrentMeta> {
  let parsed: ParsedTorrent
  try {
    parsed = await parseTorrent(buf)
  } catch (err) {
    throw new CliError(Exit.FAILURE, `${what} is not a valid torrent: ${(err as Error).message}`)
  }
  return toMeta(parsed, buf)
}

export interface Target {
  infoHash: string
  /** Known when the target was a .torrent file. */
  meta: TorrentMeta | null
  /** Peers named in a magnet link (x.pe). */
  peers: string[]
  name: string | null
}

/** A magnet link, a hex / base32 info hash, or a .torrent file path. */
export async function resolveTarget (text: string): Promise<Target> {
  if (/^magnet:/i.test(text) || /^[0-9a-f]{40}$/i.test(text) || /^[a-z2-7]{32}$/i.test(text)) {
    let parsed: ParsedTorrent
    try {
      parsed = await parseTorrent(text)
    } catch (err) {
      throw usageError(`"${text}" is not a valid magnet link or info hash: ${(err as Error).message}`)
    }
    return { infoHash: parsed.infoHash, meta: null, peers: parsed.peerAddresses ?? [], name: typeof parsed.name === 'string' ? parsed.name : null }
  }
  let buf: Buffer
  try {
    buf = await readFile(text)
  } catch (err) {
    throw usageError(`"${text}" is neither a magnet link, an info hash nor a readable .torrent file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  const meta = await metaFromTorrentFile(buf, text)
  return { infoHash: meta.infoHash, meta, peers: [], name: meta.name }
}

/** Make a torrent for a file or folder with create-torrent. */
export async function makeTorrent (path: string, opts: { pieceLength?: number, createdBy: string }): Promise<TorrentMeta> {
  const options: Record<string, unknown> = { announceList: [], createdBy: opts.createdBy }
  if (opts.pieceLength !== undefined) options.pieceLength = opts.pieceLength
  const buf = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(path, options, (err, torrent) => err ? reject(err) : resolve(torrent))
  }).catch((err: Error) => { throw new CliError(Exit.FAILURE, `cannot make a torrent of ${path}: ${err.message}`) })
  return await metaFromTorrentFile(Buffer.from(buf), path)
}

/** Pieces in and out. */
export interface Store {
  read (index: number, offset: number, length: number): Promise<Buffer> | Buffer
  /** Where a piece being downloaded is assembled (a scratch buffer when absent). */
  pieceBuffer? (index: number, size: number): Buffer
  write (index: number, data: Buffer): Promise<void> | void
  close (): Promise<void> | void
}

/** The torrent's bytes in one Buffer (the demo). */
export class MemoryStore implements Store {
  constructor (readonly data: Buffer, private readonly pieceLength: number) {}
  read (index: number, offset: number, length: number): Buffer {
    const start = index * this.pieceLength + offset
    return this.data.subarray(start, start + length)
  }

  /** Blocks land in their final place: no copy at write time. */
  pieceBuffer (index: number, size: number): Buffer {
    const start = index * this.pieceLength
    return this.data.subarray(start, start + size)
  }

  write (index: number, data: Buffer): void {
    const start = index * this.pieceLength
    if (data.buffer === this.data.buffer && data.byteOffset === this.data.byteOffset + start) return
    this.data.set(data, start)
  }

  close (): void {}
}

/**
 * The torrent's files under a root directory. Paths come from the metadata, which a peer may
 * have sent: every path must stay inside the root.
 */
export class FileStore implements Store {
  private readonly handles = new Map<number, Promise<FileHandle>>()
  private readonly paths: string[]

  constructor (readonly root: string, private readonly meta: TorrentMeta, private readonly mode: 'read' | 'write') {
    // every file lies at the torrent's name (single file) or below it (multi-file), and the
    // name itself lies inside the root: a peer's metadata cannot reach other files of the root
    const top = resolve(root)
    const base = resolve(top, meta.name)
    if (!base.startsWith(top + sep)) throw new CliError(Exit.FAILURE, `the torrent's name points outside the output directory: ${meta.name}`)
    this.paths = meta.files.map(f => {
      const p = resolve(top, f.path)
      if (p !== base && !p.startsWith(base + sep)) throw new CliError(Exit.FAILURE, `the torrent names a file outside its own folder: ${f.path}`)
      return p
    })
  }

  /** Where each file lives. */
  get filePaths (): string[] {
    return this.paths.slice()
  }

  /**
   * Create every file (empty ones too) at its full length. Files that exist already are never
   * opened for writing: nothing on disk is emptied before verified data arrives.
   */
  async create (): Promise<void> {
    for (let i = 0; i < this.paths.length; i++) {
      await mkdir(dirname(this.paths[i]), { recursive: true })
      let fh: FileHandle
      try {
        fh = await this.handle(i)
      } catch (err) {
        this.handles.delete(i)
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliError(Exit.FAILURE, `${this.paths[i]} already exists: fetch does not overwrite files (remove it or choose another -o)`)
        }
        throw err
      }
      await fh.truncate(this.meta.files[i].length)
    }
  }

  private handle (i: number): Promise<FileHandle> {
    let h = this.handles.get(i)
    if (h === undefined) {
      h = open(this.paths[i], this.mode === 'write' ? 'wx+' : 'r')
      this.handles.set(i, h)
    }
    return h
  }

  /** Run fn over each file slice of the torrent range [start, start + length). */
  private async each (start: number, length: number, fn: (fh: FileHandle, fileOffset: number, rangeOffset: number, n: number) => Promise<void>): Promise<void> {
    const end = start + length
    const files = this.meta.files
    for (let i = 0; i < files.length; i++) {
      const f = files[i]
      if (f.length === 0 || f.offset + f.length <= start) continue
      if (f.offset >= end) break
      const from = Math.max(start, f.offset)
      const to = Math.min(end, f.offset + f.length)
      await fn(await this.handle(i), from - f.offset, from - start, to - from)
    }
  }

  async read (index: number, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length)
    await this.each(index * this.meta.pieceLength + offset, length, async (fh, fileOffset, at, n) => {
      let done = 0
      while (done < n) {
        const { bytesRead } = await fh.read(buf, at + done, n - done, fileOffset + done)
        if (bytesRead === 0) throw new CliError(Exit.FAILURE, 'a file is shorter than the torrent says')
        done += bytesRead
      }
    })
    return buf
  }

  async write (index: number, data: Buffer): Promise<void> {
    await this.each(index * this.meta.pieceLength, data.length, async (fh, fileOffset, at, n) => {
      await fh.write(data, at, n, fileOffset)
    })
  }

  async close (): Promise<void> {
    const all = [...this.handles.values()]
    this.handles.clear()
    for (const h of all) {
      try { await (await h).close() } catch {}
    }
  }
}

/** For a torrent made of `path`: the directory its files are under. */
export function rootOf (path: string): string {
  return dirname(resolve(path))
}
