/**
 * The browser build's `events` (the base of readable-stream 3's streams): Node's EventEmitter
 * API in 2.4 KiB of a bundle where the `events` package takes 6 KiB. Listeners are kept as Node
 * keeps them (`_events[type]` is a function or an array), which readable-stream 3 relies on;
 * 'error' without a listener throws, as in Node. No max-listeners warning. A plain function
 * constructor, as in Node: readable-stream 3 calls `EventEmitter.call(this)`.
 */
type Listener = ((...args: any[]) => unknown) & { listener?: Listener }
type Events = Record<string | symbol, Listener | Listener[] | undefined>

interface Emitter {
  addListener: Emitter['on']
  off: Emitter['removeListener']
}

class Emitter {
  _events!: Events
  _eventsCount!: number
  _maxListeners: number | undefined

  setMaxListeners (n: number): this {
    this._maxListeners = n
    return this
  }

  getMaxListeners (): number {
    return this._maxListeners ?? EventEmitter.defaultMaxListeners
  }

  emit (type: string | symbol, ...args: unknown[]): boolean {
    const l = this._events?.[type]
    if (l === undefined) {
      if (type === 'error') {
        const err = args[0]
        throw err instanceof Error ? err : new Error('Unhandled error. (' + String(err) + ')')
      }
      return false
    }
    if (typeof l === 'function') Reflect.apply(l, this, args)
    else for (const fn of l.slice()) Reflect.apply(fn, this, args)
    return true
  }

  private _add (type: string | symbol, fn: Listener, prepend: boolean): this {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function')
    if (this._events === undefined) { this._events = Object.create(null); this._eventsCount = 0 }
    if (this._events.newListener !== undefined) this.emit('newListener', type, fn.listener ?? fn)
    const l = this._events[type]
    if (l === undefined) {
      this._events[type] = fn
      this._eventsCount++
    } else if (typeof l === 'function') {
      this._events[type] = prepend ? [fn, l] : [l, fn]
    } else if (prepend) {
      l.unshift(fn)
    } else {
      l.push(fn)
    }
    return this
  }

  on (type: string | symbol, fn: Listener): this { return this._add(type, fn, false) }
  prependListener (type: string | symbol, fn: Listener): this { return this._add(type, fn, true) }
  once (type: string | symbol, fn: Listener): this { return this._add(type, onceWrapper(this, type, fn), false) }
  prependOnceListener (type: string | symbol, fn: Listener): this { return this._add(type, onceWrapper(this, type, fn), true) }

  removeListener (type: string | symbol, fn: Listener): this {
    const events = this._events
    const l = events?.[type]
    if (l === undefined) return this
    if (typeof l === 'function') {
      if (l !== fn && l.listener !== fn) return this
      if (--this._eventsCount === 0) this._events = Object.create(null)
      else delete events[type]
    } else {
      let i = l.length - 1
      while (i >= 0 && l[i] !== fn && l[i].listener !== fn) i--
      if (i < 0) return this
      l.splice(i, 1)
      if (l.length === 1) events[type] = l[0]
    }
    if (this._events.removeListener !== undefined) this.emit('removeListener', type, fn)
    return this
  }

  removeAllListeners (type?: string | symbol): this {
    if (type === undefined) {
      this._events = Object.create(null)
      this._eventsCount = 0
    } else if (this._events?.[type] !== undefined) {
      if (--this._eventsCount === 0) this._events = Object.create(null)
      else delete this._events[type]
    }
    return this
  }

  rawListeners (type: string | symbol): Listener[] {
    const l = this._events?.[type]
    return l === undefined ? [] : typeof l === 'function' ? [l] : l.slice()
  }

  listeners (type: string | symbol): Listener[] {
    return this.rawListeners(type).map(fn => fn.listener ?? fn)
  }

  listenerCount (type: string | symbol): number {
    const l = this._events?.[type]
    return l === undefined ? 0 : typeof l === 'function' ? 1 : l.length
  }

  eventNames (): Array<string | symbol> {
    return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : []
  }
}

function onceWrapper (target: Emitter, type: string | symbol, fn: Listener): Listener {
  const wrapper: Listener = function (this: unknown, ...args: unknown[]) {
    target.removeListener(type, wrapper)
    return Reflect.apply(fn, this, args)
  }
  wrapper.listener = fn
  return wrapper
}

interface EmitterConstructor {
  new (): Emitter
  (this: Emitter): void
  prototype: Emitter
  EventEmitter: EmitterConstructor
  defaultMaxListeners: number
}

export const EventEmitter = function EventEmitter (this: Emitter): void {
  this._events = Object.create(null)
  this._eventsCount = 0
} as unknown as EmitterConstructor
EventEmitter.prototype = Emitter.prototype
Emitter.prototype.addListener = Emitter.prototype.on
Emitter.prototype.off = Emitter.prototype.removeListener
Object.defineProperty(Emitter.prototype, 'constructor', { value: EventEmitter, writable: true, configurable: true })
EventEmitter.EventEmitter = EventEmitter
EventEmitter.defaultMaxListeners = 10

export default EventEmitter
