/**
 * The look of `<sealdoc-editor>`: a toolbar that wraps on a phone, a writing surface that
 * fills the element and reads well at 375 px wide, the others' carets with their names, the
 * placeholder, checklists. Themed by the custom properties listed in docs/ui.md.
 * @module
 */
import { css } from 'lit';

/** The editor's styles (shadow DOM). */
export const editorStyles = css`
  :host {
    display: flex;
    flex-direction: column;
    position: relative;
    min-height: var(--sealdoc-editor-min-height, 12em);
    box-sizing: border-box;
    color: inherit;
  }
  .frame {
    display: flex;
    flex-direction: column;
    flex: 1 1 auto;
    min-height: inherit;
    border: var(--sealdoc-editor-border, 1px solid #bbb);
    border-radius: 0.4em;
    background: var(--sealdoc-editor-background, white);
    overflow: hidden;
  }
  :host([readonly]) .frame,
  .frame.locked {
    background: var(--sealdoc-editor-readonly-background, #f6f6f6);
  }
  [role='toolbar'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.15em;
    padding: 0.3em;
    border-bottom: 1px solid #ddd;
    background: var(--sealdoc-editor-toolbar-background, #fafafa);
    position: sticky;
    top: 0;
    z-index: 2;
  }
  [role='toolbar'] button {
    font: 0.9rem/1 system-ui, sans-serif;
    min-width: 2.4em;
    min-height: 2.4em;
    padding: 0 0.5em;
    border: 1px solid transparent;
    border-radius: 0.3em;
    background: transparent;
    color: #222;
    cursor: pointer;
  }
  [role='toolbar'] button:hover {
    background: #eee;
  }
  [role='toolbar'] button[aria-pressed='true'] {
    background: color-mix(in srgb, var(--sealdoc-accent, #2457c5) 15%, white);
    border-color: var(--sealdoc-accent, #2457c5);
    color: #111;
  }
  [role='toolbar'] button[aria-disabled='true'] {
    color: #767676;
    cursor: default;
  }
  [role='toolbar'] .sep {
    width: 1px;
    margin: 0.3em 0.2em;
    background: #ccc;
  }
  button:focus-visible,
  input:focus-visible,
  .surface:focus-visible {
    outline: 2px solid var(--sealdoc-accent, #2457c5);
    outline-offset: 1px;
  }
  .tool-strong {
    font-weight: 700 !important;
  }
  .tool-em {
    font-style: italic !important;
    font-family: Georgia, serif !important;
  }
  .tool-code {
    font-family: ui-monospace, monospace !important;
  }
  .link-form {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.4em;
    padding: 0.4em 0.5em;
    border-bottom: 1px solid #ddd;
    font: 0.9rem system-ui, sans-serif;
  }
  .link-form input {
    flex: 1 1 12em;
    min-width: 0;
    font: inherit;
    padding: 0.35em 0.5em;
    border: 1px solid #999;
    border-radius: 0.3em;
  }
  .link-form button {
    font: inherit;
    min-height: 2.2em;
  }
  .link-form .error {
    flex-basis: 100%;
    margin: 0;
    color: var(--sealdoc-error, #b91c1c);
  }
  .surface {
    flex: 1 1 auto;
    position: relative;
    padding: 0.75em 1em 2em;
    font: var(--sealdoc-editor-font, 1rem/1.6 system-ui, -apple-system, 'Segoe UI', sans-serif);
    white-space: pre-wrap;
    word-wrap: break-word;
    overflow-wrap: anywhere;
    -webkit-font-variant-ligatures: none;
    font-variant-ligatures: none;
    font-feature-settings: 'liga' 0;
    outline: none;
    min-height: 8em;
  }
  .surface[hidden] {
    display: none;
  }
  .surface:focus-visible {
    outline-offset: -3px;
  }
  .surface > :first-child,
  .surface > section:first-child > :first-child {
    margin-top: 0;
  }
  /* Sections (sections.ts): Chromium lays out, paints and hands the input method the text of
     the sections in view only (docs/ui.md, Typing cost). "auto" keeps a section's height once
     shown. A section with another member's caret is drawn whole: its name above the section's
     first line would be clipped by the paint containment that "auto" brings. */
  .surface > section {
    content-visibility: auto;
    contain-intrinsic-size: auto 30em;
  }
  .surface > section.has-caret {
    content-visibility: visible;
  }
  /* A section is its own formatting context: margins do not collapse through its edges. These
     rules give blocks at the edges of two sections the spacing they have side by side. */
  .surface > section:not(:last-child) {
    margin-bottom: 0.6em;
  }
  .surface > section > :last-child {
    margin-bottom: 0;
  }
  .surface > section:not(:first-child) > :first-child:is(h1, h2, h3) {
    margin-top: 0.3em;
  }
  /* A document from before sections: each top-level block lays itself out alone, so typing in
     one does not lay out the thousands of others again. Not paint containment: a caret's name
     above a block's first line would be clipped. */
  .surface > :not(section) {
    contain: layout style;
  }
  /* A contained list is its own formatting context: the margins of its first and last
     paragraphs no longer collapse through it. These two rules give the spacing it had. */
  .surface > :is(ul, ol) > li:first-child > :first-child {
    margin-top: 0;
  }
  .surface > :is(ul, ol) > li:last-child :last-child {
    margin-bottom: 0;
  }
  .surface p {
    margin: 0 0 0.6em;
  }
  .surface h1,
  .surface h2,
  .surface h3 {
    line-height: 1.25;
    margin: 0.9em 0 0.4em;
  }
  .surface h1 {
    font-size: 1.6em;
  }
  .surface h2 {
    font-size: 1.3em;
  }
  .surface h3 {
    font-size: 1.1em;
  }
  .surface ul,
  .surface ol {
    margin: 0 0 0.6em;
    padding-left: 1.6em;
  }
  .surface li > p {
    margin: 0.1em 0;
  }
  .surface code {
    font-family: ui-monospace, 'SFMono-Regular', Menlo, monospace;
    font-size: 0.9em;
    background: #f1f1f1;
    border-radius: 0.2em;
    padding: 0.05em 0.25em;
  }
  .surface a {
    color: var(--sealdoc-accent, #2457c5);
    text-decoration: underline;
  }
  .surface .unsafe-link {
    text-decoration: underline dotted;
  }
  .surface ul.checklist {
    list-style: none;
    padding-left: 0.2em;
  }
  .surface li.check-item {
    display: flex;
    align-items: flex-start;
    gap: 0.45em;
  }
  .surface li.check-item > .check {
    flex: none;
    user-select: none;
    padding-top: 0.2em;
  }
  .surface li.check-item > .check input {
    width: 1.05em;
    height: 1.05em;
    margin: 0;
    accent-color: var(--sealdoc-accent, #2457c5);
  }
  .surface li.check-item > .check-text {
    flex: 1 1 auto;
    min-width: 0;
  }
  .surface li.check-item[data-checked='true'] > .check-text {
    color: #595959;
    text-decoration: line-through;
  }
  .surface .placeholder::before {
    content: attr(data-placeholder);
    color: #6b6b6b;
    pointer-events: none;
    position: absolute;
  }
  .caret {
    position: relative;
    border-left: 2px solid var(--caret-color);
    margin-left: -1px;
    margin-right: -1px;
    pointer-events: none;
    word-break: normal;
  }
  .caret-name {
    position: absolute;
    bottom: 1.15em;
    left: -2px;
    font: 600 0.7rem/1.3 system-ui, sans-serif;
    color: white;
    background: var(--caret-color);
    padding: 0 0.35em;
    border-radius: 0.25em 0.25em 0.25em 0;
    white-space: nowrap;
    user-select: none;
    text-decoration: none;
    font-style: normal;
  }
  /* One's own other device: outlined, dashed, never looking like a stranger. */
  .caret.mine {
    border-left-style: dashed;
  }
  .caret.mine .caret-name {
    color: var(--caret-color);
    background: white;
    outline: 1.5px dashed var(--caret-color);
    outline-offset: -1.5px;
  }
  .remote-selection {
    background: color-mix(in srgb, var(--caret-color) 22%, transparent);
  }
  .legacy {
    padding: 0.75em 1em;
    font: var(--sealdoc-editor-font, 1rem/1.6 system-ui, sans-serif);
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .notice {
    font: 0.85rem/1.4 system-ui, sans-serif;
    margin: 0.35em 0 0;
    color: #444;
  }
  @media (max-width: 480px) {
    .surface {
      padding: 0.6em 0.7em 2em;
      font-size: var(--sealdoc-editor-phone-font-size, 1.0625rem);
    }
    /* One row that scrolls sideways: three rows of 44 px targets would take a third of the screen. */
    [role='toolbar'] {
      flex-wrap: nowrap;
      overflow-x: auto;
      scrollbar-width: thin;
    }
    [role='toolbar'] button {
      flex: none;
      min-width: 44px;
      min-height: 44px;
    }
  }
`;
