// esbuild entry. The page never has a global Buffer, global or process (the test's build gives
// ut_metadata 3.x, which needs a Buffer, its own), so the package is proven not to need them.
import { probe } from './probe.mjs'
import Wire, { WireError, ErrorCodes } from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import run from './scenario.cjs'

globalThis.runScenario = async input => {
  const out = await run(Wire, utMetadata, input)
  return {
    bundler: 'esbuild',
    globals: { atLoad: probe, afterRun: nodeGlobals() },
    named: { WireError: WireError === Wire.WireError, ErrorCodes: ErrorCodes === Wire.ErrorCodes },
    ...out
  }
}

function nodeGlobals () {
  return { Buffer: typeof globalThis.Buffer, global: typeof globalThis.global, process: typeof globalThis.process }
}
