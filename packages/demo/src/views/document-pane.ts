/**
 * The open document: its title and editor, its members and invitations beside.
 * @module
 */
import { html, nothing } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { actorPersonId, toHex as hex } from '@sealdoc/crypto';
import { setTitle, titleOf } from '../documents.js';
import { historyShown, showHistory } from '../history.js';
import { historyView } from './history.js';
import { invites } from '../invites.js';
import { admitted, invitationCreated } from '../session.js';
import { app, names, type OpenDoc } from '../state.js';

let people: { key: string; map: Map<string, string> } | undefined;
/** Member id (hex) → name, this person's included: the same Map while no name changes (the editor draws its carets again for a new one). */
function peopleNames(me: string): Map<string, string> {
  const entries: [string, string][] = [...names.others, [me, names.mine]];
  const key = JSON.stringify(entries);
  if (people?.key !== key) people = { key, map: new Map(entries) };
  return people.map;
}

export function documentPaneView(open: OpenDoc | undefined) {
  if (!open) return html`<main><p>No document yet. Create one, or open an invitation link.</p></main>`;
  const people = peopleNames(hex(actorPersonId(app.signer!)));
  return keyed(
    app.current,
    html`${historyShown() ? historyView(open) : html`<main>
        ${open.group.role
          ? nothing
          : html`<p class="notice" role="status">
              You no longer have access to “${titleOf(open)}”: its admin deleted it or removed you. What this device already holds stays readable here;
              to delete it, choose “Forget on this device” in its actions.
            </p>`}
        <input
          class="title"
          aria-label="Title"
          placeholder="Untitled document"
          autocomplete="off"
          .value=${open.doc.getText('title').toString()}
          ?readonly=${open.group.role !== 'admin' && open.group.role !== 'writer'}
          @input=${setTitle}
        />
        <button id="show-history" class="quiet" @click=${() => void showHistory(open)}>History</button>
        <sealdoc-editor
          .doc=${open.sealed}
          .awareness=${open.awareness}
          .user=${open.awareness.getLocalState()?.user}
          .names=${people}
          label="Document text"
          placeholder="Start writing…"
          style="--sealdoc-editor-min-height: max(16em, calc(100vh - 11em))"
        ></sealdoc-editor>
      </main>`}
      <aside>
        <h2>Members</h2>
        <sealdoc-members .group=${open.group} .names=${people} .sealed=${open.sealed} .awareness=${open.awareness}></sealdoc-members>
        ${open.group.role === 'admin'
          ? html`<h2>Invite</h2>
              <sealdoc-invite
                mode="create"
                .group=${open.group}
                .transport=${app.transport}
                .invitations=${invites.of(hex(open.group.groupId))}
                .baseUrl=${location.origin + location.pathname}
                @sealdoc-invitation-created=${invitationCreated}
                @sealdoc-member-admitted=${admitted}
              ></sealdoc-invite>`
          : nothing}
      </aside>`,
  );
}
