/**
 * The settings screen (this device, the person's other devices, link one, remove one, the
 * recovery phrase, sign out and wipe), and the screen a browser opened with a device link
 * shows to become one of its person's devices.
 * @module
 */
import { html, nothing } from 'lit';
import { ref } from 'lit/directives/ref.js';
import { deviceName } from '@sealdoc/ui';
import { approve, cancel, cancelLink, confirm, devices, hidePhrase, leaveSettings, linking, linkThisBrowser, offerAddress, openLink, revoke, settings, showPhrase, wipeDevice, type DeviceEntry } from '../settings.js';
import { linkProblem } from '../link-code.js';
import { app, names } from '../state.js';

// A confirmation takes the focus when it appears, on its harmless answer where the other
// destroys. One function for every render, so lit calls it once per element; the focus waits
// a microtask, since lit calls it before a new part of the page is attached.
const focusOnAppear = (element?: Element) => element && queueMicrotask(() => (element as HTMLElement).focus());

const date = (time: number) => new Date(time).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });

function deviceItem(d: DeviceEntry) {
  const detail = d.first ? 'holds your recovery words' : d.since !== undefined ? `added on ${date(d.since)}` : '';
  return html`<li class="device" data-device=${d.name}>
    <span class="device-name">${d.name}</span>${d.here ? html` <span class="this-device">this device</span>` : nothing}
    ${detail ? html`<span class="detail"> · ${detail}</span>` : nothing}
    ${!d.here && !d.first ? html`<button class="quiet danger" ?disabled=${settings.busy} aria-label="Remove the device ${d.name}" @click=${() => confirm({ kind: 'revoke', device: d })}>Remove</button>` : nothing}
  </li>`;
}

/** Asks before removing a device, under the list. */
function revokeConfirmation() {
  const what = settings.confirming;
  if (what?.kind !== 'revoke') return nothing;
  return html`<div class="confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
      <p id="confirm-title"><strong>Remove “${what.device.name}”?</strong></p>
      <p id="confirm-text">
        It will read nothing new and send nothing more: the keys of every document are changed, and it does not get the new ones. What it already
        holds stays on it until it learns of the removal, then it erases it. To use it again, link it again.
      </p>
      <div class="actions">
        <button id="confirm-revoke" class="danger" @click=${() => void revoke(what.device)}>Remove “${what.device.name}”</button>
        <button class="quiet" ${ref(focusOnAppear)} @click=${cancel}>Cancel</button>
      </div>
    </div>`;
}

/** Asks before wiping this browser, under its button. */
function wipeConfirmation() {
  if (settings.confirming?.kind !== 'wipe') return nothing;
  return html`<div class="confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
    <p id="confirm-title"><strong>Sign out and wipe this browser?</strong></p>
    <p id="confirm-text">
      Everything this browser keeps is deleted: your documents, changes not yet sent, names, and its keys.
      ${app.identity
        ? html`Your documents stay with the people you share them with, and on your other devices. Without your 24 recovery words you cannot get your identity back.`
        : html`Your documents stay on your other devices; link this browser again from one of them to use it again.`}
    </p>
    <div class="actions">
      <button id="confirm-wipe" class="danger" @click=${() => void wipeDevice()}>Wipe this browser</button>
      <button class="quiet" ${ref(focusOnAppear)} @click=${cancel}>Cancel</button>
    </div>
  </div>`;
}

function linkSection() {
  if (!app.identity) return html`<p>This browser was linked: link new devices from a device that holds your recovery words.</p>`;
  const offer = settings.offer;
  if (!offer)
    return html`<p>Use your documents on another browser or computer without typing your recovery words.</p>
      <button id="link-device" ?disabled=${settings.busy} @click=${() => void openLink()}>Link a new device</button>`;
  return html`<ol class="steps">
      <li>
        On the other browser, open this link (it works once, for 10 minutes; keep this screen open):
        <input class="link" readonly autocomplete="off" aria-label="Link for the new device" .value=${offerAddress(offer)} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
        <button class="quiet" @click=${() => void navigator.clipboard?.writeText(offerAddress(offer))}>Copy the link</button>
      </li>
      <li>Give that browser a name there. It then shows a safety code.</li>
      <li>Approve below only if it shows the same code as here.</li>
    </ol>
    ${settings.requests.length === 0
      ? html`<p class="detail" role="status">Waiting for the other browser…</p>`
      : html`<ul class="requests">
          ${settings.requests.map((r) => {
            // The label is the asker's to choose: shown as text, trusted for nothing (the safety code is what counts).
            const name = deviceName({ label: r.label, identity: false });
            return html`<li>
              “${name}” asks to be linked. Safety code: <strong class="code">${r.safetyCode}</strong>
              <button class="approve" ?disabled=${settings.busy} @click=${() => void approve(r)}>Approve “${name}”</button>
            </li>`;
          })}
        </ul>`}
    <button class="quiet" @click=${() => void cancelLink()}>Cancel the link</button>`;
}

function phraseSection() {
  if (!app.identity) return html`<p>This browser does not hold your recovery words: see them on the device where you created your identity.</p>`;
  switch (settings.phrase) {
    case 'hidden':
      return html`<button id="show-phrase" class="quiet" @click=${() => void showPhrase()}>Show my 24 words</button>`;
    case 'asking':
      return html`<div class="confirm" role="alertdialog" aria-labelledby="phrase-title">
        <p id="phrase-title"><strong>Anyone who sees these words can read all your documents and act as you.</strong> Check that no one can see your screen.</p>
        <div class="actions">
          <button id="confirm-phrase" ${ref(focusOnAppear)} @click=${() => void showPhrase()}>Show them</button>
          <button class="quiet" @click=${hidePhrase}>Cancel</button>
        </div>
      </div>`;
    case 'shown':
      return html`<ol class="phrase" aria-label="Recovery phrase">
          ${settings.words.split(' ').map((w) => html`<li>${w}</li>`)}
        </ol>
        <button id="hide-phrase" class="quiet" @click=${hidePhrase}>Hide them</button>`;
  }
}

/** Settings: this device, the other devices, linking, the phrase, wiping. */
export function settingsView() {
  const list = devices();
  return html`<header>
      <strong>Sealdoc</strong>
      <span class="me">${names.mine}</span>
      <button id="back" class="quiet" @click=${leaveSettings}>Back to documents</button>
    </header>
    <main class="settings">
      <h1>Settings</h1>
      <h2>Your devices</h2>
      <ul class="devices" aria-label="Your devices">
        ${list.map(deviceItem)}
      </ul>
      ${revokeConfirmation()}
      <h2>Link a new device</h2>
      ${linkSection()}
      <h2>Recovery phrase</h2>
      ${phraseSection()}
      <h2>This browser</h2>
      <p>Signing out deletes everything this browser keeps.</p>
      <button id="wipe" class="danger" ?disabled=${settings.busy} @click=${() => confirm({ kind: 'wipe' })}>Sign out and wipe this browser</button>
      ${wipeConfirmation()}
      <p class="status" role="status" aria-live="polite">${settings.status}</p>
    </main>`;
}

/** A browser opened with a device link: a name for the person and for this browser, then the safety code to compare. */
export function linkView() {
  const problem = linkProblem(app.link);
  return html`<main class="welcome">
    <h1>Add this browser to your devices</h1>
    <p>You opened a link from your other device. This browser gets keys of its own; your recovery words stay where they are.</p>
    ${problem ? html`<p class="note" role="alert">${problem}</p>` : nothing}
    <div class="fields">
      <label for="my-name">Your name, as others see it</label>
      <input id="my-name" autocomplete="off" maxlength="60" .value=${names.mine} ?disabled=${linking.busy} />
      <label for="device-label">A name for this browser</label>
      <input id="device-label" autocomplete="off" maxlength="40" placeholder="Phone, Work laptop…" ?disabled=${linking.busy} />
      <div class="actions"><button id="link-this" ?disabled=${linking.busy} @click=${() => void linkThisBrowser()}>Link this browser</button></div>
    </div>
    ${linking.safetyCode
      ? html`<p role="status">Safety code: <strong class="code">${linking.safetyCode}</strong>. Check that your other device shows the same code, and approve there.</p>`
      : nothing}
  </main>`;
}
