/**
 * The relay's metrics in Prometheus's text format (prom-client), one registry per relay (not
 * prom-client's global one), so that several relays in one process keep their own counts. Made
 * from what the relay already reports: its events (refusals by code, connections, errors),
 * its counters ({@link RelayStats}, read at each scrape), the frames its server moves, and the
 * time each store call takes (the store is wrapped, nothing inside it changes), and how late
 * this node hears what other nodes store (PostgreSQL's notifications). Counts only:
 * no member id, group id or document id is ever a label.
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RelayStats } from './relay.js';
import type { RelayLogEvent } from './report.js';
import type { RelayStore, StoreEvent } from './store.js';

const PREFIX = 'sealdoc_relay_';

/** A counter whose value is a total kept elsewhere, read at each scrape. */
function totalOf(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name: PREFIX + name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function gaugeOf(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name: PREFIX + name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** One relay's metrics. */
export class RelayMetrics {
  readonly registry = new Registry();
  readonly #refusals: Counter<'code'>;
  readonly #quotaRefusals: Counter;
  readonly #opened: Counter;
  readonly #errors: Counter;
  // Frames and bytes moved: plain totals (a frame costs an addition, not a counter's label
  // lookup), read at each scrape.
  #framesIn = 0;
  #framesOut = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  readonly #storeSeconds: Histogram<'operation' | 'outcome'>;
  readonly #notificationLag: Histogram;

  readonly #pending = new Set<Promise<unknown>>();

  /**
   * `stats` is read at each scrape (the relay's counters); `process`: the process's own
   * metrics too (CPU, memory, event loop, under their usual names: process_cpu_seconds_total,
   * nodejs_eventloop_lag_seconds, ...), for one relay per process.
   */
  constructor(stats: () => RelayStats, options: { process?: boolean } = {}) {
    const r = this.registry;
    if (options.process) collectDefaultMetrics({ register: r });
    gaugeOf(r, 'connections', 'WebSocket connections open now', () => stats().connections);
    gaugeOf(r, 'outbox_bytes', 'bytes queued for clients and not yet sent (relay queues and socket buffers)', () => stats().outboxBytes);
    gaugeOf(r, 'cached_logs', 'group membership logs held in memory (bounded)', () => stats().cachedLogs);
    gaugeOf(r, 'cached_indexes', 'document summaries held in memory (bounded)', () => stats().cachedIndexes);
    totalOf(r, 'envelopes_accepted_total', 'envelopes verified and stored (in)', () => stats().envelopesAccepted);
    totalOf(r, 'envelopes_delivered_total', 'envelopes sent to subscribers (out)', () => stats().envelopesDelivered);
    totalOf(r, 'envelopes_dropped_total', 'envelopes whose bytes retention dropped', () => stats().envelopesDropped);
    totalOf(r, 'slow_closed_total', 'connections closed for not reading what they were sent', () => stats().closedSlow);
    this.#opened = new Counter({ name: `${PREFIX}connections_opened_total`, help: 'WebSocket connections accepted', registers: [r] });
    this.#refusals = new Counter({ name: `${PREFIX}refusals_total`, help: 'requests refused, by code (verification failures: bad-signature, not-a-member, ...)', labelNames: ['code'], registers: [r] });
    this.#quotaRefusals = new Counter({ name: `${PREFIX}quota_refusals_total`, help: 'requests refused because an identity used up a quota', registers: [r] });
    this.#errors = new Counter({ name: `${PREFIX}errors_total`, help: 'internal errors (a store failing, a bug)', registers: [r] });
    totalOf(r, 'frames_received_total', 'WebSocket frames received', () => this.#framesIn);
    totalOf(r, 'frames_sent_total', 'WebSocket frames sent', () => this.#framesOut);
    totalOf(r, 'received_bytes_total', 'bytes of WebSocket frames received', () => this.#bytesIn);
    totalOf(r, 'sent_bytes_total', 'bytes of WebSocket frames sent', () => this.#bytesOut);
    this.#storeSeconds = new Histogram({
      name: `${PREFIX}store_duration_seconds`,
      help: 'time a store call took, by operation and outcome (ok, error)',
      labelNames: ['operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.#notificationLag = new Histogram({
      name: `${PREFIX}postgres_notification_lag_seconds`,
      help: 'from another node storing something to this node hearing of it (PostgreSQL NOTIFY; by the sender clock, so hosts keep time with NTP)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
  }

  /** Counts a relay event (pass every event of the relay's `log`). */
  observe(event: RelayLogEvent): void {
    if (event.event === 'connected') this.#opened.inc();
    else if (event.event === 'error') this.#errors.inc();
    else if (event.event === 'refused') {
      this.#refusals.inc({ code: event.code ?? 'unknown' });
      if (event.code === 'quota-exceeded') this.#quotaRefusals.inc();
    }
  }

  received(bytes: number): void {
    this.#framesIn++;
    this.#bytesIn += bytes;
  }

  sent(bytes: number): void {
    this.#framesOut++;
    this.#bytesOut += bytes;
  }

  /** The store, with the time of each of its calls that returns a promise observed (and the calls in flight kept, for {@link settled}). */
  timed(store: RelayStore): RelayStore {
    const seconds = this.#storeSeconds;
    const pending = this.#pending;
    const lag = this.#notificationLag;
    // Each method's timed stand-in, made once (a store call costs a lookup here, not a new closure).
    const wrapped = new Map<string, { of: unknown; call: unknown }>();
    const timedCall = (operation: string, method: (...a: unknown[]) => unknown) => (...args: unknown[]) => {
      const start = performance.now();
      const result: unknown = method.apply(store, args);
      if (!(result instanceof Promise)) return result;
      const settled: Promise<void> = result.then(
        () => {
          seconds.observe({ operation, outcome: 'ok' }, (performance.now() - start) / 1000);
          pending.delete(settled);
        },
        () => {
          seconds.observe({ operation, outcome: 'error' }, (performance.now() - start) / 1000);
          pending.delete(settled);
        },
      );
      pending.add(settled);
      return result;
    };
    return new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        const known = wrapped.get(property);
        if (known?.of === value) return known.call;
        const call =
          property === 'onEvent'
            ? (listener: (event: StoreEvent) => void) =>
                (value as RelayStore['onEvent'])!.call(target, (event) => {
                  if (event.sentAt !== undefined) lag.observe(Math.max(0, Date.now() - event.sentAt) / 1000);
                  listener(event);
                })
            : timedCall(property, value as (...a: unknown[]) => unknown);
        wrapped.set(property, { of: value, call });
        return call;
      },
    });
  }

  /** Resolves once every store call made so far has settled (a shutdown lets commits under way finish before it closes the store). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** The text a scrape gets, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
