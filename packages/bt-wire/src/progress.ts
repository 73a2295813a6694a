/**
 * Progress on stderr, wherever stderr goes. On a terminal: a bar (cli-progress) with the
 * speed and an ETA. Elsewhere (a log file, a pipe, CI): one plain line every few seconds and
 * one at the end. Sizes and speeds are both in binary units (KiB, MiB, MiB/s).
 */
import cliProgress from 'cli-progress'
import { formatBytes, formatDuration, formatRate } from './util.js'

export interface ProgressOptions {
  /** Off with --no-progress (and --json). */
  enabled: boolean
  /** "fetch", "check", "hash"... */
  label: string
  /** Seconds between plain lines when stderr is not a terminal. */
  intervalMs?: number
}

export class Progress {
  private bar: InstanceType<typeof cliProgress.SingleBar> | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly lines: boolean
  private readonly label: string
  private readonly intervalMs: number
  private started = 0
  private startBytes = 0
  private totalBytes = 0
  private totalPieces = 0
  private bytes = 0
  private pieces = 0
  /** Recent (time, bytes) samples: the speed of the last few seconds drives the ETA. */
  private samples: Array<[number, number]> = []

  constructor (opts: ProgressOptions) {
    this.label = opts.label
    this.intervalMs = opts.intervalMs ?? 5000
    const tty = process.stderr.isTTY === true
    this.lines = opts.enabled && !tty
    if (opts.enabled && tty) {
      this.bar = new cliProgress.SingleBar({
        format: `${opts.label} {bar} {percentage}% | {done} of {size} | {speed} | ETA {timeLeft}{pieces}`,
        stream: process.stderr,
        hideCursor: true,
        barsize: 30,
        fps: 10
      }, cliProgress.Presets.shades_classic)
    }
  }

  /** `doneBytes` / `donePieces`: already there before this run (resumed data). */
  start (totalBytes: number, totalPieces: number, doneBytes = 0, donePieces = 0): void {
    this.started = Date.now()
    this.totalBytes = totalBytes
    this.totalPieces = totalPieces
    this.bytes = this.startBytes = doneBytes
    this.pieces = donePieces
    this.samples = [[this.started, doneBytes]]
    this.bar?.start(totalBytes, doneBytes, this.fields())
    if (this.lines) {
      this.timer = setInterval(() => this.line(false), this.intervalMs)
      this.timer.unref()
    }
  }

  update (bytes: number, pieces: number): void {
    this.bytes = bytes
    this.pieces = pieces
    const now = Date.now()
    this.samples.push([now, bytes])
    while (this.samples.length > 2 && now - this.samples[1][0] > 10000) this.samples.shift()
    this.bar?.update(bytes, this.fields())
  }

  /** `done`: print the last plain line (a finished run); otherwise stop quietly. */
  stop (done = false): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.bar?.stop()
    this.bar = null
    if (this.lines && done) this.line(true)
  }

  /** Bytes per second over the last ~10 s (the whole run at the end). */
  private rate (whole: boolean): number {
    const now = Date.now()
    const [t0, b0] = whole ? [this.started, this.startBytes] : this.samples[0]
    const ms = now - t0
    return ms > 0 ? (this.bytes - b0) / (ms / 1000) : 0
  }

  private eta (): string {
    const left = this.totalBytes - this.bytes
    if (left <= 0) return '0 s'
    const r = this.rate(false)
    return r > 0 ? formatDuration(left / r * 1000) : '?'
  }

  private fields (): Record<string, string> {
    return {
      done: formatBytes(this.bytes),
      size: formatBytes(this.totalBytes),
      speed: formatRate(this.rate(false)),
      timeLeft: this.eta(),
      pieces: this.totalPieces > 0 ? ` | ${this.pieces}/${this.totalPieces} pieces` : ''
    }
  }

  private line (done: boolean): void {
    const pct = this.totalBytes > 0 ? Math.floor(this.bytes / this.totalBytes * 100) : 100
    const elapsed = Date.now() - this.started
    const tail = done
      ? `${formatRate(this.rate(true))} on average, ${formatDuration(elapsed)}`
      : `${formatRate(this.rate(false))}, ETA ${this.eta()}`
    const pieces = this.totalPieces > 0 ? `${this.pieces}/${this.totalPieces} pieces, ` : ''
    process.stderr.write(`${this.label}: ${pct}% ${formatBytes(this.bytes)} of ${formatBytes(this.totalBytes)}, ${pieces}${tail}\n`)
  }
}
