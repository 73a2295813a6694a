/**
 * BEP 11 (peer exchange): the limit on what one `ut_pex` message may list, checked before the
 * plugin sees the message. The plugin (ut_pex) emits a 'peer' event per added contact and keeps
 * every one it is told of: a 253 KiB message listing 37,000 peers would cost 37,000 events and
 * megabytes kept, per message.
 *
 * The Azureus and uTorrent developers agreed on at most 50 added and 50 dropped contacts per PEX
 * message, IPv4 and IPv6 together (the PEX conventions of ut_pex and AZ_PEX; the ut_pex plugin
 * sends at most 50). libtorrent sends up to 100
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

/**
 * Whether the ut_pex message `payload` (its dictionary well-formed, ending at `end`) lists more
 * added or more dropped contacts (compact: 6 bytes for IPv4, 18 for IPv6; BEP 11, BEP 23) than
 * MAX_PEX_CONTACTS.
 */
export function pexOverLimit (payload: Uint8Array, end: number): boolean {
  const dict = decodeStrict(payload, 0, end).value as Record<string, unknown>
  const n = (key: string, size: number): number => { const v = dict[key]; return v instanceof Uint8Array ? Math.floor(v.length / size) : 0 }
  return n('added', 6) + n('added6', 18) > MAX_PEX_CONTACTS || n('dropped', 6) + n('dropped6', 18) > MAX_PEX_CONTACTS
}
