// Checks of tokenizer.json before @huggingface/tokenizers builds from it. The library trusts the
// file: ids that are strings, negative, fractional or shared by two tokens load fine and come back
// out of encode(), a model type that does not match its data encodes garbage, and a malformed
// post-processor only fails (untyped) on the first encode. Files Hugging Face's Rust tokenizers
// write pass them. Each is one pass over the data (a tenth of a second for a 128k vocabulary).
import { INT32_MAX } from '@flashgraph/errors';
import { TokenizerError } from '../errors.js';

const FILE = 'tokenizer.json';
const ID_RANGE = `integers in [0, ${INT32_MAX - 1}]`;
const POST_PROCESSORS = ['TemplateProcessing', 'ByteLevel', 'BertProcessing', 'RobertaProcessing', 'Sequence'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every problem here is `bad_tokenizer`; the field and the problem say which. */
function fail(problem: string, field: string, value: unknown, allowed?: string): never {
  throw new TokenizerError('bad_tokenizer', FILE, problem, {
    field,
    value,
    ...(allowed === undefined ? {} : { allowed }),
  });
}

/** A large value by its kind and size (the whole vocabulary in an error helps nobody). */
function kind(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (isObject(value)) return `an object of ${Object.keys(value).length} keys`;
  return value === null ? 'null' : typeof value;
}

/** `field["key"]`, the path of a vocabulary entry. */
function entry(field: string, key: string): string {
  return `${field}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key)}]`;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < INT32_MAX;
}

function optionalType(model: Record<string, unknown>, key: string, type: 'string' | 'boolean', nullable = true): void {
  const v = model[key];
  if (v === undefined || (nullable && v === null) || typeof v === type) return;
  fail(`model.${key} must be a ${type}${nullable ? ' or null' : ''}`, `model.${key}`, v);
}

/** Where a token's id is looked up: model.vocab in place, or a map of Unigram pieces. */
type Lookup = (token: string) => number | undefined;

/**
 * Throws a TokenizerError naming the field of the first problem found; returns the size of the id
 * space (the largest id + 1: ids may leave gaps, as Rust allows).
 */
export function checkTokenizerJson(json: Record<string, unknown>, modelType: string): number {
  const model = json.model as Record<string, unknown>;
  const byId: (string | undefined)[] = []; // sparse where ids leave gaps; length = largest id + 1
  const modelId = modelType === 'Unigram' ? checkUnigram(model, byId) : checkVocabObject(model, modelType, byId);
  if (modelType === 'BPE') checkBpe(model);
  if (modelType === 'WordPiece') checkWordPiece(model);
  const added = checkAddedTokens(json.added_tokens, byId, modelId);
  const idOf: Lookup = (token) => added.get(token) ?? modelId(token);
  const unk = model.unk_token;
  if (modelType !== 'Unigram' && typeof unk === 'string' && idOf(unk) === undefined) {
    fail('model.unk_token is not a token of the vocabulary', 'model.unk_token', unk, 'a token of model.vocab');
  }
  checkPostProcessor(json.post_processor, 'post_processor', idOf, 0);
  return byId.length;
}

/** BPE and WordPiece: `{ token: id }`, ids unique. */
function checkVocabObject(model: Record<string, unknown>, type: string, byId: (string | undefined)[]): Lookup {
  const vocab = model.vocab;
  if (!isObject(vocab)) {
    fail(`a ${type} model.vocab must be an object of token -> id`, 'model.vocab', kind(vocab));
  }
  for (const token in vocab) {
    if (!Object.hasOwn(vocab, token)) continue;
    const id = vocab[token];
    if (!isId(id)) fail('a token id is not a valid id', entry('model.vocab', token), id, ID_RANGE);
    const other = byId[id];
    if (other !== undefined) {
      fail(`two tokens have id ${id} (${JSON.stringify(other)} too)`, entry('model.vocab', token), id);
    }
    byId[id] = token;
  }
  return (token) => (Object.hasOwn(vocab, token) ? (vocab[token] as number) : undefined);
}

/** Unigram: `[[piece, score], ...]`, the id of a piece is its index. */
function checkUnigram(model: Record<string, unknown>, byId: (string | undefined)[]): Lookup {
  const vocab = model.vocab;
  if (!Array.isArray(vocab) || vocab.length === 0) {
    fail('a Unigram model.vocab must be a non-empty list of [piece, score]', 'model.vocab', kind(vocab));
  }
  if (vocab.length > INT32_MAX) fail('too many pieces', 'model.vocab', vocab.length, ID_RANGE);
  const pieces = new Map<string, number>();
  vocab.forEach((item, i) => {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Number.isFinite(item[1])) {
      fail('a Unigram entry must be [piece, score]', `model.vocab[${i}]`, item, '[string, finite number]');
    }
    if (pieces.has(item[0])) fail('a piece appears twice', `model.vocab[${i}]`, item[0]);
    pieces.set(item[0], i);
    byId[i] = item[0];
  });
  const unk = model.unk_id;
  if (unk !== undefined && unk !== null && !(isId(unk) && unk < vocab.length)) {
    fail('model.unk_id is not the index of a piece', 'model.unk_id', unk, `null or [0, ${vocab.length - 1}]`);
  }
  optionalType(model, 'byte_fallback', 'boolean', false);
  return (token) => pieces.get(token);
}

function checkBpe(model: Record<string, unknown>): void {
  const merges = model.merges;
  if (!Array.isArray(merges)) fail('a BPE model needs model.merges, a list', 'model.merges', kind(merges));
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix', 'unk_token']) {
    optionalType(model, key, 'string');
  }
  for (const key of ['fuse_unk', 'byte_fallback', 'ignore_merges']) optionalType(model, key, 'boolean');
  // The library reads every merge in the format of the first: 'a b' strings or [a, b] pairs.
  const pairs = Array.isArray(merges[0]);
  merges.forEach((merge, i) => {
    const ok = pairs
      ? Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string'
      : typeof merge === 'string' && merge.indexOf(' ') !== -1 && merge.indexOf(' ') === merge.lastIndexOf(' ');
    if (!ok) {
      const allowed = pairs ? '[string, string], as the first merge' : "'a b' (one space), as the first merge";
      fail('a merge is malformed', `model.merges[${i}]`, merge, allowed);
    }
  });
}

function checkWordPiece(model: Record<string, unknown>): void {
  if (model.merges !== undefined) {
    fail('model.merges is BPE data, but model.type is WordPiece', 'model.merges', kind(model.merges), 'no merges');
  }
  // The library uses both for every word it splits, so they must be there (Hugging Face writes them).
  if (typeof model.continuing_subword_prefix !== 'string') {
    fail(
      'a WordPiece model needs model.continuing_subword_prefix',
      'model.continuing_subword_prefix',
      model.continuing_subword_prefix,
      "a string, usually '##'",
    );
  }
  if (typeof model.unk_token !== 'string') {
    fail('a WordPiece model needs model.unk_token', 'model.unk_token', model.unk_token, 'a token of model.vocab');
  }
  const max = model.max_input_chars_per_word;
  if (max !== undefined && !(isId(max) && max > 0)) {
    fail('model.max_input_chars_per_word is not a positive integer', 'model.max_input_chars_per_word', max);
  }
}

/**
 * added_tokens: `[{ id, content, special?, ... }]`, each id naming one token. A token also in
 * model.vocab (Llama 2's <s>, say) must have its id there. Returns content -> id.
 */
function checkAddedTokens(added: unknown, byId: (string | undefined)[], modelId: Lookup): Map<string, number> {
  if (!Array.isArray(added)) fail('added_tokens must be a list', 'added_tokens', kind(added), 'a list (may be empty)');
  const ids = new Map<string, number>();
  added.forEach((token, i) => {
    const field = `added_tokens[${i}]`;
    if (!isObject(token)) fail('an added token must be an object', field, token, '{ id, content, ... }');
    const { id, content } = token;
    if (!isId(id)) fail('an added token id is not a valid id', `${field}.id`, id, ID_RANGE);
    if (typeof content !== 'string' || content.length === 0) {
      fail('an added token content must be a non-empty string', `${field}.content`, content);
    }
    for (const key of ['special', 'single_word', 'lstrip', 'rstrip', 'normalized']) {
      if (token[key] !== undefined && typeof token[key] !== 'boolean') {
        fail(`${key} must be a boolean`, `${field}.${key}`, token[key]);
      }
    }
    const other = byId[id];
    if (other !== undefined && other !== content) {
      fail(`id ${id} is also the id of ${JSON.stringify(other)}`, `${field}.id`, id);
    }
    const known = ids.get(content) ?? modelId(content);
    if (known !== undefined && known !== id) {
      fail(`the token also has id ${known}`, `${field}.id`, id, `${known}`);
    }
    byId[id] = content;
    ids.set(content, id);
  });
  return ids;
}

/** The post-processors the library knows, with the special tokens they insert known to the vocabulary. */
function checkPostProcessor(pp: unknown, field: string, idOf: Lookup, depth: number): void {
  if (pp === null || (pp === undefined && depth === 0)) return;
  if (!isObject(pp) || typeof pp.type !== 'string' || !POST_PROCESSORS.includes(pp.type)) {
    fail(
      'the post-processor is not one the tokenizer supports',
      `${field}.type`,
      isObject(pp) ? pp.type : pp,
      POST_PROCESSORS.join(', '),
    );
  }
  const special = (token: unknown, at: string) => {
    if (typeof token !== 'string' || idOf(token) === undefined) {
      fail(
        'the post-processor inserts a token that is not in the vocabulary',
        at,
        token,
        'a token of model.vocab or added_tokens',
      );
    }
  };
  if (pp.type === 'TemplateProcessing') {
    for (const key of ['single', 'pair']) {
      const template = pp[key];
      if (template === undefined && key === 'pair') continue;
      if (!Array.isArray(template))
        fail(
          `TemplateProcessing needs ${key}, a list`,
          `${field}.${key}`,
          template,
          '[{ SpecialToken } or { Sequence }, ...]',
        );
      template.forEach((item, i) => {
        const at = `${field}.${key}[${i}]`;
        if (isObject(item) && isObject(item.SpecialToken)) special(item.SpecialToken.id, `${at}.SpecialToken.id`);
        else if (
          !(isObject(item) && isObject(item.Sequence) && (item.Sequence.id === 'A' || item.Sequence.id === 'B'))
        ) {
          fail('a template item is malformed', at, item, "{ SpecialToken: { id } } or { Sequence: { id: 'A' | 'B' } }");
        }
      });
    }
  } else if (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') {
    for (const key of ['sep', 'cls']) {
      const pair = pp[key];
      if (!Array.isArray(pair) || pair.length !== 2 || !isId(pair[1])) {
        fail(`${pp.type} needs ${key}, [token, id]`, `${field}.${key}`, pair, '[string, integer]');
      }
      special(pair[0], `${field}.${key}[0]`);
    }
  } else if (pp.type === 'Sequence') {
    // Nested sequences are legal but never deep: a bound keeps this walk off the stack's end.
    if (!Array.isArray(pp.processors) || depth > 4) {
      fail('Sequence needs processors, a list (nested at most 4 deep)', `${field}.processors`, pp.processors);
    }
    pp.processors.forEach((p, i) => {
      checkPostProcessor(p, `${field}.processors[${i}]`, idOf, depth + 1);
    });
  }
}
