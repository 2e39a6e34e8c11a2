// Streaming text for `flashgraph generate`: after each token, decode the whole output so far and
// print what was added, holding back while the text ends in U+FFFD (a character whose bytes have
// not all arrived), so a multi-byte character is never printed in halves. Decoding everything
// each time costs O(n^2) over a CLI-sized output, which is nothing next to a forward pass; and
// unlike decoding a window of recent tokens it cannot disagree with the final decode.
// (@flashgraph/models' createDetokenizer would do, but it decodes an empty window on the first
// token, which @huggingface/tokenizers rejects.)

export interface TextStream {
  /** The text this token adds ('' while it ends inside a character). */
  push(tokenId: number): string;
  /** The rest, a trailing incomplete character included. */
  flush(): string;
}

export function createTextStream(decode: (ids: readonly number[]) => string): TextStream {
  const ids: number[] = [];
  let sent = '';
  const next = (final: boolean): string => {
    const text = ids.length === 0 ? '' : decode(ids);
    if (!final && text.endsWith('\uFFFD')) return '';
    // A decoder may rewrite earlier text (spaces merged across tokens): print only what extends it.
    if (!text.startsWith(sent)) return '';
    const added = text.slice(sent.length);
    sent = text;
    return added;
  };
  return {
    push(tokenId) {
      ids.push(tokenId);
      return next(false);
    },
    flush: () => next(true),
  };
}
