// HfTokenizer: tokenizer.json through @huggingface/tokenizers, the chat template of
// tokenizer_config.json through @huggingface/jinja, and incremental detokenization for streaming.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@flashgraph/errors';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from './errors.js';

const TOKENIZER_FILE = 'tokenizer.json';
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
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (err) {
    if (!required) return undefined;
    throw new TokenizerError('missing_file', file, 'the file does not exist', {
      cause: err,
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

export class HfTokenizer {
  readonly vocabSize: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  readonly chatTemplate: string | null;
  private readonly tokenizer: Tokenizer;
  private readonly addBosToken: boolean | null;
  private readonly template: Template | null;

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
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TokenizerError(
        'bad_tokenizer',
        TOKENIZER_FILE,
        `the tokenizer cannot be built: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.bosTokenId = this.bosToken === null ? null : (this.tokenizer.token_to_id(this.bosToken) ?? null);
    this.addBosToken = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : null;
    this.chatTemplate = chatTemplateOf(config);
    try {
      this.template = this.chatTemplate === null ? null : new Template(this.chatTemplate);
    } catch (err) {
      throw new TokenizerError(
        'bad_chat_template',
        CONFIG_FILE,
        `the chat template does not parse: ${(err as Error).message}`,
        {
          field: 'chat_template',
          cause: err,
        },
      );
    }
  }

  /** Reads tokenizer.json (required) and tokenizer_config.json (optional) from a model folder. */
  static async load(dir: string): Promise<HfTokenizer> {
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
    if (typeof text !== 'string') {
      throw new InvalidArgumentError({ code: 'invalid_type', path: 'text', value: text, allowed: 'a string' });
    }
    const addSpecial = options.addSpecialTokens ?? true;
    const ids = this.tokenizer.encode(text, { add_special_tokens: addSpecial }).ids;
    if (!addSpecial || this.bosTokenId === null || this.addBosToken === null) return ids;
    const startsWithBos = ids[0] === this.bosTokenId;
    if (this.addBosToken && !startsWithBos) return [this.bosTokenId, ...ids];
    if (!this.addBosToken && startsWithBos && !text.startsWith(this.bosToken as string)) return ids.slice(1);
    return ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    for (const [i, id] of ids.entries()) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError('bad_token_id', 'decode', 'token id outside the vocabulary', {
          field: `ids[${i}]`,
          value: id,
          allowed: `integers in [0, ${this.vocabSize - 1}]`,
        });
      }
    }
    if (ids.length === 0) return ''; // the library rejects an empty list
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The chat template rendered (as transformers' apply_chat_template with tokenize=False). */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (this.template === null) {
      throw new TokenizerError('no_chat_template', CONFIG_FILE, 'the tokenizer has no chat template', {
        field: 'chat_template',
        fix: 'use a plain text prompt, or a model folder whose tokenizer_config.json has a chat_template',
      });
    }
    if (
      !Array.isArray(messages) ||
      !messages.every((m) => isObject(m) && typeof m.role === 'string' && typeof m.content === 'string')
    ) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: 'messages',
        value: messages,
        allowed: 'a list of { role, content } with string values',
      });
    }
    return this.template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
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
    const ids: number[] = [];
    let prefixOffset = 0;
    let readOffset = 0;
    const decode = (from: number, to: number) => this.decode(ids.slice(from, to), options);
    return {
      push: (tokenId: number): string => {
        this.decode([tokenId]); // validates the id before it joins the window
        ids.push(tokenId);
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
