/**
 * Node: a socket the wire pipes into holds the wire's output up to the send watermark.
 *
 * pipe() pauses the wire when the socket's write() returns false, that is once the socket holds
 * 16 KiB (net.Socket's mark), and flows it again on the socket's 'drain': one block per drain,
 * two write syscalls each (a piece's header, then its block). The wire's output is bounded by
 * the send watermark already (io/output.ts, which then counts what the socket holds), so the
 * socket may hold up to that: it writes what the wire had in one writev per drain (200
 * connections: the seeder's 99,207 write + 1,800 writev for 51,200 blocks -> 4,893 writev). Only
 * net.Socket is held so (it gathers corked writes into a writev, and counts what it holds in
 * `writableLength`); other destinations (WebRTC, streamx, another Wire) are left as they were.
 * The Node entry's Wire calls these; the browser build has no use for them.
 */
import { Socket } from 'node:net'
import type { OutputQueue } from './output.js'

/**
 * The wire pipes into `dest`, its first destination: a socket holds its output, and on the
 * socket's 'drain' (before pipe()'s own listener flows the wire) `drained` runs.
 */
export function holdInSocket (out: OutputQueue, dest: unknown, drained: () => void): void {
  // a net.Socket (TLS too) only: other streams with a writev (streamx's, as WebTorrent's throttles)
  // count and signal what they hold otherwise
  if (!(dest instanceof Socket)) return
  out.socket = dest
  dest.on('drain', drained)
}

/** The wire no longer pipes into the socket alone (unpiped, or a second destination): pipe() paces it again. */
export function dropSocket (out: OutputQueue): void {
  out.socket = null
}

/** Whether the pause pipe() asks for, having counted a 'drain' to wait for, is not taken (`state`: the wire's readable state). */
export function keepFlowing (state: { flowing: boolean | null, awaitDrain: number }, out: OutputQueue, finished: boolean): boolean {
  if (out.socket === null || state.flowing !== true || state.awaitDrain === 0 || finished || out.backlog >= out.watermark) return false
  state.awaitDrain--
  return true
}

/** The socket drained: it is corked (true) until `uncork`, the wire's next tick, so what pipe() writes now leaves in one writev. */
export function corkForTick (out: OutputQueue): boolean {
  const s = out.socket as Socket | null
  if (s === null) return false
  s.cork()
  return true
}

export function uncork (out: OutputQueue): void {
  (out.socket as Socket | null)?.uncork()
}
