/**
 * The page going away (a reload, a closed tab or window, another address) or hidden (another
 * tab, the phone's home screen): nothing typed is lost. The engine keeps every edit in this
 * device's store within moments of its keystroke (a journal sealed under the device key, until
 * the edit rests there as an envelope: SealedDoc.unsaved), so:
 *
 * - leaving in those moments asks the browser to confirm (`beforeunload`), and only then: a
 *   page whose edits are all in the store leaves without a word;
 * - leaving or hidden, what is batched is sealed and sent at once, not a batching window later
 *   (the browser may stop a hidden page's timers, and a page being unloaded finishes only what
 *   takes one step: the journal's write already holds the edits).
 * @module
 */
import { erasing } from './erase.js';
import { app } from './state.js';

/** Seals and sends every document's batched edits now (best effort: their failures reach the documents' error events). */
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
  addEventListener('pagehide', flushAll);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushAll();
  });
}
