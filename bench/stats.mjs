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
  if (unit === 'B') return x >= 1024 ? (x / 1024).toFixed(2) + ' KiB' : x.toFixed(0) + ' B'
  return String(x)
}
