// The code examples of the README and docs/: every ```js and ```ts block, each as a module of its
// own for a strict TypeScript compile (test/readme.test.mjs against the repository's build,
// test/package/install.test.mjs against the packed tarball, in an empty project): ```ts blocks
// as TypeScript, ```js blocks as JavaScript checked by TypeScript (checkJs), so `require()`d
// names are typed too. A block that uses `require(` becomes a CommonJS module, any other an ES one. A block that does not import the
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

/** [{ name, code, source }] for every ```js / ```ts block of the README and docs/ (bundler configs aside). */
export function docExamples () {
  const examples = []
  for (const file of docFiles()) {
    const text = readFileSync(file, 'utf8')
    const base = file.slice(root.length).replace(/\.md$/, '').replace(/\W+/g, '_')
    let n = 0
    for (const m of text.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)) {
      const js = m[1] === 'js'
      const code = m[2]
      // a bundler's config file (`// rollup.config.mjs`): the browser suite's bundler matrix builds
      // with those options (test/browser/bundlers.test.mjs); test/readme.test.mjs checks they match
      if (/^\/\/ [\w.-]+\.config\.[cm]?js\b/.test(code)) continue
      // a block that starts with `// name.d.ts` (.d.cts, .d.mts) is that declaration file, as the docs tell a user to write it
      const dts = /^\/\/ ([\w.-]+\.d\.[cm]?ts)\b/.exec(code)
      if (dts !== null) {
        ++n
        examples.push({ name: dts[1], code, source: `${file.slice(root.length)}:${text.slice(0, m.index).split('\n').length}` })
        continue
      }
      const line = text.slice(0, m.index).split('\n').length
      const cjs = /\brequire\(/.test(code)
      // names the block imports or declares itself
      const own = new Set()
      for (const im of code.matchAll(/^import\s+(?:type\s+)?([\s\S]*?)\s+from\s/gm)) for (const w of im[1].matchAll(/[\w$]+/g)) own.add(w[0])
      for (const im of code.matchAll(/^import\s+([\w$]+)\s*=/gm)) own.add(im[1])
      for (const d of code.matchAll(/\b(?:const|let|var|function|class)\s+([\w$]+)/g)) own.add(d[1])
      for (const d of code.matchAll(/\b(?:const|let|var)\s+\{([^}]*)\}/g)) for (const w of d[1].matchAll(/[\w$]+/g)) own.add(w[0])
      const uses = name => new RegExp(`(?<![\\w$.'"])${name}(?![\\w$'"])`).test(code.replace(/\/\/.*$/gm, ''))
      let prelude = ''
      const fromPackage = ['Wire', 'WireError', 'ErrorCodes', 'Extension'].filter(n => uses(n) && !own.has(n))
      if (fromPackage.length > 0) {
        const named = fromPackage.filter(n => n !== 'Wire')
        prelude += cjs
          ? `${js ? 'const Wire = require' : 'import Wire = require'}('bittorrent-protocol')\n${named.map(n => `const ${n} = Wire.${n}\n`).join('')}`
          : `import Wire${named.length > 0 ? `, { ${named.join(', ')} }` : ''} from 'bittorrent-protocol'\n`
      }
      for (const [name, type] of Object.entries(SHARED)) {
        if (!uses(name) || own.has(name)) continue
        prelude += js ? `/** @type {${type}} */\nconst ${name} = /** @type {any} */ (null)\n` : `declare const ${name}: ${type}\n`
      }
      if (!cjs && !/^(?:import|export) /m.test(code + prelude)) prelude += 'export {}\n'
      const ext = (cjs ? 'c' : 'm') + (js ? 'js' : 'ts')
      examples.push({ name: `${base}_${++n}.${ext}`, code: prelude + code, source: `${file.slice(root.length)}:${line}` })
    }
  }
  return examples
}
