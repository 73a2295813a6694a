// WebTorrent's documented webpack setup (its README points at scripts/browser.webpack.js, the
// config that builds webtorrent.min.js): WebTorrent's package.json `browser` map as aliases,
// `path-esm` for `path`, its fast `process` polyfill and `global` as `globalThis`, terser without
// comments. Only the entry and output are ours. Used for both fixtures: `fixture` is the folder
// whose node_modules the bundle comes from (this one, or ../webtorrent3-5.0.9).
//   entry 'page': ./page.js, the test's application (in this folder only)
//   entry 'webtorrent': WebTorrent itself as a library on `window`, as webtorrent.min.js is built
//   (the size comparison)
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export default function config ({ fixture = fileURLToPath(new URL('.', import.meta.url)), entry = 'page', outputPath }) {
  const require = createRequire(join(fixture, 'package.json'))
  const webpack = require('webpack')
  const TerserPlugin = require('terser-webpack-plugin')
  const info = require('webtorrent/package.json')
  return {
    context: fixture,
    entry: entry === 'page' ? './page.js' : 'webtorrent',
    resolve: {
      aliasFields: ['browser'],
      alias: {
        ...info.browser,
        path: 'path-esm'
      }
    },
    output: {
      path: outputPath,
      filename: 'page.js',
      ...(entry === 'page' ? {} : { library: { name: 'WebTorrent', type: 'window', export: 'default' } })
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
