/** Message Stream Encryption: RC4, Diffie-Hellman and the handshake state machine. */
export * from './rc4.js'
export * from './dh.js'
export * from './handshake.js'
