export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function fmt (x, unit) {
  if (unit === 'B/s') {
    if (x >= 1e9) return (x / 1e9).toFixed(2) + ' GB/s'
    return (x / 1e6).toFixed(0) + ' MB/s'
  }
  if (unit === 'msg/s') return (x / 1e6).toFixed(2) + ' M msg/s'
  if (unit === 's') return x >= 1 ? x.toFixed(2) + ' s' : (x * 1000).toFixed(x < 0.01 ? 2 : 1) + ' ms'
  if (unit === 'cpu/GiB') return x.toFixed(2) + ' s/GiB'
  if (unit === 'rss') return (x / 1048576).toFixed(0) + ' MiB'
  if (unit === 'B') return x >= 1024 ? (x / 1024).toFixed(2) + ' KiB' : x.toFixed(0) + ' B'
  return String(x)
}

/**
 * One table row from the samples of a scenario: medians, the better anchor (by median), the
 * ratio as the goal states it, and whether the goal is met.
 * sc: { name, title, unit, higherIsBetter, target: [op, goal], ratio?, ratioText?, ratioOf? }
 */
export function summarize (sc, samples, { anchors, labels }) {
  const med = Object.fromEntries(Object.entries(samples).filter(([, v]) => v.length > 0).map(([k, v]) => [k, median(v)]))
  const candidates = Object.keys(med).filter(i => anchors.includes(i))
  const better = candidates.reduce((best, i) => best === null || (sc.higherIsBetter ? med[i] > med[best] : med[i] < med[best]) ? i : best, null)
  const ratio = sc.ratio ? sc.ratio(med, better) : med.ours / med[better]
  const [op, goal] = sc.target ?? [null, null]
  const met = op === null ? null : op === '>=' ? ratio >= goal : ratio <= goal
  const of = sc.ratioOf ?? labels[better]
  return { name: sc.name, title: sc.title, unit: sc.unit, samples, median: med, better, ratio, ratioText: sc.ratioText ?? 'x', of, target: sc.target, met }
}

export function ratioCell (r) {
  return `${r.ratio.toFixed(2)}${r.ratioText} vs ${r.of}`
}

export function goalCell (r) {
  if (r.met === null) return '—'
  return `${r.target[0]} ${r.target[1]} ${r.met ? 'met' : '**not met**'}`
}
