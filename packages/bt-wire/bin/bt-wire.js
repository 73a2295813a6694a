#!/usr/bin/env node
// The bt-wire command: runs the compiled CLI (dist/, made by `npm run build`).
import '../dist/bt-wire.js'
