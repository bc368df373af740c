// Shared by every component: nmt_core.figures.component_js puts this file before the component's own
// module, so both read pieces the same way and build the page with textContent only.
const MARK = "\u2581"; // SentencePiece's word-start marker
const EOS = "</s>";
const PUNCTUATION = /^[\p{P}\p{S}]+$/u; // "." or "," glued to a word reads as itself, not "+."

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A piece as people read it: in words mode without the ▁ marker, a word's later pieces with a
// leading "+"; in pieces mode exactly as SentencePiece wrote it.
function pieceLabel(piece, pieces) {
  if (pieces || piece === EOS) return piece;
  if (piece.startsWith(MARK)) return piece.slice(MARK.length) || MARK;
  return PUNCTUATION.test(piece) ? piece : "+" + piece;
}
