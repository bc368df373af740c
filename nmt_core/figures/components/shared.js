// Shared by every component, so all read pieces the same way and build the page with textContent only. A
// component served as files (pages.lib.components.file_component) imports it (``import ... from "./shared.js"``);
// nmt_core.figures.component_js puts it before an inline component's own module.
export const MARK = "\u2581"; // SentencePiece's word-start marker
export const EOS = "</s>";
export const PUNCTUATION = /^[\p{P}\p{S}]+$/u; // "." or "," glued to a word reads as itself, not "+."

// The data a page sends: JSON bytes {"view": {...}, "payload": {...}} (nmt_core.figures.component_data), the
// decode's payload serialized once on the server and this run's view settings laid over it; a plain object
// passes through. Parsed once per distinct message: Streamlit hands the same bytes to every re-render.
let lastBytes = null;
let lastData = null;
export function componentData(data) {
  if (!(data instanceof Uint8Array || data instanceof ArrayBuffer || ArrayBuffer.isView(data))) return data;
  if (data === lastBytes) return lastData;
  const message = JSON.parse(new TextDecoder().decode(data));
  lastBytes = data;
  lastData = message && message.payload ? { ...message.payload, ...message.view } : null;
  return lastData;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A piece as people read it: in words mode without the ▁ marker, a word's later pieces with a
// leading "+"; in pieces mode exactly as SentencePiece wrote it.
export function pieceLabel(piece, pieces) {
  if (pieces || piece === EOS) return piece;
  if (piece.startsWith(MARK)) return piece.slice(MARK.length) || MARK;
  return PUNCTUATION.test(piece) ? piece : "+" + piece;
}

// Write a component's own URL parameters into the address bar ({step: 3}), from the browser: a link then reopens
// what the user is looking at, and the next server run reads them. Only when one changed (the URL does not churn);
// an address that cannot be rewritten (a sandboxed frame) only loses sharing.
export function setUrlParams(params) {
  try {
    const url = new URL(window.location.href);
    let changed = false;
    for (const [name, value] of Object.entries(params)) {
      if (url.searchParams.get(name) !== String(value)) {
        url.searchParams.set(name, String(value));
        changed = true;
      }
    }
    if (changed) window.history.replaceState(window.history.state, "", url.toString());
  } catch (error) {
    // no address to rewrite
  }
}
