/**
 * @sealdoc/core/testing: what tests of an app (and Sealdoc's own) use, kept out of the main
 * entry. {@link MemoryHub} connects in-memory transports in one process and injects the faults
 * the engine must survive (drop, duplicate, reorder, delay, partition), from a seeded
 * generator. {@link storageConformance} and {@link transportConformance} are the suites every
 * Storage and every peer-to-peer Transport passes (yours too): they register tests with
 * `node:test` (in a browser runner, map `node:test` and `node:assert/strict` to its own).
 * @packageDocumentation
 */
export { MemoryHub, MemoryTransport, type Faults, type HubStats } from './memory-hub.js';
export { storageConformance, type StorageFixture } from './storage-conformance.js';
export { transportConformance, type TransportFixture } from './transport-conformance.js';
export { testWith } from './conformance-fixture.js';
