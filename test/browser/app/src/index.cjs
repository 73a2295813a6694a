// The application's entry for browserify (CommonJS, as browserify users write it).
const Wire = require('bittorrent-protocol')
const run = require('./scenario.cjs')

globalThis.runScenario = input => run(Wire, null, input)
