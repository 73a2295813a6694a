// The code examples of the README and docs/: every ```js and ```ts block, each as a module of its
// own for a strict TypeScript compile (test/readme.test.mjs against the repository's build,
// test/package/install.test.mjs against the packed tarball, in an empty project). A block that
// uses `require(` becomes a .cts module, any other a .mts one. A block that does not import the
// package is a snippet of the docs' running example: it is given the names it uses and does not
// declare (a `wire`, a `socket`, an `infoHash`...), typed as the docs describe them. (```sh and
// ```text blocks are commands and output: the package test runs the install recipes itself.)
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The names the docs' snippets share, and their types. */
const SHARED = {
  wire: "import('bittorrent-protocol').Wire",
  socket: "import('node:net').Socket",
  infoHash: 'string',
  peerId: 'string',
  myPeerId: 'string',
  pieceIndex: 'number',
  offset: 'number',
  length: 'number',
  block: 'Buffer',
  bitfield: "import('bitfield').default",
  dhtPort: 'number',
  piecesRoot: 'Buffer',
  fileLength: 'number',
  height: 'number',
  lookUp: '(hashHex: string) => Promise<{ infoHash: string } | undefined>',
  readBlock: '(index: number, offset: number, length: number) => Buffer',
  proofFor: "(request: import('bittorrent-protocol').HashRequest) => Buffer[] | null"
}

export function docFiles () {
  const files = [join(root, 'README.md')]
  const docs = join(root, 'docs')
  if (existsSync(docs)) for (const f of readdirSync(docs).filter(f => f.endsWith('.md')).sort()) files.push(join(docs, f))
  return files
}

/** [{ name, code, source }] for every ```js / ```ts block of the README and docs/. */
export function docExamples () {
  const examples = []
  for (const file of docFiles()) {
    const text = readFileSync(file, 'utf8')
    const base = file.slice(root.length).replace(/\.md$/, '').replace(/\W+/g, '_')
    let n = 0
    for (const m of text.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)) {
      const code = m[2]
      const line = text.slice(0, m.index).split('\n').length
      const cjs = /\brequire\(/.test(code)
      const standalone = /^import |\brequire\(/m.test(code)
      let prelude = ''
      if (!standalone) {
        for (const [name, type] of Object.entries(SHARED)) {
          const used = new RegExp(`(?<![\\w$.'"])${name}(?![\\w$])`).test(code)
          const declared = new RegExp(`\\b(?:const|let|var|function|class)\\s+${name}\\b`).test(code)
          if (used && !declared) prelude += `declare const ${name}: ${type}\n`
        }
        prelude += 'export {}\n'
      }
      examples.push({ name: `${base}_${++n}.${cjs ? 'cts' : 'mts'}`, code: prelude + code, source: `${file.slice(root.length)}:${line}` })
    }
  }
  return examples
}
