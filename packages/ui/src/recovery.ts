/**
 * `<sealdoc-recovery>`: shows a new identity's 24 words once and asks for a few of them back;
 * or restores an identity from words typed in, checking them as they are typed.
 * @module
 */
import { css, html, LitElement } from 'lit';
import { identityFromMnemonic, isMnemonicWord, validateMnemonic, type Identity } from '@sealdoc/crypto';
import { describeError } from './words.js';

/** Detail of `sealdoc-restore`: the identity, and its words to keep (e.g. with `saveIdentity`). */
export interface RestoreDetail {
  identity: Identity;
  words: string;
}

const PHRASE_WORDS = 24;
const CONFIRM_COUNT = 3;

/** Distinct random positions, in order. */
function positions(count: number, of: number): number[] {
  const picked = new Set<number>();
  const random = new Uint32Array(1);
  while (picked.size < count) {
    crypto.getRandomValues(random);
    picked.add(random[0]! % of);
  }
  return [...picked].sort((a, b) => a - b);
}

const split = (text: string) => text.normalize('NFKD').toLowerCase().trim().split(/\s+/u).filter(Boolean);

/**
 * `mode="show"` with `words` set: the words once, then three of them asked back; on success
 * fires `sealdoc-recovery-confirmed` and forgets the words. `mode="restore"`: a field for the
 * 24 words, checked as they are typed (unknown words by position, then the checksum); on
 * submit fires `sealdoc-restore` (detail {@link RestoreDetail}).
 *
 * Parts: `words`, `word`, `confirm`, `input`, `message`, `button`. Custom properties:
 * `--sealdoc-accent`, `--sealdoc-error`.
 */
export class SealdocRecovery extends LitElement {
  static override properties = {
    mode: { reflect: true },
    words: { attribute: false },
    _step: { state: true },
    _asked: { state: true },
    _message: { state: true },
    _valid: { state: true },
  };

  static override styles = css`
    :host {
      display: block;
      font: inherit;
    }
    ol {
      display: grid;
      grid-template-columns: repeat(auto-fill, minmax(9em, 1fr));
      gap: 0.25em 1em;
      padding-left: 2.5em;
      font-family: ui-monospace, monospace;
    }
    textarea {
      width: 100%;
      min-height: 6em;
      font: inherit;
      font-family: ui-monospace, monospace;
      box-sizing: border-box;
    }
    label {
      display: block;
      margin: 0.5em 0 0.25em;
    }
    input {
      font: inherit;
      font-family: ui-monospace, monospace;
    }
    button {
      font: inherit;
      margin-top: 0.75em;
      padding: 0.4em 1em;
      border-radius: 0.3em;
      border: 1px solid var(--sealdoc-accent, #2457c5);
      background: var(--sealdoc-accent, #2457c5);
      color: white;
      cursor: pointer;
    }
    button:disabled {
      opacity: 0.5;
      cursor: default;
    }
    .message {
      min-height: 1.4em;
      margin: 0.5em 0 0;
    }
    .message.bad {
      color: var(--sealdoc-error, #b3261e);
    }
  `;

  /** `show` (a new identity's words) or `restore` (words typed in). */
  declare mode: 'show' | 'restore';
  /** For `show`: the 24 words, separated by spaces. Cleared once confirmed. */
  declare words: string;
  declare _step: 'words' | 'confirm' | 'done';
  declare _asked: number[];
  declare _message: string;
  declare _valid: boolean;

  constructor() {
    super();
    this.mode = 'show';
    this.words = '';
    this._step = 'words';
    this._asked = [];
    this._message = '';
    this._valid = false;
  }

  override render() {
    return this.mode === 'restore' ? this.#renderRestore() : this.#renderShow();
  }

  #renderShow() {
    if (this._step === 'done') return html`<p part="message" class="message" role="status">Your recovery phrase is confirmed. Keep it somewhere safe and offline.</p>`;
    if (this._step === 'confirm')
      return html`<form part="confirm" @submit=${this.#confirm}>
        <p>To be sure they are written down, type these words of your phrase.</p>
        ${this._asked.map(
          (i) => html`<label for="w${i}">Word ${i + 1}</label>
            <input part="input" id="w${i}" name="w${i}" autocomplete="off" autocapitalize="off" spellcheck="false" required />`,
        )}
        <p id="msg" part="message" class="message ${this._message ? 'bad' : ''}" role="alert">${this._message}</p>
        <button part="button" type="submit">Confirm</button>
      </form>`;
    const list = split(this.words);
    return html`<p>These ${list.length} words are the only way to recover your identity on a new device. Write them down, in order, and keep them offline. Anyone who has them can read all your documents.</p>
      <ol part="words" aria-label="Recovery phrase">
        ${list.map((w) => html`<li part="word">${w}</li>`)}
      </ol>
      <button part="button" type="button" ?disabled=${list.length !== PHRASE_WORDS} @click=${this.#toConfirm}>I have written them down</button>`;
  }

  #toConfirm(): void {
    this._asked = positions(CONFIRM_COUNT, PHRASE_WORDS);
    this._message = '';
    this._step = 'confirm';
    // The button pressed is gone: the focus goes to the first word asked, not back to the page's start.
    void this.updateComplete.then(() => this.renderRoot.querySelector('input')?.focus());
  }

  #confirm(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const list = split(this.words);
    const wrong = this._asked.find((i) => split((form.elements.namedItem(`w${i}`) as HTMLInputElement).value)[0] !== list[i]);
    if (wrong !== undefined) {
      this._message = `Word ${wrong + 1} does not match. Look at your written copy again.`;
      return;
    }
    // Shown once: the element keeps them no longer.
    this.words = '';
    this._step = 'done';
    this.dispatchEvent(new CustomEvent('sealdoc-recovery-confirmed', { bubbles: true, composed: true }));
  }

  #renderRestore() {
    return html`<form @submit=${this.#restore}>
      <label for="phrase">Your 24-word recovery phrase</label>
      <textarea
        id="phrase"
        part="input"
        autocomplete="off"
        autocapitalize="off"
        spellcheck="false"
        aria-describedby="msg"
        aria-invalid=${this._message && !this._valid ? 'true' : 'false'}
        @input=${this.#check}
      ></textarea>
      <p id="msg" part="message" class="message ${this._valid ? '' : 'bad'}" aria-live="polite">${this._message}</p>
      <button part="button" type="submit" ?disabled=${!this._valid}>Restore</button>
    </form>`;
  }

  /** Checks the words typed so far: unknown ones by position (the last, still being typed, only once followed by a space). */
  #check(event: Event): void {
    const text = (event.target as HTMLTextAreaElement).value;
    const list = split(text);
    const done = /\s$/u.test(text) || list.length >= PHRASE_WORDS;
    const checked = done ? list : list.slice(0, -1);
    const unknown = checked.flatMap((w, i) => (isMnemonicWord(w) ? [] : [i + 1]));
    this._valid = false;
    if (unknown.length > 0) this._message = `${unknown.length === 1 ? 'Word' : 'Words'} ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a recovery-phrase word.`;
    else if (list.length > PHRASE_WORDS) this._message = `That is ${list.length} words; a recovery phrase has ${PHRASE_WORDS}.`;
    else if (list.length < PHRASE_WORDS) this._message = list.length === 0 ? '' : `${list.length} of ${PHRASE_WORDS} words`;
    else {
      try {
        validateMnemonic(list);
        this._valid = true;
        this._message = 'The phrase is valid.';
      } catch (error) {
        this._message = describeError(error);
      }
    }
  }

  #restore(event: SubmitEvent): void {
    event.preventDefault();
    if (!this._valid) return;
    const field = this.renderRoot.querySelector('textarea')!;
    const words = split(field.value).join(' ');
    const identity = identityFromMnemonic(words);
    field.value = '';
    this._valid = false;
    this._message = 'Restored.';
    this.dispatchEvent(new CustomEvent<RestoreDetail>('sealdoc-restore', { detail: { identity, words }, bubbles: true, composed: true }));
  }
}

customElements.define('sealdoc-recovery', SealdocRecovery);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-recovery': SealdocRecovery;
  }
}
