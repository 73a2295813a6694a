/**
 * BEP 11 (peer exchange): the limit on what one `ut_pex` message may list, checked before the
 * plugin sees the message. The plugin (ut_pex) emits a 'peer' event per added contact and keeps
 * every one it is told of: a 253 KiB message listing 37,000 peers would cost 37,000 events and
 * megabytes kept, per message.
 *
 * BEP 11 and the convention the ut_pex and AZMP implementers agreed on allow at most 50 added
 * and 50 dropped contacts per message (IPv4 and IPv6 together). libtorrent sends up to 100
 * added in one message (its `max_peer_entries`) and on receipt neither fails nor drops a longer
 * list (it stops adding at `max_pex_peers` per connection; it disconnects only on a message over
 * 500 KiB or on messages too frequent). So the limit here is libtorrent's 100, which no honest
 * client exceeds, and a message over it is the peer's error handled as libtorrent handles a
 * PEX message it will not use: dropped (no plugin call, no 'extended' event, a debug line),
 * the connection kept.
 */
import { decodeStrict } from '../protocol/bencode.js'

/** Most added (and most dropped) contacts one ut_pex message may list. */
export const MAX_PEX_CONTACTS = 100

/** Bytes of one contact in compact form (BEP 11, BEP 23): IPv4 address and port; IPv6. */
const COMPACT4 = 6
const COMPACT6 = 18

function contacts (dict: Record<string, unknown>, v4: string, v6: string): number {
  const a = dict[v4]
  const b = dict[v6]
  return (a instanceof Uint8Array ? Math.floor(a.length / COMPACT4) : 0) + (b instanceof Uint8Array ? Math.floor(b.length / COMPACT6) : 0)
}

/**
 * Why the ut_pex message `payload` (its dictionary well-formed, ending at `end`) lists more than
 * BEP 11 allows, or null when it is within the limit.
 */
export function pexOverLimit (payload: Uint8Array, end: number): string | null {
  const dict = decodeStrict(payload, 0, end).value as Record<string, unknown>
  const added = contacts(dict, 'added', 'added6')
  const dropped = contacts(dict, 'dropped', 'dropped6')
  if (added <= MAX_PEX_CONTACTS && dropped <= MAX_PEX_CONTACTS) return null
  return `${added} added and ${dropped} dropped contacts, more than ${MAX_PEX_CONTACTS}`
}
