/** The browser build's `inherits` (readable-stream 3's classes are ES5 constructors). */
export default function inherits (ctor: Function & { super_?: Function }, superCtor: Function): void {
  ctor.super_ = superCtor
  ctor.prototype = Object.create(superCtor.prototype, { constructor: { value: ctor, writable: true, configurable: true } })
}
