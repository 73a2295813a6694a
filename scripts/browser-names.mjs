// Which property names the browser build may shorten (scripts/build.mjs, esbuild's mangleProps).
// esbuild renames a mangled name everywhere in the bundle, whatever object it is read on, so a
// name may be shortened only if nothing outside the bundle spells it: no consumer (whatever the
// published types show), no plugin or dependency, no browser or Node API our code could reach,
// no string. What is left are the members of our own classes, interfaces and objects that only
// our code uses. The pieces here find each of those sets; build.mjs puts them together.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { transformSync } from 'esbuild'

/** Every identifier-like word of a text. */
export function wordsOf (text) {
  return new Set(text.match(/[A-Za-z_$][\w$]*/g) ?? [])
}

/** The property names esbuild sees in a script (dot reads, object and class keys, destructuring): what mangleProps would rename. */
export function propertyNames (code) {
  return Object.keys(transformSync(code, { mangleProps: /./, mangleCache: {}, logLevel: 'silent' }).mangleCache)
}

// a `/` after one of these starts a regular expression, after any other word a division
const BEFORE_EXPRESSION = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await'])

/**
 * The string literals of a script, template texts included: scanned just far enough to tell a
 * string from a comment, a regular expression from a division and a template's text from its ${}.
 */
export function stringsOf (code) {
  const out = []
  const depths = [] // one per template ${ we are in: the braces opened inside it
  let regexOk = true
  let i = 0
  const template = () => { // in a template's text: up to its end or its next ${
    let text = ''
    for (;;) {
      const c = code[i++]
      if (c === undefined) throw new Error('unterminated template literal')
      if (c === '\\') { text += code[i++]; continue }
      if (c === '`') { out.push(text); regexOk = false; return }
      if (c === '$' && code[i] === '{') { i++; out.push(text); depths.push(0); regexOk = true; return }
      text += c
    }
  }
  while (i < code.length) {
    const c = code[i]
    if (c === '"' || c === "'") {
      let text = ''
      for (i++; code[i] !== c; i++) {
        if (code[i] === '\\') i++
        if (i >= code.length) throw new Error('unterminated string literal')
        text += code[i]
      }
      i++
      out.push(text)
      regexOk = false
    } else if (c === '`') {
      i++
      template()
    } else if (c === '/' && code[i + 1] === '/') {
      while (i < code.length && code[i] !== '\n') i++
    } else if (c === '/' && code[i + 1] === '*') {
      i = code.indexOf('*/', i + 2) + 2
      if (i === 1) throw new Error('unterminated comment')
    } else if (c === '/' && regexOk) {
      let inClass = false
      for (i++; inClass || code[i] !== '/'; i++) {
        if (code[i] === '\\') i++
        else if (code[i] === '[') inClass = true
        else if (code[i] === ']') inClass = false
        if (i >= code.length || code[i] === '\n') throw new Error('unterminated regular expression')
      }
      i++
      while (/[a-z]/.test(code[i] ?? '')) i++
      regexOk = false
    } else if (/[\w$]/.test(c)) {
      const word = code.slice(i).match(/^[\w$]+/)[0]
      i += word.length
      regexOk = BEFORE_EXPRESSION.has(word)
    } else if (c === '}' && depths.length > 0 && depths[depths.length - 1] === 0) {
      depths.pop()
      i++
      template()
    } else {
      if (depths.length > 0 && c === '{') depths[depths.length - 1]++
      else if (depths.length > 0 && c === '}') depths[depths.length - 1]--
      if (!/\s/.test(c)) regexOk = c !== ')' && c !== ']'
      i++
    }
  }
  return out
}

/** A declaration file without its comments (which name members in backquotes), strings kept. */
export function withoutComments (text) {
  return text.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (match, string) => string ?? ' ')
}

/**
 * The names a consumer can see: every word of the declarations the entries' exports reach
 * (tsc's .d.ts output, after stripInternal), but for the private members of classes. A
 * declaration file also holds what no export leads to (a module's internal classes, declared
 * beside an exported type): those do not count. tsc writes one top-level statement from column 0
 * on; a statement the walk does not know stops the build.
 */
export function publishedNames (entries) {
  const files = new Map()
  const parse = file => {
    if (files.has(file)) return files.get(file)
    const f = { decls: new Map(), imports: new Map(), exports: new Map(), stars: [], seen: new Set() }
    files.set(file, f)
    const statements = []
    for (const line of withoutComments(readFileSync(file, 'utf8')).split('\n')) {
      if (/^[^\s})\]]/.test(line)) statements.push(line)
      else if (line.trim() !== '' && statements.length > 0) statements[statements.length - 1] += '\n' + line
    }
    const target = spec => spec.startsWith('.') ? join(dirname(file), spec.replace(/\.js$/, '.d.ts')) : null
    const names = (list, fn) => {
      for (const part of list.split(',').map(p => p.trim().replace(/^type\s+/, '')).filter(Boolean)) {
        const [name, as = name] = part.split(/\s+as\s+/)
        fn(name, as)
      }
    }
    for (const s of statements) {
      let m
      if ((m = s.match(/^import\s+(?:type\s+)?([\s\S]*?)\s+from\s+'([^']+)';$/))) {
        const from = target(m[2])
        if (from === null) continue // another package's types: its names are kept as theirs
        let clause = m[1]
        const braces = clause.match(/\{([\s\S]*)\}/)
        if (braces) {
          names(braces[1], (name, as) => f.imports.set(as, [from, name]))
          clause = clause.replace(braces[0], '')
        }
        for (const part of clause.split(',').map(p => p.trim()).filter(Boolean)) {
          const ns = part.match(/^\*\s+as\s+([\w$]+)$/)
          f.imports.set(ns ? ns[1] : part, [from, ns ? '*' : 'default'])
        }
      } else if ((m = s.match(/^export\s+(?:type\s+)?\{([\s\S]*)\}(?:\s+from\s+'([^']+)')?;$/))) {
        names(m[1], (name, as) => f.exports.set(as, [m[2] ? target(m[2]) : null, name]))
      } else if ((m = s.match(/^export\s+\*\s+from\s+'([^']+)';$/))) {
        f.stars.push(target(m[1]))
      } else if ((m = s.match(/^export\s+default\s+([\w$]+);$/))) {
        f.exports.set('default', [null, m[1]])
      } else if ((m = s.match(/^(export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:class|interface|type|const|let|var|function|enum|namespace)\s+([\w$]+)/))) {
        if (!f.decls.has(m[2])) f.decls.set(m[2], [])
        f.decls.get(m[2]).push(s)
        if (m[1]) f.exports.set(m[2], [null, m[2]])
      } else {
        throw new Error(`${file}: a declaration the browser build's name walk does not know: ${s.slice(0, 80)}`)
      }
    }
    return f
  }
  const seen = new Set()
  // what `name` stands for in `file`: in its scope (local) or as its export
  const visit = (file, name, local) => {
    if (file === null) return
    const f = parse(file)
    const key = (local ? 'local ' : 'export ') + name
    if (f.seen.has(key)) return
    f.seen.add(key)
    if (name === '*') {
      for (const exported of f.exports.keys()) visit(file, exported, false)
      for (const star of f.stars) visit(star, '*', false)
    } else if (!local) {
      const exported = f.exports.get(name)
      if (exported) visit(exported[0] ?? file, exported[1], exported[0] === null)
      else if (name !== 'default') for (const star of f.stars) visit(star, name, false)
    } else if (f.imports.has(name)) {
      const [from, imported] = f.imports.get(name)
      visit(from, imported, false)
    } else {
      for (const decl of f.decls.get(name) ?? []) {
        const visible = decl.split('\n').filter(line => !/^\s+private\s/.test(line)).join('\n')
        for (const word of wordsOf(visible)) {
          seen.add(word)
          if (word !== name && (f.decls.has(word) || f.imports.has(word))) visit(file, word, true)
        }
      }
    }
  }
  for (const entry of entries) visit(entry, '*', false)
  return seen
}
