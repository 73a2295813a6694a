// Talking to a bench child process: send one command, wait for its one reply
// ({ ok, result } or { ok: false, error }); a child that exits first rejects.
export function request (child, msg) {
  return new Promise((resolve, reject) => {
    const onMessage = reply => {
      child.off('exit', onExit)
      if (reply.ok) resolve(reply.result)
      else reject(new Error(reply.error))
    }
    const onExit = code => { child.off('message', onMessage); reject(new Error(`bench child exited with ${code}`)) }
    child.once('message', onMessage)
    child.once('exit', onExit)
    child.send(msg)
  })
}
