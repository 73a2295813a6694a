// Module hook for bench/webtorrent-client.mjs: WebTorrent 3 imports webrtc-polyfill, whose native
// WebRTC binary is not installed here; the interop fixture's stub stands in (TCP peers only).
const STUB = new URL('../test/interop/webtorrent3/webrtc-polyfill-stub/index.js', import.meta.url).href

export async function resolve (specifier, context, next) {
  if (specifier === 'webrtc-polyfill') return { url: STUB, shortCircuit: true }
  return next(specifier, context)
}
