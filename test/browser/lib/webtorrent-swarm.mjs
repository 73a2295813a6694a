// One WebTorrent swarm in a browser, run as its own process (so that it can be started inside a
// loopback-only network namespace, see webtorrent.test.mjs): an HTTP server for the page and a
// bittorrent-tracker WebSocket server, both on 127.0.0.1; two browser contexts on the page; the
// first seeds SIZE random bytes, the second downloads them by magnet over WebRTC. Prints one JSON
// line of what happened; webtorrent.test.mjs makes the assertions.
//
//   node webtorrent-swarm.mjs <chromium|firefox> <folder holding page.js> <bytes>
//
// Loopback WebRTC: no ICE servers, so only host candidates; Chromium leaves 127.0.0.1 out of them
// unless --allow-loopback-in-peer-connection, and hides host addresses behind mDNS names unless the
// page holds a media permission (hence the microphone grant); Firefox the same through its prefs
// media.peerconnection.ice.loopback and permissions.default.microphone.
import http from 'node:http'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const fixture = join(here, '..', 'webtorrent3')
const requireTools = createRequire(join(here, '..', 'tools', 'package.json'))
const [browserName, pageDir, sizeArg] = process.argv.slice(2)
const SIZE = Number(sizeArg)
const CHROMIUM = '/usr/bin/chromium'
const FIREFOX = '/usr/bin/firefox-esr'

const out = { browser: browserName, errors: [], console: [] }
const cleanup = []

async function main () {
  const pageJs = readFileSync(join(pageDir, 'page.js'))
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><meta charset="utf-8"><title>WebTorrent</title><script src="/page.js"></script>')
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end()
    } else if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(pageJs)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => new Promise(resolve => server.close(resolve)))
  const origin = `http://127.0.0.1:${server.address().port}`

  // the tracker: bittorrent-tracker's own Server (the one WebTorrent's page carries the client of),
  // WebSocket only
  const { default: Server } = await import(pathToFileURL(join(fixture, 'node_modules', 'bittorrent-tracker', 'server.js')))
  // (interval: WebSocket clients announce again every interval / 5, here 5 s, each time with new
  // WebRTC offers, so that a connection attempt lost to a slow ICE exchange is tried again)
  const tracker = new Server({ udp: false, http: false, ws: true, stats: false, interval: 25000 })
  const announced = new Set()
  out.announces = 0
  tracker.on('start', addr => announced.add(addr))
  for (const event of ['start', 'update', 'complete']) tracker.on(event, () => out.announces++)
  tracker.on('warning', err => out.errors.push(`tracker warning: ${err.message}`))
  tracker.on('error', err => out.errors.push(`tracker error: ${err.message}`))
  await new Promise(resolve => tracker.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => new Promise(resolve => tracker.close(resolve)))
  const announce = `ws://127.0.0.1:${tracker.ws.address().port}`

  const pages = await openPages(origin)
  const t0 = Date.now()
  out.seed = await pages[0].evaluate(arg => globalThis.seed(arg), { announce, size: SIZE })
  // the seeder is in the tracker's swarm before the downloader asks for peers
  for (const start = Date.now(); announced.size === 0 && Date.now() - start < 20000;) await new Promise(resolve => setTimeout(resolve, 50))
  const t1 = Date.now()
  out.download = await pages[1].evaluate(arg => globalThis.download(arg), { announce, magnetURI: out.seed.magnetURI })
  out.seconds = { seed: (t1 - t0) / 1000, download: (Date.now() - t1) / 1000 }
  out.trackerPeers = announced.size
}

async function openPages (origin) {
  const pages = []
  if (browserName === 'chromium') {
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage', '--allow-loopback-in-peer-connection']
    })
    cleanup.unshift(() => browser.close())
    out.version = browser.version()
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext()
      await context.grantPermissions(['microphone'], { origin })
      const page = await context.newPage()
      page.on('pageerror', err => out.errors.push(`page ${i}: ${err.message}`))
      page.on('console', msg => { if (msg.type() === 'error') out.console.push(`page ${i}: ${msg.text()}`) })
      await page.goto(origin)
      pages.push(page)
    }
  } else if (browserName === 'firefox') {
    const puppeteer = (await import(pathToFileURL(requireTools.resolve('puppeteer-core')))).default
    // a HOME of this process's own: Firefox will not run as root with a HOME owned by another
    // user, which is what a user namespace's root (`unshare -rn`) sees of the caller's HOME
    const home = mkdtempSync(join(tmpdir(), 'bt-firefox-home-'))
    cleanup.push(async () => rmSync(home, { recursive: true, force: true }))
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      env: { ...process.env, HOME: home },
      extraPrefsFirefox: {
        'media.peerconnection.ice.loopback': true,
        'permissions.default.microphone': 1
      }
    })
    cleanup.unshift(() => browser.close())
    out.version = await browser.version()
    for (let i = 0; i < 2; i++) {
      const context = await browser.createBrowserContext()
      const page = await context.newPage()
      page.on('pageerror', err => out.errors.push(`page ${i}: ${err.message}`))
      page.on('console', msg => { if (msg.type() === 'error') out.console.push(`page ${i}: ${msg.text()}`) })
      await page.goto(origin)
      pages.push(page)
    }
  } else {
    throw new Error(`unknown browser ${browserName}`)
  }
  return pages
}

let code = 0
try {
  await main()
} catch (err) {
  out.errors.push(`run: ${err.stack || err.message}`)
  code = 1
} finally {
  for (const fn of cleanup) await fn().catch(err => out.errors.push(`cleanup: ${err.message}`))
}
process.stdout.write(JSON.stringify(out) + '\n')
process.exit(code)
