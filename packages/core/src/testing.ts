/**
 * @sealdoc/core/testing: what tests of an app (and Sealdoc's own) use, kept out of the main
 * entry. {@link MemoryHub} connects in-memory transports in one process and injects the faults
 * the engine must survive (drop, duplicate, reorder, delay, partition), from a seeded
 * generator; it runs in browsers and Node alike. The conformance suites every Storage and
 * Transport passes are `@sealdoc/core/testing/conformance` (they need `node:test`).
 * @packageDocumentation
 */
export { MemoryHub, MemoryTransport, type Faults, type HubStats } from './memory-hub.js';
