/**
 * Browser stand-in for the `randombytes` package (the browser build aliases it here): Web
 * Crypto's getRandomValues, which every browser has, without the package's Node `global`.
 */
import { Buffer } from 'buffer'

export default function randombytes (size: number): Buffer {
  const bytes = Buffer.alloc(size)
  globalThis.crypto.getRandomValues(bytes)
  return bytes
}
