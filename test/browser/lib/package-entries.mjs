// The files an installed package.json names as its entries for a page and for Node: the strings
// under its exports' `browser` condition and in its `browser` field, and those under the other
// conditions and in `main` / `module`. Tests check what a bundler took against these, so that they
// hold whatever the build's files are called.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const norm = p => p.replace(/^\.\//, '')

function strings (value, out = []) {
  if (typeof value === 'string') out.push(norm(value))
  else if (value && typeof value === 'object') for (const [key, v] of Object.entries(value)) if (key !== 'types') strings(v, out)
  return out
}

export function packageEntries (dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const dot = pkg.exports?.['.'] ?? {}
  const browser = new Set([...strings(dot.browser), ...strings(typeof pkg.browser === 'object' ? Object.values(pkg.browser) : pkg.browser)])
  const node = new Set([...Object.entries(dot).filter(([key]) => key !== 'browser').flatMap(([, v]) => strings(v)), ...strings([pkg.main, pkg.module])])
  for (const file of browser) node.delete(file)
  return { browser, node }
}
