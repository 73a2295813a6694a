/**
 * The progress bar (cli-progress) on stderr: only on a terminal, and not with --json or
 * --no-progress. Shows bytes, MB/s and pieces verified.
 */
import cliProgress from 'cli-progress'
import { mbPerSec } from './util.js'

const MiB = 1024 * 1024

export class Progress {
  private bar: InstanceType<typeof cliProgress.SingleBar> | null = null
  private started = 0

  constructor (enabled: boolean, label: string) {
    if (enabled && process.stderr.isTTY === true) {
      this.bar = new cliProgress.SingleBar({
        format: `${label} {bar} {percentage}% | {done}/{size} MiB | {speed} MB/s | {pieces} pieces verified`,
        stream: process.stderr,
        hideCursor: true,
        barsize: 30,
        fps: 10
      }, cliProgress.Presets.shades_classic)
    }
  }

  start (totalBytes: number, totalPieces: number): void {
    this.started = Date.now()
    this.bar?.start(totalBytes, 0, { done: '0.0', size: (totalBytes / MiB).toFixed(1), speed: '0.0', pieces: `0/${totalPieces}` })
    this.totalPieces = totalPieces
  }

  private totalPieces = 0

  update (bytes: number, pieces: number): void {
    this.bar?.update(bytes, {
      done: (bytes / MiB).toFixed(1),
      speed: mbPerSec(bytes, Date.now() - this.started).toFixed(1),
      pieces: `${pieces}/${this.totalPieces}`
    })
  }

  stop (): void {
    this.bar?.stop()
    this.bar = null
  }
}
