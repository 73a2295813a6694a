// browserify entry: the user's named tool, through package.json's `browser` field.
const Wire = require('bittorrent-protocol')
const utMetadata = require('ut_metadata')
const run = require('./scenario.cjs')

globalThis.runScenario = async input => ({ bundler: 'browserify', ...await run(Wire, utMetadata, input) })
