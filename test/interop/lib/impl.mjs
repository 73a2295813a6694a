// The Wire implementation under test: WIRE_IMPL=bt3 → bittorrent-protocol 3.5.5 (installed as `bt3`),
// otherwise our build in dist/esm.
const which = process.env.WIRE_IMPL === 'bt3' ? 'bt3' : 'ours'
const mod = which === 'bt3' ? await import('bt3') : await import('../../../dist/esm/index.js')
const Wire = mod.default

export const IMPL = which
export default Wire
