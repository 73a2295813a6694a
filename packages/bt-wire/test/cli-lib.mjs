// Running the bt-wire CLI (bin/bt-wire.js, which loads the build in dist/) as a child process in tests.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BT_WIRE = fileURLToPath(new URL('../bin/bt-wire.js', import.meta.url))

/** Run bt-wire to its end (bounded): { code, stdout, stderr, json } (json: stdout parsed, if it is JSON). */
export function runCli (args, { timeoutMs = 60000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BT_WIRE, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', s => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', s => { stderr += s })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`bt-wire ${args.join(' ')} did not end within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', code => {
      clearTimeout(timer)
      let json
      try { json = JSON.parse(stdout) } catch {}
      resolve({ code, stdout, stderr, json })
    })
  })
}

/**
 * Start `bt-wire seed ... --json` and wait for its "listening" event. Ended by its pid when
 * the test ends (t.after). Returns { child, listening, events, stop() → { code, events } }.
 */
export async function startSeed (t, args, { timeoutMs = 60000 } = {}) {
  const child = spawn(process.execPath, [BT_WIRE, 'seed', ...args, '--json', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const events = []
  let stderr = ''
  let buf = ''
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bt-wire seed did not listen within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    child.stderr.setEncoding('utf8').on('data', s => { stderr += s })
    child.stdout.setEncoding('utf8').on('data', s => {
      buf += s
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const ev = JSON.parse(line)
        events.push(ev)
        if (ev.event === 'listening') { clearTimeout(timer); resolve(ev) }
      }
    })
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`bt-wire seed exited (${code}) before listening: ${stderr}`)) })
  })
  return {
    child,
    listening,
    events,
    get stderr () { return stderr },
    async stop () {
      child.kill('SIGTERM')
      const { code } = await exited
      return { code, events }
    }
  }
}

/** A one-line error on stderr, with no stack trace. */
export function oneLineError (stderr) {
  const lines = stderr.trim().split('\n')
  return lines.length === 1 && lines[0].startsWith('bt-wire: ') && !/\n\s+at /.test(stderr)
}

/**
 * Start bt-wire without waiting for its end: { child, stdout(), stderr(), exited } (exited resolves
 * to { code, signal, ms }). Killed by its pid when the test ends, if it is still running.
 */
export function spawnCli (t, args) {
  const started = Date.now()
  const child = spawn(process.execPath, [BT_WIRE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', s => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', s => { stderr += s })
  const exited = new Promise(resolve => child.once('close', (code, signal) => resolve({ code, signal, ms: Date.now() - started })))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** Wait until fn() is true (polled every 20 ms), or fail after ms. */
export async function until (fn, ms, what) {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
