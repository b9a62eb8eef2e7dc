/** Flags for headless Chromium (sandbox off for root, no background networking). */
export const CHROME_ARGS: string[];
/** One line telling how to get a Chrome/Chromium, for when none is found. */
export const HOW_TO_GET_CHROME: string;
/** The path of a Chrome/Chromium executable, or undefined. */
export function findChrome(): string | undefined;
