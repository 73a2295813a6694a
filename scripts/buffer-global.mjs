// esbuild `inject` for the browser build: free `Buffer` references in bundled dependencies
// (bencode) become imports of the `buffer` package, left for the consumer's bundler.
export { Buffer } from 'buffer'
