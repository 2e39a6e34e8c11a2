// HfTokenizer: tokenizer.json through @huggingface/tokenizers, the chat template of
// tokenizer_config.json through @huggingface/jinja, and incremental detokenization for streaming.
import { join } from 'node:path';
import {
  checkArrayCopy,
  checkBoolean,
  checkObject,
  checkOptions,
  checkString,
  INT32_MAX,
  InvalidArgumentError,
  optional,
} from '@flashgraph/errors';
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from './errors.js';
import { readJsonTextFile } from './files.js';
import { CHAT_TEMPLATE_LIMITS, ChatTemplate } from './tokenizer/chat-template.js';
import { checkTokenizerJson } from './tokenizer/check-json.js';

export { CHAT_TEMPLATE_LIMITS, type ChatTemplateLimits } from './tokenizer/chat-template.js';

const TOKENIZER_FILE = 'tokenizer.json';
/** The longest text `encode` takes (the chat template's output bound, CHAT_TEMPLATE_LIMITS.maxChars, is smaller). */
const MAX_ENCODE_CHARS = 16 * 1024 * 1024;
const CONFIG_FILE = 'tokenizer_config.json';

/** Tokenizer models @huggingface/tokenizers implements. */
export const SUPPORTED_TOKENIZER_MODELS: readonly string[] = Object.freeze(['BPE', 'WordPiece', 'Unigram']);

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** Streams text from token ids: each push returns the new text, never half a character. */
export interface Detokenizer {
  /** The text the token completes, or '' while it ends inside a multi-byte character. */
  push(tokenId: number): string;
  /** Whatever is left (a trailing incomplete character as U+FFFD). */
  flush(): string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A special token of tokenizer_config.json: a string, or an AddedToken object { content }. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return null;
}

async function readJson(dir: string, file: string, required: boolean): Promise<unknown> {
  // Stat'ed first: a directory or pipe there is a typed error, never a hang (files.ts).
  const text = await readJsonTextFile(join(dir, file), {
    errorFor: (code, problem, details) => new TokenizerError(code, file, problem, details),
  });
  if (text === null) {
    if (!required) return undefined;
    throw new TokenizerError('missing_file', file, 'the file does not exist', {
      fix: 'copy tokenizer.json from the model repository into the model folder',
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TokenizerError('not_json', file, 'the file is not well-formed JSON', { cause: err });
  }
}

function chatTemplateOf(config: Record<string, unknown>): string | null {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((e) => isObject(e) && e.name === 'default') ?? t[0];
    if (isObject(named) && typeof named.template === 'string') return named.template;
  }
  if (t !== undefined && t !== null) {
    throw new TokenizerError(
      'bad_chat_template',
      CONFIG_FILE,
      'chat_template must be a string or a list of { name, template }',
      {
        field: 'chat_template',
      },
    );
  }
  return null;
}

/** Encoded and decoded at load, so a tokenizer part that fails on plain text fails there, typed. */
const PROBE_TEXT = 'Hello, world! 123';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class HfTokenizer {
  /** The size of the id space: every id the tokenizer knows is in [0, vocabSize). */
  readonly vocabSize: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  readonly chatTemplate: string | null;
  private readonly tokenizer: Tokenizer;
  private readonly addBosToken: boolean | null;
  private readonly template: ChatTemplate | null;

  private constructor(tokenizerJson: Record<string, unknown>, config: Record<string, unknown>) {
    const model = tokenizerJson.model;
    const type = isObject(model) ? model.type : undefined;
    if (typeof type !== 'string' || !SUPPORTED_TOKENIZER_MODELS.includes(type)) {
      throw new TokenizerError('unknown_tokenizer_model', TOKENIZER_FILE, 'the tokenizer model is not supported', {
        field: 'model.type',
        value: type,
        allowed: SUPPORTED_TOKENIZER_MODELS.join(', '),
      });
    }
    // The library takes ids and structure on trust: check them before it builds anything.
    try {
      this.vocabSize = checkTokenizerJson(tokenizerJson, type);
    } catch (err) {
      if (err instanceof TokenizerError) throw err;
      // An object given to fromJson whose getters throw, say.
      throw new TokenizerError('bad_tokenizer', TOKENIZER_FILE, `the tokenizer cannot be read: ${messageOf(err)}`, {
        cause: err,
      });
    }
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TokenizerError('bad_tokenizer', TOKENIZER_FILE, `the tokenizer cannot be built: ${messageOf(err)}`, {
        cause: err,
      });
    }
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.bosTokenId = this.bosToken === null ? null : (this.tokenizer.token_to_id(this.bosToken) ?? null);
    this.addBosToken = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : null;
    this.chatTemplate = chatTemplateOf(config);
    this.template = this.chatTemplate === null ? null : new ChatTemplate(this.chatTemplate);
    // Normalizers, pre-tokenizers, post-processors and decoders are only run on use: run them once.
    try {
      const ids = this.tokenizer.encode(PROBE_TEXT, { add_special_tokens: true }).ids;
      const known = ids.filter((id) => this.tokenizer.id_to_token(id) !== undefined);
      if (known.length > 0) this.tokenizer.decode(known, { skip_special_tokens: false });
    } catch (err) {
      throw new TokenizerError(
        'bad_tokenizer',
        TOKENIZER_FILE,
        `the tokenizer fails on plain text (${JSON.stringify(PROBE_TEXT)}): ${messageOf(err)}`,
        { cause: err },
      );
    }
  }

  /** Reads tokenizer.json (required) and tokenizer_config.json (optional) from a model folder. */
  static async load(dir: string): Promise<HfTokenizer> {
    checkString('dir', dir, { nonEmpty: true });
    const json = await readJson(dir, TOKENIZER_FILE, true);
    const config = (await readJson(dir, CONFIG_FILE, false)) ?? {};
    if (!isObject(json)) throw new TokenizerError('not_object', TOKENIZER_FILE, 'the file must hold a JSON object');
    if (!isObject(config)) throw new TokenizerError('not_object', CONFIG_FILE, 'the file must hold a JSON object');
    return new HfTokenizer(json, config);
  }

  /** From already-parsed files (tests, tools). */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}): HfTokenizer {
    if (!isObject(tokenizerJson))
      throw new TokenizerError('not_object', TOKENIZER_FILE, 'the file must hold a JSON object');
    if (!isObject(tokenizerConfig))
      throw new TokenizerError('not_object', CONFIG_FILE, 'the file must hold a JSON object');
    return new HfTokenizer(tokenizerJson, tokenizerConfig);
  }

  /**
   * Text to token ids. With special tokens (the default) BOS is added where the post-processor of
   * tokenizer.json adds it, unless tokenizer_config.json's add_bos_token says otherwise.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    // Bounded: the library encodes synchronously, and 16 Mi characters is already millions of
    // tokens, past any model's context.
    checkString('text', text, { maxLength: MAX_ENCODE_CHARS });
    const o = checkOptions('options', options, ['addSpecialTokens']);
    const addSpecial = optional(o.addSpecialTokens, true, (v) => checkBoolean('options.addSpecialTokens', v));
    const ids = this.encodeText(text, addSpecial);
    if (!addSpecial || this.bosTokenId === null || this.addBosToken === null) return ids;
    const startsWithBos = ids[0] === this.bosTokenId;
    if (this.addBosToken && !startsWithBos) return [this.bosTokenId, ...ids];
    if (!this.addBosToken && startsWithBos && !text.startsWith(this.bosToken as string)) return ids.slice(1);
    return ids;
  }

  /** The library's encode, its failures typed and its output checked: a plain array of ids in range. */
  private encodeText(text: string, addSpecial: boolean): number[] {
    let encoding: { ids: unknown[]; tokens: unknown[] };
    try {
      encoding = this.tokenizer.encode(text, { add_special_tokens: addSpecial });
    } catch (err) {
      throw new TokenizerError('bad_tokenizer', TOKENIZER_FILE, `the tokenizer failed on the text: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const ids = new Array<number>(encoding.ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = encoding.ids[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        // A piece with no id: the vocabulary cannot spell it and there is no unk token to stand in.
        throw new TokenizerError('bad_tokenizer', TOKENIZER_FILE, 'part of the text has no token id', {
          field: 'model.unk_token',
          value: encoding.tokens[i],
          fix: 'use a tokenizer with an unk_token (or byte fallback), or leave those characters out of the text',
        });
      }
      ids[i] = id;
    }
    return ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const list = this.checkIds(ids);
    const o = checkOptions('options', options, ['skipSpecialTokens']);
    const skip = optional(o.skipSpecialTokens, false, (v) => checkBoolean('options.skipSpecialTokens', v));
    return this.decodeIds(list, skip);
  }

  /** An array of numbers (an argument error otherwise), each an id of this tokenizer (bad_token_id otherwise). */
  private checkIds(ids: unknown): number[] {
    const items = checkArrayCopy('ids', ids, { maxLength: INT32_MAX });
    for (let i = 0; i < items.length; i++) this.checkId(items[i], `ids[${i}]`);
    return items as number[];
  }

  private checkId(id: unknown, path: string): number {
    const allowed = `integers in [0, ${this.vocabSize - 1}]`;
    if (typeof id !== 'number') throw new InvalidArgumentError({ code: 'invalid_type', path, value: id, allowed });
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError('bad_token_id', 'decode', 'token id outside the vocabulary', {
        field: path,
        value: id,
        allowed,
      });
    }
    return id;
  }

  /** Checked ids to text. An id with no token (a gap in the id space) decodes to nothing, as in Rust. */
  private decodeIds(ids: readonly number[], skipSpecialTokens: boolean): string {
    const known = ids.filter((id) => this.tokenizer.id_to_token(id) !== undefined);
    if (known.length === 0) return ''; // the library rejects an empty list
    try {
      return this.tokenizer.decode(known, { skip_special_tokens: skipSpecialTokens });
    } catch (err) {
      throw new TokenizerError('bad_tokenizer', TOKENIZER_FILE, `the tokenizer failed to decode: ${messageOf(err)}`, {
        field: 'decoder',
        cause: err,
      });
    }
  }

  /**
   * The chat template rendered (as transformers' apply_chat_template with tokenize=False), under
   * CHAT_TEMPLATE_LIMITS. Any failure is a `bad_chat_template` TokenizerError on
   * tokenizer_config.json's chat_template, the original as its cause; its message says whether the
   * template's raise_exception rejected the messages (its text included), the render went past a
   * limit, or the template failed.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    const list = checkMessages(messages);
    const o = checkOptions('options', options, ['addGenerationPrompt']);
    const addGenerationPrompt = optional(o.addGenerationPrompt, true, (v) =>
      checkBoolean('options.addGenerationPrompt', v),
    );
    if (this.template === null) {
      throw new TokenizerError('no_chat_template', CONFIG_FILE, 'the tokenizer has no chat template', {
        field: 'chat_template',
        fix: 'use a plain text prompt, or a model folder whose tokenizer_config.json has a chat_template',
      });
    }
    return this.template.render({
      messages: list,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    });
  }

  /** Chat messages to token ids: the rendered template, encoded without adding special tokens. */
  encodeChat(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  /**
   * A streaming decoder. It decodes a short window of recent tokens and holds text back while it
   * ends in U+FFFD (a character whose bytes have not all arrived), as TGI and vLLM do.
   */
  createDetokenizer(options: { skipSpecialTokens?: boolean } = {}): Detokenizer {
    const o = checkOptions('options', options, ['skipSpecialTokens']);
    const skip = optional(o.skipSpecialTokens, false, (v) => checkBoolean('options.skipSpecialTokens', v));
    const ids: number[] = [];
    let prefixOffset = 0;
    let readOffset = 0;
    const decode = (from: number, to: number) => this.decodeIds(ids.slice(from, to), skip);
    return {
      push: (tokenId: number): string => {
        ids.push(this.checkId(tokenId, 'tokenId')); // checked before it joins the window
        const prefix = decode(prefixOffset, readOffset);
        const full = decode(prefixOffset, ids.length);
        if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
          prefixOffset = readOffset;
          readOffset = ids.length;
          return full.slice(prefix.length);
        }
        return '';
      },
      flush: (): string => {
        const prefix = decode(prefixOffset, readOffset);
        const full = decode(prefixOffset, ids.length);
        prefixOffset = readOffset = ids.length;
        return full.slice(prefix.length);
      },
    };
  }
}

// The JSON length of a message's keys besides role and content (tool calls, names): they reach
// the template too, so they count against its size bound, and must be JSON data.
function extraKeysLength(m: Readonly<Record<string, unknown>>, i: number): number {
  let length = 0;
  for (const [key, value] of Object.entries(m)) {
    if (key === 'role' || key === 'content') continue;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (cause) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: `messages[${i}].${key}`,
        value,
        allowed: 'JSON data (strings, numbers, booleans, null, arrays, plain objects)',
        cause,
      });
    }
    length += key.length + (json?.length ?? 0);
  }
  return length;
}

/**
 * Messages copied (own keys only): `role` and `content` strings, and any other key a template may
 * read (`tool_calls`, `name`, ...) as JSON data; their text is bounded as a render's output is.
 */
function checkMessages(messages: unknown): ChatMessage[] {
  const maxChars = CHAT_TEMPLATE_LIMITS.maxChars;
  const items = checkArrayCopy('messages', messages, { maxLength: maxChars });
  const out: ChatMessage[] = [];
  let chars = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const m = checkObject(`messages[${i}]`, item ?? null);
    const role = checkString(`messages[${i}].role`, m.role);
    const content = checkString(`messages[${i}].content`, m.content);
    chars += role.length + content.length + extraKeysLength(m, i);
    if (chars > maxChars) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: 'messages',
        value: `${chars}+ characters`,
        allowed: `at most ${maxChars} characters of messages in all (as JSON)`,
      });
    }
    out.push({ ...m, role, content });
  }
  return out;
}
