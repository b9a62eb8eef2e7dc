/**
 * The page going away (a reload, a closed tab or window, another address) or hidden (another
 * tab, the phone's home screen): nothing typed is lost. The engine stores every edit within
 * moments of its keystroke (as an envelope, or in a journal sealed under the device key:
 * SealedDoc.unsaved), so:
 *
 * - leaving or hidden, every document is flushed: what is not stored yet is written to the
 *   journal at once (one encryption and one store write, which a page being unloaded still
 *   finishes), then sealed and sent, not a batching window later (the browser may stop a
 *   hidden page's timers);
 * - leaving while such a write is under way asks the browser to confirm (`beforeunload`), and
 *   only then: a page whose edits are all in the store leaves without a word;
 * - a page that goes (`pagehide`) takes its presence with it: the others see this device leave
 *   at once, not when its presence times out (its "left" is sealed in advance, as the provider
 *   does); one restored from the back/forward cache shows itself again.
 * @module
 */
import { erasing } from './erase.js';
import { app } from './state.js';

/** Journals, seals and sends every document's edits not stored yet, now (best effort: their failures reach the documents' error events). */
function flushAll(): void {
  for (const { sealed } of app.docs.values()) sealed.flush().catch(() => undefined);
}

/** Whether some document holds edits not written to the store yet. */
function unsaved(): boolean {
  return [...app.docs.values()].some(({ sealed }) => sealed.unsaved);
}

/** Listens for the page going away or being hidden (once, from app.ts). */
export function guardUnload(): void {
  addEventListener('beforeunload', (event) => {
    // Erasing this browser reloads the page on purpose: there is nothing to keep.
    if (erasing()) return;
    flushAll();
    if (!unsaved()) return;
    event.preventDefault();
    // Older browsers ask only when a value is set; none shows it (each says it in its own words).
    event.returnValue = '';
  });
  addEventListener('pagehide', () => {
    flushAll();
    for (const { sealed } of app.docs.values()) sealed.leaveNow();
  });
  addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    for (const { awareness } of app.docs.values()) awareness.setLocalState(awareness.getLocalState());
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushAll();
  });
}
