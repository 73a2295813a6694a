/**
 * `for await (const chunk of wire)` in the browser build: readable-stream 3's async iterator
 * (its Readable's Symbol.asyncIterator loads it) as a generator, with the same outcomes: chunks
 * until 'end' or 'close', the stream's error thrown, and the stream destroyed when the loop is
 * left early.
 */
interface Source {
  read (): unknown
  destroy (): unknown
  readonly destroyed: boolean
  on (type: string, fn: (...args: any[]) => void): unknown
  removeListener (type: string, fn: (...args: any[]) => void): unknown
}

export default async function * iterate (stream: Source): AsyncGenerator<unknown, void, undefined> {
  let error: unknown = null
  let ended = false
  let wake: (() => void) | null = null
  const notify = (): void => {
    const w = wake
    wake = null
    w?.()
  }
  const onError = (err: unknown): void => { error = err; notify() }
  const onEnd = (): void => { ended = true; notify() }
  const listeners: Array<[string, (...args: any[]) => void]> = [['readable', notify], ['error', onError], ['end', onEnd], ['close', onEnd]]
  for (const [type, fn] of listeners) stream.on(type, fn)
  try {
    for (;;) {
      const chunk = stream.destroyed ? null : stream.read()
      if (chunk !== null) {
        yield chunk
        continue
      }
      if (error !== null) throw error
      if (ended) return
      await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    for (const [type, fn] of listeners) stream.removeListener(type, fn)
    if (!ended) stream.destroy()
  }
}
