// The application's entry, as a user writes it (Vite, webpack, Rollup, esbuild). The test copies
// the scenario (test/browser/scenario.cjs: two wires piped together in the page) next to it.
import Wire from 'bittorrent-protocol'
import run from './scenario.cjs'

globalThis.runScenario = input => run(Wire, null, input)
