// Stands in for test/browser/scenario.cjs in the application without `buffer` installed (the
// scenario itself needs `buffer`): loading the package and making a wire is all it does.
module.exports = async function run (Wire) {
  const wire = new Wire('webrtc')
  return { made: typeof wire.handshake }
}
