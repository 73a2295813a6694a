/**
 * Diffie-Hellman for MSE: the 768-bit prime of the MSE specification, generator 2,
 * 160-bit private keys, public keys and shared secrets as 96-byte big-endian numbers
 * (left-padded with zeros).
 *
 * Two backends give identical results:
 * - `native`: one Node DiffieHellman object for the MSE group, created on first use
 *   (Node checks the prime then, ~30 ms once) and reused: `setPrivateKey(x)` followed by
 *   `computeSecret(y)` gives y^x mod P, and `computeSecret(2)` gives the public key 2^x mod P.
 *   Everything is synchronous, so the shared object is never seen half-updated. ~0.1 ms/op.
 * - `bigint`: square-and-multiply with BigInt, ~0.4 ms/op; used where Node's DH is missing
 *   (browser bundles) or fails.
 */
import { Buffer } from 'buffer'
import * as crypto from 'crypto'

export const DH_KEY_LENGTH = 96
/** Private key size: 160 bits (the spec asks for at least 128; beyond 180 adds nothing). */
export const DH_PRIVATE_LENGTH = 20
export const DH_GENERATOR = 2

/** The MSE 768-bit prime P. */
export const DH_PRIME = Buffer.from(
  'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74' +
  '020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437' +
  '4fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563', 'hex')

const P = toBig(DH_PRIME)

export type DhBackend = 'native' | 'bigint'

function toBig (buf: Uint8Array): bigint {
  return buf.length === 0 ? 0n : BigInt('0x' + Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('hex'))
}

function toBuf96 (n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(DH_KEY_LENGTH * 2, '0'), 'hex')
}

function modPow (base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n
  let b = base % mod
  let e = exp
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod
    b = (b * b) % mod
    e >>= 1n
  }
  return r
}

function pad96 (buf: Uint8Array): Buffer {
  if (buf.length === DH_KEY_LENGTH) return Buffer.from(buf.buffer, buf.byteOffset, buf.length)
  const out = Buffer.alloc(DH_KEY_LENGTH)
  out.set(buf.subarray(Math.max(0, buf.length - DH_KEY_LENGTH)), Math.max(0, DH_KEY_LENGTH - buf.length))
  return out
}

let nativeGroup: crypto.DiffieHellman | null | undefined
let forced: DhBackend | null = null
const TWO = Buffer.from([DH_GENERATOR])

function group (): crypto.DiffieHellman | null {
  if (forced === 'bigint') return null
  if (nativeGroup === undefined) {
    try {
      nativeGroup = typeof crypto.createDiffieHellman === 'function' &&
        typeof process !== 'undefined' && process.versions != null && process.versions.node != null
        ? crypto.createDiffieHellman(DH_PRIME, DH_GENERATOR)
        : null
    } catch {
      nativeGroup = null
    }
  }
  return nativeGroup
}

/** For tests and benchmarks: force a backend, or `null` for the automatic choice. */
export function setDhBackend (backend: DhBackend | null): void {
  forced = backend
}

/** The backend in use for the next operation. */
export function dhBackend (): DhBackend {
  return group() ? 'native' : 'bigint'
}

/** y^x mod P as 96 bytes. `y` has been validated (1 < y < P - 1). */
function power (x: Buffer, y: Buffer): Buffer {
  const g = group()
  if (g) {
    try {
      g.setPrivateKey(x)
      return pad96(g.computeSecret(y))
    } catch {
      // fall through to BigInt
    }
  }
  return toBuf96(modPow(toBig(y), toBig(x), P))
}

export interface DhKeyPair {
  /** 20 random bytes. */
  privateKey: Buffer
  /** 2^privateKey mod P, 96 bytes. */
  publicKey: Buffer
}

/** A fresh key pair (160-bit private key). */
export function generateKeyPair (): DhKeyPair {
  let privateKey = crypto.randomBytes(DH_PRIVATE_LENGTH)
  while (privateKey.every(b => b === 0)) privateKey = crypto.randomBytes(DH_PRIVATE_LENGTH)
  return { privateKey, publicKey: power(privateKey, TWO) }
}

/** Whether `key` is an acceptable peer public key: 96 bytes, 1 < key < P - 1. */
export function isValidPublicKey (key: Uint8Array): boolean {
  if (key.length !== DH_KEY_LENGTH) return false
  const y = toBig(key)
  return y > 1n && y < P - 1n
}

/**
 * The shared secret S = peerPublicKey^privateKey mod P, 96 bytes; null when the peer's
 * key is not acceptable (see isValidPublicKey).
 */
export function computeSecret (privateKey: Uint8Array, peerPublicKey: Uint8Array): Buffer | null {
  if (!isValidPublicKey(peerPublicKey)) return null
  return power(Buffer.from(privateKey), Buffer.from(peerPublicKey))
}
