/**
 * Random bytes (the wire's id in debug output): node:crypto's, which the `randombytes` package
 * is in Node, without the package. The browser build takes random-browser.ts (Web Crypto)
 * instead. Node 18 has no global `crypto`, so not one function for both.
 */
export { randomBytes as default } from 'node:crypto'
