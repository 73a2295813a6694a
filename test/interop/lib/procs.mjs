// Starting and ending the real clients: binaries, free ports, processes killed by pid when the test ends.
import { existsSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import net from 'node:net'
import { once } from 'node:events'

/** Fail (never skip) when a client is missing, naming the Debian package. */
export function requireBinary (path, pkg) {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})`)
  }
}

let ltChecked = false
export function requireLibtorrent () {
  if (ltChecked) return
  requireBinary('/usr/bin/python3', 'python3')
  const r = spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { encoding: 'utf8' })
  if (r.status !== 0) {
    throw new Error('libtorrent\'s python binding is missing for /usr/bin/python3: install the Debian package python3-libtorrent (apt-get install -y python3-libtorrent)\n' + r.stderr)
  }
  ltChecked = true
}

/** A port that was free a moment ago on 127.0.0.1 (for clients that need a fixed port). */
export async function freePort () {
  const srv = net.createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address()
  srv.close()
  await once(srv, 'close')
  return port
}

/**
 * Spawn a client and end it by its pid when the test ends (t.after), also on failure.
 * Keeps the last output for error messages; parses JSON lines on stdout when asked.
 */
export function spawnClient (t, cmd, args, { env, cwd, json = false, label = cmd } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  const proc = new ClientProcess(child, label, json)
  t.after(() => proc.kill())
  return proc
}

class ClientProcess {
  constructor (child, label, json) {
    this.child = child
    this.label = label
    this.events = []
    this.waiters = []
    this.tail = ''
    this.exited = null
    this.exitPromise = new Promise(resolve => child.once('exit', (code, signal) => {
      this.exited = { code, signal }
      resolve(this.exited)
      this._check()
    }))
    child.on('error', err => { this.spawnError = err; this._check() })
    let buf = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', s => {
      this._keep(s)
      if (!json) return
      buf += s
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (!line.startsWith('{')) continue
        try { this.events.push(JSON.parse(line)) } catch { continue }
        this._check()
      }
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', s => this._keep(s))
    child.stdin.on('error', () => {})
  }

  _keep (s) {
    this.tail = (this.tail + s).slice(-4000)
  }

  _check () {
    for (const w of this.waiters.slice()) w()
  }

  send (obj) {
    if (!this.exited) this.child.stdin.write(JSON.stringify(obj) + '\n')
  }

  /** Wait for a JSON event (by name or predicate); fails on timeout, on 'fatal' and when the process exits. */
  waitEvent (pred, ms, what = String(pred)) {
    const test = typeof pred === 'function' ? pred : e => e.event === pred
    return new Promise((resolve, reject) => {
      let timer
      const done = (fn, v) => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter(w => w !== check)
        fn(v)
      }
      const check = () => {
        const hit = this.events.find(test)
        if (hit) return done(resolve, hit)
        const fatal = this.events.find(e => e.event === 'fatal')
        if (fatal) return done(reject, new Error(`${this.label}: ${fatal.error}`))
        if (this.spawnError) return done(reject, new Error(`${this.label} did not start: ${this.spawnError.message}`))
        if (this.exited) return done(reject, new Error(`${this.label} exited (${JSON.stringify(this.exited)}) while waiting for ${what}; output:\n${this.tail}`))
      }
      timer = setTimeout(() => done(reject, new Error(`${this.label}: timed out after ${ms} ms waiting for ${what}; output:\n${this.tail}`)), ms)
      this.waiters.push(check)
      check()
    })
  }

  /** Wait for the process to exit by itself (bounded). */
  async waitExit (ms) {
    let timer
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: did not exit within ${ms} ms; output:\n${this.tail}`)), ms)
    })
    try {
      return await Promise.race([this.exitPromise, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** End the process we started, by its pid: SIGTERM, then SIGKILL. */
  async kill () {
    if (this.exited || this.spawnError || !this.child.pid) return
    try { process.kill(this.child.pid, 'SIGTERM') } catch { return }
    const t = setTimeout(() => { try { process.kill(this.child.pid, 'SIGKILL') } catch {} }, 3000)
    await this.exitPromise
    clearTimeout(t)
  }
}
