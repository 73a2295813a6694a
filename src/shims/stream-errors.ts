/**
 * readable-stream 3's error classes (its `errors-browser.js`): the same codes, classes
 * (TypeError where Node has one) and messages, without the Babel helpers.
 */
type Message = string | ((...args: any[]) => string)

function type (expected: unknown): string {
  return Array.isArray(expected) ? 'one of type ' + expected.join(', ') : 'of type ' + String(expected)
}

const table: Array<[string, Message, ErrorConstructor?]> = [
  ['ERR_INVALID_OPT_VALUE', (name, value) => `The value "${value}" is invalid for option "${name}"`, TypeError],
  ['ERR_INVALID_ARG_TYPE', (name, expected, actual) => `The "${name}" argument must be ${type(expected)}. Received type ${typeof actual}`, TypeError],
  ['ERR_STREAM_PUSH_AFTER_EOF', 'stream.push() after EOF'],
  ['ERR_METHOD_NOT_IMPLEMENTED', name => `The ${name} method is not implemented`],
  ['ERR_STREAM_PREMATURE_CLOSE', 'Premature close'],
  ['ERR_STREAM_DESTROYED', name => `Cannot call ${name} after a stream was destroyed`],
  ['ERR_MULTIPLE_CALLBACK', 'Callback called multiple times'],
  ['ERR_STREAM_CANNOT_PIPE', 'Cannot pipe, not readable'],
  ['ERR_STREAM_WRITE_AFTER_END', 'write after end'],
  ['ERR_STREAM_NULL_VALUES', 'May not write null values to stream', TypeError],
  ['ERR_UNKNOWN_ENCODING', arg => 'Unknown encoding: ' + arg, TypeError],
  ['ERR_STREAM_UNSHIFT_AFTER_END_EVENT', 'stream.unshift() after end event']
]

export const codes: Record<string, new (...args: any[]) => Error> = {}
for (const [code, message, Base = Error] of table) {
  const NodeError = class extends Base {
    constructor (...args: unknown[]) {
      super(typeof message === 'string' ? message : message(...args))
    }
  }
  Object.assign(NodeError.prototype, { name: Base.name, code })
  codes[code] = NodeError
}

export default { codes }
