/** The package's debug output (`DEBUG=bittorrent-protocol`), one instance for every module. */
import createDebug from 'debug'

export const debug = createDebug('bittorrent-protocol')
