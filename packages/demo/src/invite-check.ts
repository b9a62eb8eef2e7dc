/**
 * The invitation link this page was opened with, checked before anything else is asked of the
 * person: a link that cannot let anyone in any more (expired, cancelled, used, unknown to the
 * relay, damaged) is said on the first screen, with what to do, before an identity is made for
 * it; an open one says whether the person who sent it is online to let them in. The relay is
 * asked through a connection of its own, under a key pair made for this and never kept.
 * @module
 */
import { InvitationError } from '@sealdoc/crypto';
import { checkInvitation, throwawayIdentity, WebSocketTransport, type InvitationCheck } from '@sealdoc/core';
import { describeInvitationCheck } from '@sealdoc/ui';
import { app, draw, RELAY_URL } from './state.js';

/** What the check found: its words, and whether the link can still let someone in. */
export interface LinkCheck {
  /** `checking` until the relay answered (or could not be reached). */
  state: InvitationCheck['state'] | 'damaged' | 'unreachable' | 'checking';
  /** Said on the screen ('' while checking). */
  words: string;
  /** The link cannot let anyone in: the person is told why instead of being asked to join. */
  dead: boolean;
}

const CHECK_MS = 5000;
const UNREACHABLE: LinkCheck = { state: 'unreachable', words: 'The server could not be reached to check this invitation. You can go on: your request is sent once it is back.', dead: false };

/** Checks `link` with the relay that served the page (at most {@link CHECK_MS}: past that, the person goes on without a diagnosis). */
export async function checkLink(link: string): Promise<LinkCheck> {
  let transport: WebSocketTransport | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    transport = new WebSocketTransport({ url: RELAY_URL, identity: throwawayIdentity() });
    const checking = checkInvitation(link, transport);
    checking.catch(() => undefined); // given up on at the deadline: its failure is said no more
    const check = await Promise.race([checking, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CHECK_MS)))]);
    if (!check) return UNREACHABLE;
    return { state: check.state, words: describeInvitationCheck(check), dead: check.state !== 'open' };
  } catch (error) {
    if (error instanceof InvitationError)
      return { state: 'damaged', words: 'This invitation link is damaged: part of it is missing or changed. Copy all of it again, or ask the person who sent it for a new link.', dead: true };
    return UNREACHABLE;
  } finally {
    clearTimeout(timer);
    await transport?.disconnect();
  }
}

/** The check of the link the app holds now (undefined: none). */
export const linkCheck = { current: undefined as LinkCheck | undefined };

/**
 * Checks `link` and draws what was found; a link that cannot let anyone in is let go of (the
 * person goes on to the app without being asked to join with it).
 */
export async function startCheck(link: string): Promise<void> {
  linkCheck.current = { state: 'checking', words: '', dead: false };
  draw();
  const found = await checkLink(link);
  // Another link arrived meanwhile: its own check says what it is.
  if (app.invite !== link) return;
  linkCheck.current = found;
  if (found.dead) app.invite = '';
  draw();
}
