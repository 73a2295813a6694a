/**
 * The browser build's `string_decoder` (readable-stream 3 uses it for `setEncoding()`): the
 * same StringDecoder, with the browser's TextDecoder for UTF-8 and UTF-16LE (characters split
 * across chunks are held back, invalid bytes become U+FFFD) and Buffer for the others.
 */
import { Buffer } from 'buffer'

export class StringDecoder {
  readonly encoding: string
  private readonly _text: TextDecoder | null
  /** base64: the bytes of an unfinished 3-byte group */
  private _rest: Buffer | null = null

  constructor (encoding?: string | null) {
    const name = String(encoding ?? 'utf8').toLowerCase().replace('-', '')
    if (!Buffer.isEncoding(name)) throw new TypeError('Unknown encoding: ' + String(encoding))
    this.encoding = name === 'ucs2' || name === 'utf16le' ? 'utf16le' : name === 'binary' ? 'latin1' : name
    this._text = this.encoding === 'utf8' || this.encoding === 'utf16le' ? new TextDecoder(this.encoding === 'utf8' ? 'utf-8' : 'utf-16le') : null
  }

  write (chunk: Uint8Array): string {
    if (this._text !== null) return this._text.decode(chunk, { stream: true })
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.encoding !== 'base64') return buf.toString(this.encoding as BufferEncoding)
    const all = this._rest === null ? buf : Buffer.concat([this._rest, buf])
    const whole = all.length - all.length % 3
    this._rest = whole < all.length ? Buffer.from(all.subarray(whole)) : null
    return all.subarray(0, whole).toString('base64')
  }

  end (chunk?: Uint8Array): string {
    const head = chunk === undefined ? '' : this.write(chunk)
    if (this._text !== null) return head + this._text.decode()
    const rest = this._rest
    this._rest = null
    return rest === null ? head : head + rest.toString('base64')
  }
}

export default { StringDecoder }
