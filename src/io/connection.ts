/**
 * The streams a wire is piped with: what the connection (`socket.pipe(wire).pipe(socket)`) looks
 * like from the wire. Most wires have one source and one destination, so each set is one stream,
 * an array only when there are several, or null.
 *
 * The wire ends with its connection (see Wire `_onConnectionGone`): a stream it is piped with that
 * closes or errors (a TCP reset: `pipe` itself only unpipes then) is followed here.
 */
import { cork } from './output.js'

export type Streams<T> = T | T[] | null

/** `set` with `stream` added (once). */
export function addStream<T> (set: Streams<T>, stream: T): Streams<T> {
  if (set === null) return stream
  if (!Array.isArray(set)) return set === stream ? set : [set, stream]
  if (!set.includes(stream)) set.push(stream)
  return set
}

export function forEachStream<T> (set: Streams<T>, fn: (stream: T) => void): void {
  if (set === null) return
  if (!Array.isArray(set)) { fn(set); return }
  for (const stream of set) fn(stream)
}

interface Followable { on?: (event: string, fn: () => void) => unknown }

/** Call `gone` when `stream` closes or errors. */
export function followConnection (stream: unknown, gone: () => void): void {
  const s = stream as Followable
  if (typeof s.on !== 'function') return
  // on(), not once(): once() wraps each listener in a bound function and a state object,
  // about 0.2 KiB per stream followed (two per piped wire); a second call is a no-op
  s.on('close', gone)
  s.on('error', gone)
}

interface Closable { destroyed?: boolean, writableEnded?: boolean, destroy?: () => void, end?: () => void }

/** The wire went: end its destinations, or destroy them when the peer broke the protocol. */
export function closeDestinations (dests: Streams<unknown>, destroy: boolean): void {
  forEachStream(dests, dest => {
    const d = dest as Closable
    if (d.destroyed === true || d.writableEnded === true) return
    if (destroy && typeof d.destroy === 'function') d.destroy()
    else d.end?.()
  })
}

/**
 * A destination that asked us to wait ('drain') resumed us: readable-stream then writes what we
 * buffered meanwhile one chunk per write() in the next tick (a syscall each on a socket, two per
 * block). Cork the destination over that tick so it leaves in one writev: only one destination
 * that gathers corked writes (a socket has _writev; another Wire, piped in memory, does not, and
 * corking it only adds buffering: +2.7k instructions per block).
 */
export function corkOverResume (dests: Streams<unknown>): void {
  const dest = dests as { _writev?: unknown, cork?: () => void, uncork?: () => void } | null
  if (dest === null || Array.isArray(dest) || typeof dest._writev !== 'function') return
  cork(dest, 1, true)
  // after readable-stream's resume_ (queued by the caller's super.resume()), which flows our buffer
  process.nextTick(cork, dest, 1, false)
}
