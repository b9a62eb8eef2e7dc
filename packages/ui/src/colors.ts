/**
 * Colours of persons at their carets: one of a palette of twelve dark hues, each with a
 * contrast of at least 4.5:1 against white (the caret's name is white on it), chosen from the
 * person's id so that every member of a group sees the same colour for the same person, and
 * different persons of one group get different colours (while the group has twelve or fewer).
 * @module
 */

/** The palette: Tailwind's 700 shades, white text on each passes WCAG AA (4.5:1). */
export const CARET_PALETTE: readonly string[] = [
  '#b91c1c', // red
  '#1d4ed8', // blue
  '#15803d', // green
  '#7e22ce', // purple
  '#c2410c', // orange
  '#0e7490', // cyan
  '#be123c', // rose
  '#4338ca', // indigo
  '#4d7c0f', // lime
  '#a21caf', // fuchsia
  '#0f766e', // teal
  '#a16207', // amber
];

/** A 32-bit FNV-1a hash of a string: where a person's colour search starts. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The colour of person `personId` (hex) among `persons` (the hex ids of the group's members,
 * in any order). Each person, taken in id order, gets the first free palette entry from the
 * one its id hashes to; so two persons of a group share a colour only when the group has more
 * persons than the palette has colours, and every viewer of the group computes the same
 * colours. A person not in `persons` gets the entry its id hashes to.
 */
export function personColor(personId: string, persons: readonly string[] = []): string {
  const n = CARET_PALETTE.length;
  const sorted = [...new Set(persons)].sort();
  if (!sorted.includes(personId)) return CARET_PALETTE[hash(personId) % n]!;
  const taken = new Set<number>();
  for (const id of sorted) {
    let slot = hash(id) % n;
    if (taken.size < n) while (taken.has(slot)) slot = (slot + 1) % n;
    if (id === personId) return CARET_PALETTE[slot]!;
    taken.add(slot);
    if (taken.size === n) taken.clear();
  }
  return CARET_PALETTE[hash(personId) % n]!;
}

/** Another member's declared colour goes into a style: only a hex colour, never arbitrary CSS. */
export function safeColor(color: unknown, fallback = '#6b5bd6'): string {
  return typeof color === 'string' && /^#[0-9a-f]{3,8}$/i.test(color) ? color : fallback;
}
