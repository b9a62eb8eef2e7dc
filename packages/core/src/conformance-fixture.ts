/**
 * The conformance suites' one helper: registers a test (node:test's `it`) that gets a fresh
 * fixture from `setup` and always tears it down.
 * @module
 */
import { it } from 'node:test';

/** `(title, body)` registering a test whose body gets a fresh fixture from `setup`, torn down even when it fails. */
export function testWith<F extends { teardown?: () => Promise<void> }>(setup: () => Promise<F>) {
  return (title: string, body: (fixture: F) => Promise<void>) =>
    it(title, async () => {
      const fixture = await setup();
      try {
        await body(fixture);
      } finally {
        await fixture.teardown?.();
      }
    });
}
