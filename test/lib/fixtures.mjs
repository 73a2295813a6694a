// What the fixture installers (test/interop/setup-fixtures.mjs, test/browser/setup-fixtures.mjs)
// share: npm run in a fixture folder, the "installed and not older than its lockfile" check, and
// the command line that installs the fixtures named (all of them by default).
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Run npm with `args` in `cwd`; throws with its output when it fails. */
export function npm (cwd, args) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} in ${cwd} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** The fixture in `dir` was installed from its lockfile as it is now (npm's marker is not older). */
export function installedFromLockfile (dir) {
  const marker = join(dir, 'node_modules', '.package-lock.json')
  return existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs
}

/**
 * When the module at `moduleUrl` is the script node runs: install the fixtures named on the
 * command line (all of `names` without any), timing each.
 */
export function installFromCommandLine (moduleUrl, names, install, label) {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return
  for (const name of process.argv.length > 2 ? process.argv.slice(2) : names) {
    const t0 = Date.now()
    install(name)
    console.log(`${label} ${name}: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }
}
