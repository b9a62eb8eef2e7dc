/**
 * The page's fragment, taken out of the address bar before anything else runs. An invitation
 * link carries its secret there, and the address bar is what the browser keeps in the tab's
 * history and brings back with a restored session; the link then lives in memory only.
 * app.ts imports this module first and it imports nothing, so its body is the first code of
 * the bundle to run: before any other module, any await, any rendering.
 * @module
 */

/** The address with its fragment, or '' when it has none; the address bar keeps it without. */
export function takeFragment(): string {
  if (!location.hash) return '';
  const link = location.href;
  history.replaceState(history.state, '', location.pathname + location.search);
  return link;
}

/** The address this page was opened with, when it had a fragment. */
export const openedWith = takeFragment();
