// WebTorrent's documented webpack setup (its README points at scripts/browser.webpack.js, which
// builds webtorrent.min.js): its package.json `browser` map as aliases, `path-esm` for `path`,
// its fast `process` polyfill and `global` as `globalThis`. Only the entry and output are ours.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import webpack from 'webpack'
import TerserPlugin from 'terser-webpack-plugin'

const require = createRequire(import.meta.url)
const here = fileURLToPath(new URL('.', import.meta.url))
const info = require('webtorrent/package.json')

// `bittorrent-protocol: '5.0.9'` bundles the page with the 5.0.9 installed beside (as `bt5`) in
// place of the package WebTorrent's dependency resolves to: the size comparison's baseline.
export default function config ({ bittorrentProtocol = 'this package', outputPath = fileURLToPath(new URL('./dist', import.meta.url)) } = {}) {
  return {
  context: here,
  entry: './page.js',
  resolve: {
    aliasFields: ['browser'],
    alias: {
      ...info.browser,
      path: 'path-esm',
      ...(bittorrentProtocol === '5.0.9' ? { 'bittorrent-protocol$': fileURLToPath(new URL('./node_modules/bt5', import.meta.url)) } : {})
    }
  },
  output: {
    path: outputPath,
    filename: 'page.js'
  },
  mode: 'production',
  target: 'web',
  plugins: [
    new webpack.ProvidePlugin({
      process: 'webtorrent/polyfills/process-fast.js'
    }),
    new webpack.DefinePlugin({
      global: 'globalThis'
    })
  ],
  optimization: {
    minimize: true,
    minimizer: [new TerserPlugin({ terserOptions: { format: { comments: false } }, extractComments: false })]
  }
}
}
