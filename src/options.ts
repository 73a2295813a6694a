/**
 * The constructor's arguments as options. Four forms (README, "Encryption"):
 * - `new Wire(type, level)`: bittorrent-protocol 5.x, `level` 0 / 1 / 2 = no MSE / MSE with
 *   plaintext fallback / MSE with RC4 only. A call whose second argument is a number and whose
 *   third is undefined takes this meaning (3.5.5's `retries` did nothing without `peEnabled`);
 *   a number other than 1 or 2 means no MSE.
 * - `new Wire(type, retries, peEnabled)`: bittorrent-protocol 3.5.5.
 * - `new Wire(options)`, `new Wire()`.
 */
import type { WireOptions, WireType } from './types.js'

export function toWireOptions (type: WireType | WireOptions, retries: number | undefined, peEnabled: boolean | undefined): WireOptions {
  if (type !== null && typeof type === 'object') return type
  if (typeof retries === 'number' && peEnabled === undefined) return { type, encryptionLevel: retries === 1 || retries === 2 ? retries : 0 }
  return { type, retries: retries ?? 0, peEnabled: !!peEnabled }
}

/** An option that must be a positive integer, or its default when not given. */
export function positive (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`)
  return value
}
