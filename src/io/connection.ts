/**
 * The streams a wire is piped with: what the connection (`socket.pipe(wire).pipe(socket)`) looks
 * like from the wire. Most wires have one source and one destination, so each set is one stream,
 * an array only when there are several, or null.
 *
 * The wire ends with its connection (see Wire `_onConnectionGone`): a stream it is piped with that
 * closes or errors (a TCP reset: `pipe` itself only unpipes then) is followed. A destination costs
 * nothing: pipe() listens for its 'close' and 'error' itself and unpipes us (WireStream `unpipe`).
 * A source we do not pipe into is followed here, once, by one listener.
 */
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

interface Followable { on?: (event: string, fn: () => void) => unknown, destroyed?: boolean }

/**
 * Call `gone` when `stream` closes (and errors, unless `closesOnError`: a stream that is destroyed
 * on every error, as a Wire is, then closes, so its 'close' is enough). Right away when it is
 * destroyed already.
 */
export function followConnection (stream: unknown, gone: () => void, closesOnError: boolean): void {
  const s = stream as Followable
  if (typeof s.on !== 'function') return
  if (s.destroyed === true) { gone(); return }
  // on(), not once(): once() wraps each listener in a bound function and a state object
  s.on('close', gone)
  if (!closesOnError) s.on('error', gone)
}

/** Whether `stream` is in `set`. */
export function hasStream<T> (set: Streams<T>, stream: T): boolean {
  return set === stream || (Array.isArray(set) && set.includes(stream))
}

interface Closable { destroyed?: boolean, writableEnded?: boolean, destroy?: () => void, end?: () => void }

/**
 * The wire went: end its destinations, or destroy them (`destroy`: the peer broke the protocol,
 * or destroy() left output the peer did not read), also one already ended behind such output.
 */
export function closeDestinations (dests: Streams<unknown>, destroy: boolean): void {
  forEachStream(dests, dest => {
    const d = dest as Closable
    if (d.destroyed === true) return
    if (destroy && typeof d.destroy === 'function') d.destroy()
    else if (d.writableEnded !== true) d.end?.()
  })
}
