// `node:test` in the browser: the same names, backed by the mocha globals web-test-runner sets.
const g = globalThis;
export const describe = (...args) => g.describe(...args);
export const it = (...args) => g.it(...args);
export const test = it;
export const before = (fn) => g.before(fn);
export const after = (fn) => g.after(fn);
export const beforeEach = (fn) => g.beforeEach(fn);
export const afterEach = (fn) => g.afterEach(fn);
export default test;
