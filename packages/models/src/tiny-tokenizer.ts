// A small working byte-level BPE tokenizer for the tiny models: the 256 byte symbols of GPT-2's
// byte-to-unicode map, merges learned deterministically from a fixed English text, and four
// special tokens at the end of the vocabulary. Written as tokenizer.json and tokenizer_config.json
// in the layouts Hugging Face checkpoints use, so the real tokenizer path is what tests exercise.

const CORPUS = [
  'the quick brown fox jumps over the lazy dog. the dog sleeps and the fox runs.',
  'hello world! this is a tiny model that writes random text, one token at a time.',
  'flashgraph runs decode steps inside full graphs; attention is paged and scheduled ahead of time.',
  'in the beginning there was a prompt, and then there were tokens: many, many tokens.',
].join(' ');

/** The GPT-2 pre-tokenization pattern (the ByteLevel pre-tokenizer's use_regex split). */
const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const TINY_SPECIAL_TOKENS = Object.freeze({
  bos: '<|begin_of_text|>',
  eos: '<|end_of_text|>',
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
});

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to code points from 256 up. */
export function byteToUnicode(): string[] {
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return map;
}

export interface TinyTokenizerFiles {
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfigJson: Record<string, unknown>;
  readonly vocabSize: number;
  readonly bosTokenId: number;
  readonly eosTokenIds: readonly number[];
}

function learnMerges(numMerges: number, bytes: string[]): [string, string][] {
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  for (const word of CORPUS.match(SPLIT) ?? []) {
    const key = [...encoder.encode(word)].map((b) => bytes[b]).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let words = [...counts].map(([key, count]) => ({ symbols: key.split('\u0000'), count }));
  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(pair, (pairs.get(pair) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 0;
    for (const [pair, count] of pairs) {
      // Highest count, then the lexicographically smallest pair: deterministic everywhere.
      if (count > bestCount || (count === bestCount && best !== null && pair < best)) {
        best = pair;
        bestCount = count;
      }
    }
    if (best === null || bestCount < 2) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    words = words.map(({ symbols, count }) => {
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i] as string);
      }
      return { symbols: merged, count };
    });
  }
  return merges;
}

/**
 * The tokenizer files of a tiny model. `addBos`: Llama/Mistral-style (a TemplateProcessing
 * post-processor and a chat template that add BOS) or Qwen-style (no BOS anywhere).
 */
export function tinyTokenizerFiles(options: { numMerges?: number; addBos: boolean }): TinyTokenizerFiles {
  const bytes = byteToUnicode();
  const merges = learnMerges(options.numMerges ?? 60, bytes);
  const vocab: Record<string, number> = {};
  bytes.forEach((symbol, id) => {
    vocab[symbol] = id;
  });
  for (const [a, b] of merges) vocab[a + b] ??= Object.keys(vocab).length;
  const specials: string[] = Object.values(TINY_SPECIAL_TOKENS);
  const firstSpecial = Object.keys(vocab).length;
  const vocabSize = firstSpecial + specials.length;
  const id = (token: string) => firstSpecial + specials.indexOf(token);
  const bos = TINY_SPECIAL_TOKENS.bos;
  const postProcessor = options.addBos
    ? {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: bos, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: bos, type_id: 1 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { [bos]: { id: bos, ids: [id(bos)], tokens: [bos] } },
      }
    : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const chatTemplate =
    (options.addBos ? '{{ bos_token }}' : '') +
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const tokenizerConfigJson = {
    add_bos_token: options.addBos,
    add_eos_token: false,
    bos_token: options.addBos ? bos : null,
    eos_token: TINY_SPECIAL_TOKENS.imEnd,
    chat_template: chatTemplate,
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return {
    tokenizerJson,
    tokenizerConfigJson,
    vocabSize,
    bosTokenId: id(bos),
    eosTokenIds: [id(TINY_SPECIAL_TOKENS.eos), id(TINY_SPECIAL_TOKENS.imEnd)],
  };
}
