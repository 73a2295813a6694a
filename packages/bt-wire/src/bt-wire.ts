#!/usr/bin/env node
/**
 * bt-wire: probe, fetch from and seed to one BitTorrent peer with this package's Wire,
 * and the loopback demo that `npm start` runs.
 */
import { parseArgs } from 'node:util'
import { demo } from './demo.js'
import { probe, printProbe } from './probe.js'
import { fetch } from './fetch.js'
import { seed } from './seed.js'
import { CliError, Exit, VERSION, parseHostPort, parsePort, parseSeconds, parseSize, usageError } from './util.js'

const EXIT_CODES = `Exit codes:
  0    success
  1    failure: a piece that keeps failing its hash, a file error, a peer that stalls
  2    bad input: arguments, a file that is not a .torrent, a v2-only torrent
  3    no connection: refused, unreachable, timed out
  4    connected, but it cannot serve us: not a BitTorrent peer (HTTP, TLS, SSH...),
       no answer to the handshake, another torrent, no MSE, none of the pieces we need
  5    the peer broke the protocol
  130  interrupted (Ctrl-C, SIGINT; SIGTERM too): fetch keeps what it verified
With --json a failure is one JSON object on stdout: {"error", "code", "exitCode"}.`

const UNITS = `Sizes and speeds are in binary units: KiB = 1024 bytes, MiB = 1024 KiB, MiB/s.`

const HELP: Record<string, string> = {
  main: `bt-wire ${VERSION}: talk to one BitTorrent peer with bittorrent-protocol's Wire.

Usage: bt-wire <command> [options]

Commands:
  demo    a seeder and a leecher wire move a generated payload over 127.0.0.1
  probe   ask a peer what it is and what it offers for a torrent
  fetch   download a torrent from one peer (metadata via ut_metadata if needed)
  seed    serve a file, folder or .torrent to every peer that connects

Run "bt-wire help <command>" (or "bt-wire <command> --help") for a command's options.

Options:
  -h, --help        this help
  -v, --version     print the version (${VERSION})

Progress goes to stderr: a bar with an ETA on a terminal, otherwise a plain line every
few seconds (--progress-interval) and one at the end; --no-progress turns it off.
${UNITS}

${EXIT_CODES}
`,
  demo: `Usage: bt-wire demo [--size 64MiB] [--piece 256KiB] [--fast] [--encrypt] [--json]

In one process, a seeder wire and a leecher wire talk over a real TCP connection on
127.0.0.1; the leecher downloads a random payload with pipelined 16 KiB requests and
checks every piece's SHA-1. Prints the speed in MiB/s (2^20 bytes per second) at the end.

Options:
  --size SIZE       payload size, up to 1GiB (default 64MiB; units B, KiB, MiB, GiB, KB, MB, GB)
  --piece SIZE      piece length (default 256KiB)
  --fast            negotiate the fast extension (BEP 6): have-all instead of a bitfield
  --encrypt         message stream encryption (MSE, RC4) on the connection
  --pipeline N      block requests in flight (default 128)
  --no-progress     no progress on stderr
  --json            print the result as one JSON object

${UNITS}
`,
  probe: `Usage: bt-wire probe HOST:PORT INFOHASH [--json] [--encrypt]

Connects, handshakes for INFOHASH (40 hex digits, or a magnet link or .torrent file), and
reports the peer's client (decoded from its peer id), its reserved bits, its extended
handshake (v, m, metadata_size, reqq, yourip, upload_only), how many pieces it has, its
allowed-fast set and whether it unchokes us after "interested".

Options:
  --encrypt         connect with MSE (RC4) required
  --timeout SECONDS for connecting and the handshake (default 10)
  --wait SECONDS    how long to wait for an unchoke after interested (default 5)
  --json            print the report as one JSON object

${EXIT_CODES}
`,
  fetch: `Usage: bt-wire fetch MAGNET|INFOHASH|FILE.torrent --peer HOST:PORT [-o DIR]

Downloads the torrent from one peer. With a magnet link or an info hash, the info
dictionary is fetched first with ut_metadata (BEP 9). Every piece is SHA-1 checked and
written into the torrent's files under DIR.

Resume: files are written as NAME.part and renamed to NAME when the whole torrent is
verified, so a file under its final name is complete. Run the same command again after
Ctrl-C (exit 130) or a failure: the data on disk is checked piece by piece and only the
missing pieces are fetched. An existing NAME is checked, never overwritten.
Hybrid (v1 + v2) magnet links work; v2-only torrents (urn:btmh only) are not supported.

Options:
  --peer HOST:PORT  the peer (optional for a magnet link with x.pe=HOST:PORT)
  -o, --out DIR     output directory (default: the current directory)
  --encrypt         connect with MSE (RC4) required
  --timeout SECONDS connecting, handshake, metadata and each request (default 10)
  --stall SECONDS   give up when no data arrives for this long (default 30); a peer
                    that has none of the pieces ends it at once (exit 4)
  --pipeline N      block requests in flight (default 128, at most the peer's reqq)
  --no-progress     no progress on stderr
  --progress-interval SECONDS
                    between progress lines when stderr is not a terminal (default 5)
  --json            print the result (or the failure) as one JSON object

${UNITS}

${EXIT_CODES}
`,
  seed: `Usage: bt-wire seed PATH|FILE.torrent [--port N]

Listens first (a port in use fails at once), then makes a torrent of a file or folder
(create-torrent), or checks the data of an existing .torrent, with progress on stderr,
then serves every peer that connects: the whole torrent, and the info dictionary over
ut_metadata. Peers that connect before the data is ready are closed. Prints the info hash and a magnet link (with x.pe, so
"bt-wire fetch MAGNET" finds this seed). Runs until Ctrl-C (SIGINT) or SIGTERM.

Options:
  --port N          TCP port (default 6881; 0 picks a free one)
  --host ADDRESS    address to listen on (default 0.0.0.0)
  --piece SIZE      piece length of a new torrent (default: create-torrent's choice)
  --data DIR        where an existing .torrent's files are (default: the .torrent's folder)
  --save-torrent F  write the .torrent file to F
  --encrypt         accept only MSE (RC4) connections (default: plain and MSE)
  --timeout SECONDS a peer must finish its handshake within this time, and then send
                    something at least every 5 times this (default 30)
  --no-progress     no progress while hashing or checking
  --progress-interval SECONDS
                    between progress lines when stderr is not a terminal (default 5)
  --json            print events as JSON lines

${UNITS}

${EXIT_CODES}
`
}

const common = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  encrypt: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'progress-interval': { type: 'string' }
} as const

function parse<T extends Record<string, { type: 'string' | 'boolean', short?: string }>> (args: string[], options: T): { values: Record<string, string | boolean | undefined>, positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true }) as any
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''))
  }
}

const str = (v: string | boolean | undefined): string | undefined => typeof v === 'string' ? v : undefined

function pipelineOf (v: string | boolean | undefined): number {
  const text = str(v)
  if (text === undefined) return 128
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 2000) throw usageError(`--pipeline: "${text}" must be a whole number 1..2000`)
  return n
}

function positionals (cmd: string, got: string[], names: string[]): string[] {
  if (got.length !== names.length) {
    throw usageError(`${cmd} takes ${names.join(' ')}${got.length > names.length ? `; unexpected "${got[names.length]}"` : ''} (see bt-wire ${cmd} --help)`)
  }
  return got
}

const COMMANDS = ['demo', 'probe', 'fetch', 'seed']

function progressInterval (v: string | boolean | undefined): number {
  return parseSeconds(str(v) ?? '5', '--progress-interval')
}

async function main (argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv
  if (cmd === 'help' && rest.length > 0) {
    if (!COMMANDS.includes(rest[0])) throw usageError(`no help for "${rest[0]}": the commands are ${COMMANDS.join(', ')}`)
    process.stdout.write(HELP[rest[0]])
    return
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP.main)
    if (cmd === undefined) process.exitCode = Exit.USAGE
    return
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') { process.stdout.write(VERSION + '\n'); return }
  if (!COMMANDS.includes(cmd)) throw usageError(`unknown command "${cmd}" (commands: ${COMMANDS.join(', ')}; see bt-wire --help)`)
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(HELP[cmd]); return }

  switch (cmd) {
    case 'demo': {
      const { values, positionals: pos } = parse(rest, { size: { type: 'string' }, piece: { type: 'string' }, fast: { type: 'boolean' }, pipeline: { type: 'string' } })
      positionals('demo', pos, [])
      await demo({
        size: parseSize(str(values.size) ?? '64MiB', '--size'),
        pieceLength: parseSize(str(values.piece) ?? '256KiB', '--piece'),
        fast: values.fast === true,
        encrypt: values.encrypt === true,
        pipeline: pipelineOf(values.pipeline),
        progress: values['no-progress'] !== true,
        json: values.json === true
      })
      return
    }
    case 'probe': {
      const { values, positionals: pos } = parse(rest, { timeout: { type: 'string' }, wait: { type: 'string' } })
      const [peer, target] = positionals('probe', pos, ['HOST:PORT', 'INFOHASH'])
      const { host, port } = parseHostPort(peer)
      const out = { json: values.json === true }
      const report = await probe({
        host,
        port,
        target,
        encrypt: values.encrypt === true,
        timeoutMs: parseSeconds(str(values.timeout) ?? '10', '--timeout'),
        waitMs: parseSeconds(str(values.wait) ?? '5', '--wait'),
        ...out
      })
      printProbe(report, out)
      return
    }
    case 'fetch': {
      const { values, positionals: pos } = parse(rest, {
        peer: { type: 'string' }, out: { type: 'string', short: 'o' }, timeout: { type: 'string' }, stall: { type: 'string' }, pipeline: { type: 'string' }
      })
      const [target] = positionals('fetch', pos, ['MAGNET|INFOHASH|FILE.torrent'])
      const peer = str(values.peer) ?? null
      if (peer !== null) parseHostPort(peer)
      await fetch({
        target,
        peer,
        outDir: str(values.out) ?? '.',
        encrypt: values.encrypt === true,
        timeoutMs: parseSeconds(str(values.timeout) ?? '10', '--timeout'),
        stallMs: parseSeconds(str(values.stall) ?? '30', '--stall'),
        pipeline: pipelineOf(values.pipeline),
        progress: values['no-progress'] !== true,
        progressIntervalMs: progressInterval(values['progress-interval']),
        json: values.json === true
      })
      return
    }
    case 'seed': {
      const { values, positionals: pos } = parse(rest, {
        port: { type: 'string' }, host: { type: 'string' }, piece: { type: 'string' }, data: { type: 'string' }, 'save-torrent': { type: 'string' }, timeout: { type: 'string' }
      })
      const [path] = positionals('seed', pos, ['PATH|FILE.torrent'])
      const piece = str(values.piece)
      await seed({
        path,
        dataDir: str(values.data) ?? null,
        host: str(values.host) ?? '0.0.0.0',
        port: parsePort(str(values.port) ?? '6881'),
        pieceLength: piece === undefined ? undefined : parseSize(piece, '--piece'),
        encrypt: values.encrypt === true,
        saveTorrent: str(values['save-torrent']) ?? null,
        timeoutMs: parseSeconds(str(values.timeout) ?? '30', '--timeout'),
        progress: values['no-progress'] !== true,
        progressIntervalMs: progressInterval(values['progress-interval']),
        json: values.json === true
      })
    }
  }
}

/** --json anywhere in the arguments: failures are JSON on stdout too. */
const JSON_OUTPUT = process.argv.slice(2).includes('--json')

/**
 * End with a one-line error on stderr: a CliError's own exit code, 1 for anything else (its
 * stack only with DEBUG set). With --json, also { error, code, exitCode } on stdout.
 */
function internalError (err: unknown): void {
  const e = err as Error
  const cli = err instanceof CliError ? err : new CliError(Exit.FAILURE, e?.message ?? String(err), (e as NodeJS.ErrnoException)?.code ?? 'FAILURE')
  process.stderr.write(`bt-wire: ${cli.message}${!(err instanceof CliError) && process.env.DEBUG ? '\n' + (e?.stack ?? '') : ''}\n`)
  if (!JSON_OUTPUT) process.exit(cli.exitCode)
  process.exitCode = cli.exitCode
  process.stdout.write(JSON.stringify({ error: cli.message, code: cli.code, exitCode: cli.exitCode }) + '\n', () => process.exit(cli.exitCode))
}

// a closed pipe on stdout (bt-wire ... | head) ends the command quietly
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(Exit.OK); internalError(err) })
process.on('uncaughtException', internalError)
process.on('unhandledRejection', internalError)

main(process.argv.slice(2)).then(() => {
  // wires and sockets are closed; do not wait for stray timers, but let stdout drain into a
  // pipe first (a large --json report is more than one pipe buffer)
  process.stdout.write('', () => process.exit(process.exitCode ?? Exit.OK))
}, internalError)
