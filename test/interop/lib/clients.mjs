// The real clients: libtorrent (python binding), Transmission (transmission-cli), aria2 (aria2c).
import { mkdir, writeFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnClient, requireBinary, requireLibtorrent, freePort } from './procs.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/**
 * libtorrent via lt_peer.py. opts: torrentPath (or magnet: a magnet URI), dir, mode 'seed'|'download', connect ['127.0.0.1:port'],
 * outEncPolicy / inEncPolicy ('forced'|'enabled'|'disabled'), encLevel ('rc4'|'plaintext'|'both'),
 * uploadLimit (bytes/s for loopback peers), unchokeInterval, seedMode, keepRedundantConnections (stay connected
 * to seeds after finishing, so the peer list can be read then).
 * Resolves once it listens: { proc, port, infoHash, infoHashV2 } (hex; null for a hash the torrent lacks).
 */
export async function startLibtorrent (t, opts) {
  requireLibtorrent()
  const port = opts.port || await freePort()
  const source = opts.magnet ? ['--magnet', opts.magnet] : ['--torrent', opts.torrentPath]
  const args = [join(here, 'lt_peer.py'), ...source, '--dir', opts.dir, '--mode', opts.mode, '--port', String(port)]
  for (const c of opts.connect || []) args.push('--connect', c)
  if (opts.outEncPolicy) args.push('--out-enc-policy', opts.outEncPolicy)
  if (opts.inEncPolicy) args.push('--in-enc-policy', opts.inEncPolicy)
  if (opts.encLevel) args.push('--enc-level', opts.encLevel)
  if (opts.preferRc4) args.push('--prefer-rc4')
  if (opts.uploadLimit) args.push('--upload-limit', String(opts.uploadLimit))
  if (opts.unchokeInterval != null) args.push('--unchoke-interval', String(opts.unchokeInterval))
  if (opts.seedMode) args.push('--seed-mode')
  if (opts.keepRedundantConnections) args.push('--keep-redundant-connections')
  const proc = spawnClient(t, '/usr/bin/python3', ['-u', ...args], { json: true, label: 'libtorrent' })
  const ev = await proc.waitEvent('listening', 20000)
  return { proc, port: ev.port, infoHash: ev.info_hash, infoHashV2: ev.info_hash_v2 }
}

/**
 * Transmission via transmission-cli with its own config dir (settings.json: no DHT/LPD/PEX/port mapping,
 * fixed peer port, encryption 0 tolerated / 1 preferred / 2 required).
 */
export async function startTransmission (t, { torrentPath, configDir, downloadDir, encryption = 0, port }) {
  requireBinary('/usr/bin/transmission-cli', 'transmission-cli')
  port = port || await freePort()
  await mkdir(configDir, { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  const settings = {
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'port-forwarding-enabled': false,
    'peer-port': port,
    'peer-port-random-on-start': false,
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    encryption,
    'rpc-enabled': false,
    'blocklist-enabled': false,
    'download-dir': downloadDir,
    'incomplete-dir-enabled': false,
    'rename-partial-files': false,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'speed-limit-up-enabled': false,
    'speed-limit-down-enabled': false,
    'alt-speed-enabled': false,
    'peer-limit-global': 50,
    'peer-limit-per-torrent': 20,
    'start-added-torrents': true,
    'cache-size-mb': 4,
    'message-level': 2
  }
  await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2))
  const enc = ['-et', '-ep', '-er'][encryption]
  const proc = spawnClient(t, '/usr/bin/transmission-cli',
    ['-g', configDir, '-w', downloadDir, '-p', String(port), '-M', '-B', '-D', '-U', enc, torrentPath],
    { env: { HOME: configDir, TRANSMISSION_HOME: configDir }, label: 'transmission-cli' })
  return { proc, port }
}

/**
 * aria2 (aria2c) with DHT, LPD and PEX off, a fixed listen port, finding peers through our tracker.
 * seed: true → seed the files in dir forever (killed at test end); else download and exit when done.
 */
export async function startAria2 (t, { torrentPath, dir, seed, port, logFile }) {
  requireBinary('/usr/bin/aria2c', 'aria2')
  port = port || await freePort()
  const args = [
    '--no-conf=true',
    '--dir=' + dir,
    '--listen-port=' + port,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--disable-ipv6=true',
    '--file-allocation=none',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--bt-save-metadata=false',
    '--bt-require-crypto=false',
    '--bt-min-crypto-level=plain',
    '--bt-tracker-connect-timeout=5',
    '--bt-tracker-timeout=10',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--max-overall-upload-limit=0',
    '--max-overall-download-limit=0'
  ]
  if (logFile) args.push('--log=' + logFile, '--log-level=info')
  if (seed) args.push('--bt-seed-unverified=true', '--check-integrity=false', '--seed-ratio=0.0')
  else args.push('--seed-time=0')
  args.push(torrentPath)
  const proc = spawnClient(t, '/usr/bin/aria2c', args, { label: 'aria2c' })
  return { proc, port }
}
