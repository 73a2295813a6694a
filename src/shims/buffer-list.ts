/**
 * readable-stream 3's BufferList (a Readable's queue of chunks), without its inspect hooks and
 * the helpers Babel added: the linked list the Readable walks (`head`, `next`, `data`).
 */
import { Buffer } from 'buffer'

type Chunk = any
interface Entry { data: Chunk, next: Entry | null }

export default class BufferList {
  head: Entry | null = null
  tail: Entry | null = null
  length = 0

  push (data: Chunk): void {
    const entry: Entry = { data, next: null }
    if (this.tail === null) this.head = entry
    else this.tail.next = entry
    this.tail = entry
    this.length++
  }

  unshift (data: Chunk): void {
    const entry: Entry = { data, next: this.head }
    if (this.head === null) this.tail = entry
    this.head = entry
    this.length++
  }

  shift (): Chunk {
    const head = this.head
    if (head === null) return undefined
    this.head = head.next
    if (this.head === null) this.tail = null
    this.length--
    return head.data
  }

  clear (): void {
    this.head = this.tail = null
    this.length = 0
  }

  first (): Chunk {
    return this.head!.data
  }

  join (separator: string): string {
    let out = ''
    for (let p = this.head; p !== null; p = p.next) out += (p === this.head ? '' : separator) + String(p.data)
    return out
  }

  /** The chunks (Buffers, `n` bytes in all) as one Buffer. */
  concat (n: number): Buffer {
    const out = Buffer.allocUnsafe(n >>> 0)
    let at = 0
    for (let p = this.head; p !== null; p = p.next) {
      out.set(p.data, at)
      at += p.data.length
    }
    return out
  }

  /** Take `n` bytes (or characters, with `strings`) from the front. */
  consume (n: number, strings: unknown): Chunk {
    const first = this.head!.data
    if (n < first.length) {
      this.head!.data = first.slice(n)
      return first.slice(0, n)
    }
    if (n === first.length) return this.shift()
    const parts: Chunk[] = []
    let left = n
    while (left > 0) {
      const data = this.head!.data
      if (data.length <= left) {
        parts.push(this.shift())
        left -= data.length
      } else {
        parts.push(data.slice(0, left))
        this.head!.data = data.slice(left)
        left = 0
      }
    }
    return strings ? parts.join('') : Buffer.concat(parts, n)
  }
}
