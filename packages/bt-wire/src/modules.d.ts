// Minimal types for the CLI's dependencies that ship none. Internal to the CLI.
declare module 'bencode' {
  const bencode: {
    encode (value: unknown): Buffer
    decode (data: Uint8Array, start?: number, end?: number, encoding?: string): any
  }
  export default bencode
}
declare module 'bittorrent-peerid' {
  function peerid (peerId: Buffer | string): { client: string, version?: string | null }
  export default peerid
}
declare module 'cli-progress' {
  interface Options {
    format?: string
    stream?: NodeJS.WriteStream
    hideCursor?: boolean
    clearOnComplete?: boolean
    barsize?: number
    fps?: number
    noTTYOutput?: boolean
    etaBuffer?: number
    barCompleteChar?: string
    barIncompleteChar?: string
  }
  export class SingleBar {
    constructor (opts: Options, preset?: unknown)
    start (total: number, value: number, payload?: Record<string, unknown>): void
    update (value: number, payload?: Record<string, unknown>): void
    setTotal (total: number): void
    stop (): void
  }
  export const Presets: Record<string, unknown>
  const cliProgress: { SingleBar: typeof SingleBar, Presets: Record<string, unknown> }
  export default cliProgress
}
declare module 'create-torrent' {
  function createTorrent (input: string | string[], opts: Record<string, unknown>, cb: (err: Error | null, torrent: Uint8Array) => void): void
  export default createTorrent
}
declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash: string
    name?: string
    length?: number
    pieceLength?: number
    lastPieceLength?: number
    pieces?: string[]
    files?: Array<{ path: string, name: string, length: number, offset: number }>
    info?: Record<string, unknown>
    infoBuffer?: Uint8Array
    peerAddresses?: string[]
    private?: boolean
    [key: string]: unknown
  }
  function parseTorrent (id: string | Uint8Array | Record<string, unknown>): Promise<ParsedTorrent>
  export function toMagnetURI (obj: Record<string, unknown>): string
  export default parseTorrent
}
declare module 'ut_metadata' {
  import type { ExtensionConstructor } from 'bittorrent-protocol'
  function utMetadata (metadata?: Uint8Array): ExtensionConstructor
  export default utMetadata
}
