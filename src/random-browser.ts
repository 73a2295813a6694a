/**
 * Browser stand-in for random.ts (the browser build aliases it here): Web Crypto's
 * getRandomValues, which every browser has.
 */
import { Buffer } from 'buffer'

export default function randomBytes (size: number): Buffer {
  const bytes = Buffer.alloc(size)
  globalThis.crypto.getRandomValues(bytes)
  return bytes
}
