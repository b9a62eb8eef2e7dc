/**
 * @sealdoc/core/testing/conformance: the suites every Storage and every peer-to-peer Transport
 * passes (yours too), in the manner of automerge-repo's adapter tests. They register tests with
 * `node:test` and assert with `node:assert/strict`: in a browser runner, map both to its own
 * (as this repository's web-test-runner config does).
 * @packageDocumentation
 */
export { storageConformance, type StorageFixture } from './storage-conformance.js';
export { transportConformance, type TransportFixture } from './transport-conformance.js';
export { testWith } from './conformance-fixture.js';
