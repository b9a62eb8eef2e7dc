// The part of `node:assert/strict` Sealdoc's tests use, for the browser.
class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
  }
}

function isDeepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || a instanceof Set) return isDeepEqual([...a], [...b]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepEqual(a[k], b[k]));
}

const show = (v) => {
  try {
    return ArrayBuffer.isView(v) ? `${v.constructor.name}(${v.length})` : JSON.stringify(v);
  } catch {
    return String(v);
  }
};

function fail(message, fallback) {
  throw message instanceof Error ? message : new AssertionError(message ?? fallback);
}

function matches(error, expected) {
  if (expected === undefined) return true;
  if (expected instanceof RegExp) return expected.test(String(error?.message ?? error));
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && error instanceof expected) return true;
    if (Error.isPrototypeOf(expected) || expected === Error) return false;
    return expected(error) === true;
  }
  return Object.keys(expected).every((k) =>
    expected[k] instanceof RegExp ? expected[k].test(error?.[k]) : isDeepEqual(error?.[k], expected[k]),
  );
}

const assert = (value, message) => assert.ok(value, message);
assert.AssertionError = AssertionError;
assert.ok = (value, message) => {
  if (!value) fail(message, `expected a truthy value, got ${show(value)}`);
};
assert.equal = (a, b, message) => {
  if (!Object.is(a, b)) fail(message, `expected ${show(a)} to equal ${show(b)}`);
};
assert.notEqual = (a, b, message) => {
  if (Object.is(a, b)) fail(message, `expected ${show(a)} not to equal ${show(b)}`);
};
assert.deepEqual = (a, b, message) => {
  if (!isDeepEqual(a, b)) fail(message, `expected ${show(a)} to deep-equal ${show(b)}`);
};
assert.notDeepEqual = (a, b, message) => {
  if (isDeepEqual(a, b)) fail(message, `expected ${show(a)} not to deep-equal ${show(b)}`);
};
assert.match = (s, re, message) => {
  if (!re.test(s)) fail(message, `expected ${show(s)} to match ${re}`);
};
assert.doesNotMatch = (s, re, message) => {
  if (re.test(s)) fail(message, `expected ${show(s)} not to match ${re}`);
};
assert.fail = (message) => fail(message, 'failed');
assert.throws = (fn, expected, message) => {
  try {
    fn();
  } catch (error) {
    if (!matches(error, expected)) fail(message, `unexpected error: ${error?.name} ${error?.code ?? ''} ${error?.message}`);
    return;
  }
  fail(message, 'expected the function to throw');
};
assert.rejects = async (promiseOrFn, expected, message) => {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    if (!matches(error, expected)) fail(message, `unexpected rejection: ${error?.name} ${error?.code ?? ''} ${error?.message}`);
    return;
  }
  fail(message, 'expected a rejection');
};
assert.doesNotReject = async (promiseOrFn, message) => {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    fail(message, `unexpected rejection: ${error?.message}`);
  }
};

export default assert;
export const { ok, equal, notEqual, deepEqual, notDeepEqual, match, doesNotMatch, throws, rejects, doesNotReject } = assert;
export { AssertionError };
