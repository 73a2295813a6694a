/**
 * Torrent metadata for the CLI (parsed with parse-torrent, made with create-torrent) and
 * piece storage: in memory (demo) or in files on disk (fetch, seed).
 */
import { createHash } from 'node:crypto'
import { open, mkdir, readFile, lstat, rename, unlink, rmdir, type FileHandle } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import parseTorrent, { type ParsedTorrent } from 'parse-torrent'
import createTorrent from 'create-torrent'
import bencode from 'bencode'
import { CliError, Exit } from './util.js'

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

/** What a file that is not a .torrent looks like, in words a user knows. */
function whatFileIs (buf: Buffer): string {
  if (buf.length === 0) return 'it is empty'
  const head = buf.subarray(0, 512)
  const text = head.toString('latin1')
  if (/^magnet:\?/i.test(text.trimStart())) return 'it holds a magnet link: give the link itself, in quotes'
  if (text.startsWith('%PDF')) return 'it is a PDF document'
  if (buf[0] === 0x50 && buf[1] === 0x4b) return 'it is a ZIP archive'
  if (buf[0] === 0x1f && buf[1] === 0x8b) return 'it is gzip-compressed data'
  if (/^\s*<(!doctype|html|\?xml)/i.test(text)) return 'it is an HTML or XML document'
  const printable = [...head].filter(b => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f)).length
  if (printable >= head.length * 0.9) return `it is a text file (it begins "${text.split(/\r?\n/)[0].slice(0, 40)}")`
  return 'it is binary data of some other kind'
}

/**
 * The bytes of a .torrent file given by the user → TorrentMeta, or a bad-input error that says
 * what the file is (a .torrent is a bencoded dictionary, BEP 3, so it begins with "d").
 */
export async function metaFromUserFile (buf: Buffer, path: string, cmd: string): Promise<TorrentMeta> {
  const notTorrent = (why: string): CliError => new CliError(Exit.USAGE, `${path} is not a .torrent file: ${why}`, 'NOT_A_TORRENT')
  if (buf[0] !== 0x64) throw notTorrent(whatFileIs(buf))
  let decoded: any
  try {
    decoded = bencode.decode(buf)
  } catch {
    throw notTorrent('it begins like one but is damaged or cut short (not valid bencode)')
  }
  const info = decoded?.info
  if (info === undefined || info === null || typeof info !== 'object' || Buffer.isBuffer(info) || Array.isArray(info)) {
    throw notTorrent('it is bencoded data without an info dictionary')
  }
  // BEP 52: a v2-only torrent has a file tree and no v1 "pieces"; a hybrid one has both
  if (info.pieces === undefined && info['meta version'] === 2) {
    throw new CliError(Exit.USAGE, `${path} is a v2-only torrent (BEP 52): v2-only torrents are not supported by ${cmd}; a hybrid torrent (v1 and v2) works`, 'V2_ONLY')
  }
  try {
    return await metaFromTorrentFile(buf, path)
  } catch (err) {
    if (err instanceof CliError) throw new CliError(Exit.USAGE, err.message, 'NOT_A_TORRENT')
    throw err
  }
}

/** A magnet link, a hex / base32 info hash, or a .torrent file path. */
export async function resolveTarget (text: string, cmd = 'bt-wire'): Promise<Target> {
  const v2Only = (what: string): CliError =>
    new CliError(Exit.USAGE, `${what} names a v2 info hash only (BEP 52): v2-only torrents are not supported by ${cmd}; a hybrid magnet link with a v1 "urn:btih:" hash as well works`, 'V2_ONLY')
  if (/^[0-9a-f]{64}$/i.test(text)) throw v2Only('this info hash (64 hex digits)')
  if (/^magnet:/i.test(text) && /[?&]xt=urn:btmh:/i.test(text) && !/[?&]xt=urn:btih:/i.test(text)) throw v2Only('the magnet link')
  if (/^magnet:/i.test(text) || /^[0-9a-f]{40}$/i.test(text) || /^[a-z2-7]{32}$/i.test(text)) {
    let parsed: ParsedTorrent
    try {
      parsed = await parseTorrent(text)
    } catch (err) {
      throw new CliError(Exit.USAGE, `"${text}" is not a valid magnet link or info hash: ${(err as Error).message}`, 'BAD_INPUT')
    }
    return { infoHash: parsed.infoHash, meta: null, peers: parsed.peerAddresses ?? [], name: typeof parsed.name === 'string' ? parsed.name : null }
  }
  let buf: Buffer
  try {
    buf = await readFile(text)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message
    throw new CliError(Exit.USAGE, `"${text}" is neither a magnet link, an info hash (40 hex digits) nor a readable .torrent file (${why})`, 'BAD_INPUT')
  }
  const meta = await metaFromUserFile(buf, text, cmd)
  return { infoHash: meta.infoHash, meta, peers: [], name: meta.name }
}

/** Make a torrent for a file or folder with create-torrent. */
export async function makeTorrent (path: string, opts: { pieceLength?: number, createdBy: string, onProgress?: (hashed: number, total: number) => void }): Promise<TorrentMeta> {
  const options: Record<string, unknown> = { announceList: [], createdBy: opts.createdBy }
  if (opts.onProgress !== undefined) options.onProgress = opts.onProgress
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

/** Suffix of a file that fetch is still writing: a file under its final name is complete. */
export const PARTIAL_SUFFIX = '.part'

/** How fetch found a file of the torrent on disk. */
type FileState = 'final' | 'partial' | 'new'

/**
 * The torrent's files under a root directory. Paths come from the metadata, which a peer may
 * have sent: every path must stay inside the root.
 *
 * In 'write' mode (fetch) a file is written as NAME.part and renamed to NAME once every piece
 * of the torrent is verified, so a file under its final name is complete. A NAME.part left by an
 * earlier run is continued; a NAME that exists is only read (to check it), never written.
 */
export class FileStore implements Store {
  private readonly handles = new Map<number, Promise<FileHandle>>()
  private readonly paths: string[]
  private readonly states: FileState[]
  /** Files this run has written into. */
  private readonly written = new Set<number>()
  /** The topmost folder of each tree of folders this run created (mkdir's answer). */
  private readonly createdDirs: string[] = []

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
    this.states = this.paths.map(() => 'final')
    if (mode === 'write') {
      const finals = new Set(this.paths)
      for (const p of this.paths) {
        if (finals.has(p + PARTIAL_SUFFIX)) throw new CliError(Exit.FAILURE, `the torrent has both ${p} and ${p + PARTIAL_SUFFIX}: fetch cannot keep a partial name for it`)
      }
    }
  }

  /** Where each file lives. */
  get filePaths (): string[] {
    return this.paths.slice()
  }

  /** Where each file is while it is written. */
  private where (i: number): string {
    return this.states[i] === 'final' ? this.paths[i] : this.paths[i] + PARTIAL_SUFFIX
  }

  /**
   * Open every file for fetching: a complete-looking NAME for reading, a NAME.part of an earlier
   * run to continue, or a new NAME.part at its full length. Returns whether any data was on disk.
   */
  async open (): Promise<{ existing: number }> {
    let existing = 0
    for (let i = 0; i < this.paths.length; i++) {
      const length = this.meta.files[i].length
      const created = await mkdir(dirname(this.paths[i]), { recursive: true })
      if (created !== undefined) this.createdDirs.push(created)
      const final = await lstat(this.paths[i]).catch(() => null)
      if (final !== null) {
        if (!final.isFile() || final.size !== length) {
          throw new CliError(Exit.FAILURE, `${this.paths[i]} already exists and is not this torrent's file (${final.isFile() ? `${final.size} bytes, the torrent says ${length}` : 'not a regular file'}): fetch does not overwrite files (remove it or choose another -o)`, 'FILE_EXISTS')
        }
        this.states[i] = 'final'
        existing++
        continue
      }
      const part = await lstat(this.paths[i] + PARTIAL_SUFFIX).catch(() => null)
      if (part !== null && !part.isFile()) {
        throw new CliError(Exit.FAILURE, `${this.paths[i] + PARTIAL_SUFFIX} is not a regular file: fetch does not write through it (remove it or choose another -o)`, 'FILE_EXISTS')
      }
      this.states[i] = part !== null ? 'partial' : 'new'
      if (part !== null) existing++
      const fh = await this.handle(i)
      if (part === null || part.size !== length) await fh.truncate(length)
    }
    return { existing }
  }

  /** Whether piece `index` lies (partly) in a file that was on disk before this run. */
  touchesExisting (index: number): boolean {
    const start = index * this.meta.pieceLength
    const end = start + pieceSize(this.meta, index)
    return this.meta.files.some((f, i) => this.states[i] !== 'new' && f.length > 0 && f.offset < end && f.offset + f.length > start)
  }

  /** After the last piece: every NAME.part becomes NAME. */
  async complete (): Promise<void> {
    await this.close()
    for (let i = 0; i < this.paths.length; i++) {
      if (this.states[i] === 'final') continue
      await rename(this.paths[i] + PARTIAL_SUFFIX, this.paths[i])
      this.states[i] = 'final'
    }
  }

  /**
   * After a failed run: remove the NAME.part files this run created and never wrote into, and the
   * folders it created that are left empty, so a peer that had nothing to give leaves nothing
   * behind (files with verified pieces stay, and the folders they are in).
   */
  async discardUnused (): Promise<void> {
    await this.close()
    // folders below the root only: -o itself stays, as the user named it
    const below = resolve(this.root) + sep
    const madeByUs = (dir: string): boolean => dir.startsWith(below) && this.createdDirs.some(top => dir === top || dir.startsWith(top + sep))
    const folders = new Set<string>()
    for (let i = 0; i < this.paths.length; i++) {
      if (this.states[i] !== 'new' || this.written.has(i)) continue
      await unlink(this.paths[i] + PARTIAL_SUFFIX).catch(() => {})
      for (let dir = dirname(this.paths[i]); madeByUs(dir); dir = dirname(dir)) folders.add(dir)
    }
    // the deepest first; a folder that still holds something stays (rmdir removes only empty ones)
    for (const dir of [...folders].sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => {})
  }

  private handle (i: number): Promise<FileHandle> {
    let h = this.handles.get(i)
    if (h === undefined) {
      const flags = this.mode === 'read' || this.states[i] === 'final' ? 'r' : this.states[i] === 'partial' ? 'r+' : 'wx+'
      h = open(this.where(i), flags)
      this.handles.set(i, h)
      h.catch(() => this.handles.delete(i))
    }
    return h
  }

  /** Run fn over each file slice of the torrent range [start, start + length). */
  private async each (start: number, length: number, fn: (fh: FileHandle, fileOffset: number, rangeOffset: number, n: number, file: number) => Promise<void>): Promise<void> {
    const end = start + length
    const files = this.meta.files
    for (let i = 0; i < files.length; i++) {
      const f = files[i]
      if (f.length === 0 || f.offset + f.length <= start) continue
      if (f.offset >= end) break
      const from = Math.max(start, f.offset)
      const to = Math.min(end, f.offset + f.length)
      await fn(await this.handle(i), from - f.offset, from - start, to - from, i)
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
    await this.each(index * this.meta.pieceLength, data.length, async (fh, fileOffset, at, n, i) => {
      if (this.states[i] === 'final') {
        // a piece shared with a file that was complete-looking on disk: that file is only
        // read, and its bytes must be the verified ones
        const have = Buffer.alloc(n)
        await fh.read(have, 0, n, fileOffset)
        if (!have.equals(data.subarray(at, at + n))) {
          throw new CliError(Exit.FAILURE, `${this.paths[i]} already exists and differs from the torrent (piece ${index}): fetch does not overwrite files (remove it or choose another -o)`, 'FILE_EXISTS')
        }
        return
      }
      this.written.add(i)
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
