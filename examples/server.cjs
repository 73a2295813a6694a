const Protocol = require('bittorrent-protocol')
const net = require('net')

const server = net.createServer(socket => {
  const wire = new Protocol()

  // pipe to and from the protocol
  socket.pipe(wire).pipe(socket)

  wire.on('handshake', (infoHash, peerId) => {
    // lets emit a handshake of our own as well
    wire.handshake(Buffer.from('my info hash........'), Buffer.from('my peer id..........'))
  })

  wire.on('unchoke', () => {
    console.log('peer is no longer choking us: ' + wire.peerChoking)
  })
})
server.listen(Number(process.env.PORT || 6881))
module.exports = server
