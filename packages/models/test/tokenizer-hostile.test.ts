// HfTokenizer on hostile input: chat templates that fail, loop, recurse or blow up (bounded, typed
// TokenizerErrors), tokenizer.json files whose ids or structure are wrong (rejected at load, naming
// the field), and bad arguments (InvalidArgumentErrors naming the argument). Nothing crashes, hangs
// or runs out of memory.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { Interpreter } from '@huggingface/jinja';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HfTokenizer, TokenizerError, writeTinyModel } from '../src/index.js';
import { tinyTokenizerFiles } from '../src/tiny-tokenizer.js';
import { CHAT_TEMPLATE_LIMITS, ChatTemplate } from '../src/tokenizer/chat-template.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-tokenizer-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const files = tinyTokenizerFiles({ addBos: true });
// biome-ignore lint/suspicious/noExplicitAny: tests edit the JSON freely
type Json = any;
const tokenizerJson = (): Json => structuredClone(files.tokenizerJson);
const good = HfTokenizer.fromJson(files.tokenizerJson, files.tokenizerConfigJson);
const messages = [{ role: 'user', content: 'hello world' }];

/** A model folder written to disk, as HfTokenizer.load reads it. */
let folders = 0;
function folder(json: unknown, config: unknown = files.tokenizerConfigJson): string {
  const dir = join(root, `m${folders++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

function withTemplate(template: string): HfTokenizer {
  return HfTokenizer.fromJson(files.tokenizerJson, { ...files.tokenizerConfigJson, chat_template: template });
}

/** The error `fn` throws (the test fails if it returns). */
function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

/** A template prefix that sets `s` to `init` concatenated with itself `times` times (sets in a loop stay in it). */
function grown(init: string, times: number, op = '~'): string {
  return `{% set ns = namespace(s=${init}) %}{% for i in range(${times}) %}{% set ns.s = ns.s ${op} ns.s %}{% endfor %}{% set s = ns.s %}`;
}

/** What the message of each kind of render failure says. */
const KIND = {
  raised: 'the chat template rejected the messages: ',
  limit: 'rendering the chat template stopped: ',
  failed: 'the chat template failed: ',
};

function templateError(template: string, kind: keyof typeof KIND): TokenizerError {
  const started = Date.now();
  const err = thrown(() => withTemplate(template).applyChatTemplate(messages));
  expect(err).toBeInstanceOf(TokenizerError);
  expect(err).toMatchObject({ code: 'bad_chat_template', file: 'tokenizer_config.json', field: 'chat_template' });
  expect(err.message).toContain(KIND[kind]);
  // Each limit stops the render well before the minutes and gigabytes an unbounded one takes.
  expect(Date.now() - started).toBeLessThan(5000);
  return err as unknown as TokenizerError;
}

describe('chat templates that fail at render time', () => {
  it('the interpreter hook the bounds rely on is there', () => {
    expect(typeof (Interpreter.prototype as unknown as { renderBlock?: unknown }).renderBlock).toBe('function');
  });

  it("raise_exception is a TokenizerError with the template's message", async () => {
    const template = "{{ raise_exception('bad template') }}";
    const err = templateError(template, 'raised');
    expect(err.message).toContain('bad template');
    // From the files on disk, and through encodeChat, the same.
    const tk = await HfTokenizer.load(
      folder(files.tokenizerJson, { ...files.tokenizerConfigJson, chat_template: template }),
    );
    expect(() => tk.encodeChat(messages)).toThrow(expect.objectContaining({ code: 'bad_chat_template' }));
    expect(() => tk.encodeChat(messages)).toThrow(`${KIND.raised}bad template`);
  });

  it('errors inside the template are bad_chat_template, with the original as cause', () => {
    const call = templateError('{{ foo() }}', 'failed');
    expect(call.message).toContain('not a function');
    expect(call.cause).toBeInstanceOf(Error);
    const multiply = templateError("{{ 'a' * 1000000000 }}", 'failed');
    expect(multiply.cause).toBeInstanceOf(SyntaxError);
    templateError('{{ range(1.5) }}', 'failed');
    templateError('{{ messages[0].content | nosuchfilter }}', 'failed');
  });

  it('a parse error is found at load', async () => {
    const deep = `{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`;
    const dir = folder(files.tokenizerJson, { ...files.tokenizerConfigJson, chat_template: deep });
    await expect(HfTokenizer.load(dir)).rejects.toMatchObject({ code: 'bad_chat_template', field: 'chat_template' });
  });

  it('unbounded recursion stops at the depth limit', () => {
    const err = templateError('{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}', 'limit');
    expect(err.message).toContain('nesting too deep');
    // Recursion of a real depth (nested tool schemas) renders.
    const ok = '{% macro f(n) %}{% if n < 100 %}({{ f(n+1) }}){% endif %}{% endmacro %}{{ f(0) }}';
    expect(withTemplate(ok).applyChatTemplate(messages)).toBe(`${'('.repeat(100)}${')'.repeat(100)}`);
  });

  it('a huge range() is refused before it allocates', () => {
    const err = templateError('{% for i in range(100000000) %}x{% endfor %}', 'limit');
    expect(err.message).toContain('range()');
    expect(err.message).toContain(`at most ${CHAT_TEMPLATE_LIMITS.maxRange} items`);
    expect(withTemplate('{{ range(2, 11, 3) }} {{ range(3, 0, -1) }}').applyChatTemplate(messages)).toBe(
      '[2, 5, 8] [3, 2, 1]',
    );
  });

  it('loops that run too long stop at the step limit', () => {
    const err = templateError(
      '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}',
      'limit',
    );
    expect(err.message).toContain('too many steps');
  });

  it('values that double each time stop at the size limit', () => {
    const limit = `at most ${CHAT_TEMPLATE_LIMITS.maxChars} characters`;
    for (const template of [
      "{% set s = 'ab' %}{% for i in range(64) %}{% set s = s + s %}{% endfor %}{{ s }}",
      "{% set s = 'ab' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}",
      '{% set a = [1] %}{% for i in range(64) %}{% set a = a + a %}{% endfor %}',
      // The same long string many times in a list: small to hold, huge to print.
      `${grown("'abcdefgh'", 19)}{{ [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s] }}`,
      '{% set ns = namespace(a=1) %}{% set ns.a = ns %}{{ ns }}',
    ]) {
      expect(templateError(template, 'limit').message).toContain(limit);
    }
  });

  it('calls whose output outgrows their input are checked before they run', () => {
    const long = `'${'x'.repeat(1000)}'`;
    for (const template of [
      `{{ messages[0].content | indent(1000000000, true) }}`,
      `${grown("'a'", 14)}{{ s.replace('', ${long}) }}`,
      // A method kept in a variable, a filter block, and a {% call %} are the same calls.
      `${grown("'a'", 14)}{% set r = s.replace %}{{ r('', ${long}) }}`,
      `${grown("'a'", 14)}{% set r = s.replace %}{% call r('', ${long}) %}{% endcall %}`,
      `{% filter replace('', ${long}) %}{% for i in range(20000) %}y{% endfor %}{% endfilter %}`,
      `${grown("'a'", 14)}{{ s | join(${long}) }}`,
      `${grown('[[[[1]]]]', 10, '+')}{{ s | tojson(indent=100000) }}`,
      `${grown(`'${','.repeat(2048)}'`, 10)}{{ s.split(',') | length }}`,
    ]) {
      expect(templateError(template, 'limit').message).toMatch(
        /(replace|indent|join|tojson|split)\(\)'s result too large/,
      );
    }
  });

  it('a render that is slow step by step stops at the time limit', () => {
    const template = new ChatTemplate(
      "{% set l = [] %}{% for i in range(100000) %}{% set l = l + ['abcdefghij'] %}{% endfor %}",
      { maxMillis: 200 },
    );
    const started = Date.now();
    expect(() => template.render({})).toThrow(expect.objectContaining({ code: 'bad_chat_template' }));
    expect(() => template.render({})).toThrow('rendering took too long');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('real templates still render: loops, namespaces, tojson, strftime_now, a role check', () => {
    const template = [
      '{%- set ns = namespace(system=none) -%}',
      "{%- if messages[0]['role'] == 'system' %}{% set ns.system = messages[0]['content'] %}{% endif -%}",
      '{{ bos_token }}{% if ns.system %}[SYS]{{ ns.system | trim }}[/SYS]{% endif %}',
      '{%- for message in messages | rejectattr("role", "equalto", "system") -%}',
      "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}",
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
      '{%- endif -%}',
      "{%- if message['role'] == 'user' %}[INST] {{ message['content'].strip() }} [/INST]",
      "{%- else %}{{ message['content'] | replace('\\n', ' ') }}{{ eos_token }}{% endif -%}",
      '{%- endfor -%}',
      "{{ {'n': messages | length, 'date': strftime_now('%Y') | length} | tojson }}",
    ].join('');
    const tk = withTemplate(template);
    const ok = [
      { role: 'system', content: ' be brief ' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'a\nb' },
      { role: 'user', content: 'again' },
    ];
    expect(tk.applyChatTemplate(ok)).toBe(
      '<|begin_of_text|>[SYS]be brief[/SYS][INST] hi [/INST]a b<|im_end|>[INST] again [/INST]{"n": 4, "date": 4}',
    );
    const err = thrown(() => tk.applyChatTemplate([ok[1]!, ok[1]!]));
    expect(err).toMatchObject({ code: 'bad_chat_template' });
    expect(err.message).toContain('Conversation roles must alternate');
    // A long but legitimate conversation is far inside the limits.
    const long = Array.from({ length: 2000 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: 'x'.repeat(500),
    }));
    expect(tk.applyChatTemplate(long).length).toBeGreaterThan(1_000_000);
  });
});

describe('tokenizer.json ids and structure are checked at load', () => {
  const merges = tokenizerJson().model.merges.length;
  const cases: [string, (j: Json) => void, string, string][] = [
    // [what, the edit, what the problem says, the field]
    [
      'vocab ids that are strings',
      (j) => {
        for (const k of Object.keys(j.model.vocab)) j.model.vocab[k] = String(j.model.vocab[k]);
      },
      'a token id is not a valid id',
      'model.vocab["0"]',
    ],
    [
      'a negative vocab id',
      (j) => {
        j.model.vocab.H = -73;
      },
      'a token id is not a valid id',
      'model.vocab["H"]',
    ],
    [
      'a fractional vocab id',
      (j) => {
        j.model.vocab.H = 1.5;
      },
      'a token id is not a valid id',
      'model.vocab["H"]',
    ],
    [
      'a vocab id of 2^31',
      (j) => {
        j.model.vocab.H = 2 ** 31;
      },
      'a token id is not a valid id',
      'model.vocab["H"]',
    ],
    [
      'every vocab id 0',
      (j) => {
        for (const k of Object.keys(j.model.vocab)) j.model.vocab[k] = 0;
      },
      'two tokens have id 0',
      'model.vocab["1"]',
    ],
    [
      'a list as a BPE vocab',
      (j) => {
        j.model.vocab = Object.entries(j.model.vocab);
      },
      'a BPE model.vocab must be an object',
      'model.vocab',
    ],
    [
      'WordPiece with BPE data',
      (j) => {
        j.model.type = 'WordPiece';
      },
      'model.merges is BPE data, but model.type is WordPiece',
      'model.merges',
    ],
    [
      'Unigram with BPE data',
      (j) => {
        j.model.type = 'Unigram';
      },
      'a Unigram model.vocab must be a non-empty list',
      'model.vocab',
    ],
    [
      'BPE without merges',
      (j) => {
        delete j.model.merges;
      },
      'a BPE model needs model.merges',
      'model.merges',
    ],
    [
      'a merge without its space',
      (j) => {
        j.model.merges.push('qz');
      },
      'a merge is malformed',
      `model.merges[${merges}]`,
    ],
    [
      'an unk_token not in the vocabulary',
      (j) => {
        j.model.unk_token = '<unk>';
      },
      'model.unk_token is not a token of the vocabulary',
      'model.unk_token',
    ],
    [
      'no added_tokens',
      (j) => {
        delete j.added_tokens;
      },
      'added_tokens must be a list',
      'added_tokens',
    ],
    [
      'an added token id that is a string',
      (j) => {
        j.added_tokens[0].id = '5';
      },
      'an added token id is not a valid id',
      'added_tokens[0].id',
    ],
    [
      'an empty added token',
      (j) => {
        j.added_tokens[0].content = '';
      },
      'must be a non-empty string',
      'added_tokens[0].content',
    ],
    [
      'two added tokens with one id',
      (j) => {
        j.added_tokens[1].id = j.added_tokens[0].id;
      },
      'is also the id of',
      'added_tokens[1].id',
    ],
    [
      "an added token on a vocab token's id",
      (j) => {
        j.added_tokens[0].id = 72;
      },
      'is also the id of "H"',
      'added_tokens[0].id',
    ],
    [
      'a TemplateProcessing single that is not a list',
      (j) => {
        j.post_processor = { type: 'TemplateProcessing', single: 'x' };
      },
      'TemplateProcessing needs single, a list',
      'post_processor.single',
    ],
    [
      'a post-processor that inserts an unknown token',
      (j) => {
        j.post_processor.single[0].SpecialToken.id = '<nope>';
      },
      'inserts a token that is not in the vocabulary',
      'post_processor.single[0].SpecialToken.id',
    ],
    [
      'an unknown post-processor',
      (j) => {
        j.post_processor = { type: 'Magic' };
      },
      'not one the tokenizer supports',
      'post_processor.type',
    ],
  ];

  it.each(cases)('%s', async (_name, edit, problem, field) => {
    const json = tokenizerJson();
    edit(json);
    const err = thrown(() => HfTokenizer.fromJson(json, files.tokenizerConfigJson));
    expect(err).toBeInstanceOf(TokenizerError);
    expect(err).toMatchObject({ code: 'bad_tokenizer', file: 'tokenizer.json', field });
    expect(err.message).toContain(problem);
    await expect(HfTokenizer.load(folder(json))).rejects.toMatchObject({ code: 'bad_tokenizer', field });
  });

  it('encode returns a plain array of integer ids in range', () => {
    for (const text of ['Hello', '', 'naïve café ✓ 😀', '<|im_start|>user\nhi<|im_end|>']) {
      const ids = good.encode(text);
      expect(Array.isArray(ids)).toBe(true);
      for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < good.vocabSize).toBe(true);
    }
  });

  it('ids may leave gaps: vocabSize is the largest id + 1 and a gap decodes to nothing', () => {
    const json = tokenizerJson();
    json.added_tokens[3].id = 1000;
    const tk = HfTokenizer.fromJson(json, files.tokenizerConfigJson);
    expect(tk.vocabSize).toBe(1001);
    expect(tk.decode([999, 1000, 72])).toBe('<|im_end|>H');
    expect(() => tk.decode([1001])).toThrow(expect.objectContaining({ code: 'bad_token_id' }));
  });

  it('text the vocabulary cannot spell, with no unk token, is a typed error', () => {
    const unigram = {
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: { type: 'Unigram', unk_id: null, vocab: [...'Helo, wrd!123ab'].map((c) => [c, -1]) },
    };
    const tk = HfTokenizer.fromJson(unigram);
    expect(tk.encode('abba')).toEqual([13, 14, 14, 13]);
    expect(() => tk.encode('abc')).toThrow(
      expect.objectContaining({ code: 'bad_tokenizer', field: 'model.unk_token', value: 'c' }),
    );
    const badUnk = { ...unigram, model: { ...unigram.model, unk_id: 99 } };
    expect(() => HfTokenizer.fromJson(badUnk)).toThrow(
      expect.objectContaining({ code: 'bad_tokenizer', field: 'model.unk_id' }),
    );
  });

  it('a part of the tokenizer that fails on plain text fails at load', () => {
    const json = tokenizerJson();
    json.pre_tokenizer = { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated', invert: false };
    expect(() => HfTokenizer.fromJson(json)).toThrow(expect.objectContaining({ code: 'bad_tokenizer' }));
  });

  it('failures inside the library at encode or decode are typed, with the original as cause', () => {
    const tk = HfTokenizer.fromJson(files.tokenizerJson, files.tokenizerConfigJson);
    const inner = (tk as unknown as { tokenizer: Record<string, unknown> }).tokenizer;
    const failure = new TypeError('broken');
    inner.encode = () => {
      throw failure;
    };
    inner.decode = () => {
      throw failure;
    };
    expect(thrown(() => tk.encode('hi'))).toMatchObject({ code: 'bad_tokenizer', cause: failure });
    expect(thrown(() => tk.decode([72]))).toMatchObject({ code: 'bad_tokenizer', field: 'decoder', cause: failure });
    inner.encode = () => ({ ids: ['72', 1.5], tokens: ['H', 'i'] });
    expect(thrown(() => tk.encode('hi'))).toMatchObject({ code: 'bad_tokenizer', field: 'model.unk_token' });
  });
});

describe('bad arguments are InvalidArgumentErrors naming the argument', () => {
  const detokenizer = () => good.createDetokenizer();
  const cases: [string, () => unknown, string, string][] = [
    ['encode text', () => good.encode(5 as never), 'invalid_type', 'text'],
    ['encode options null', () => good.encode('hi', null as never), 'invalid_type', 'options'],
    [
      'encode a non-boolean',
      () => good.encode('hi', { addSpecialTokens: 'yes' as never }),
      'invalid_type',
      'options.addSpecialTokens',
    ],
    [
      'encode an unknown option',
      () => good.encode('hi', { addSpecialToken: true } as never),
      'unknown_option',
      'options.addSpecialToken',
    ],
    ['decode null', () => good.decode(null as never), 'invalid_type', 'ids'],
    ['decode a number', () => good.decode(5 as never), 'invalid_type', 'ids'],
    ['decode an array-like', () => good.decode({ length: 2 } as never), 'invalid_type', 'ids'],
    ['decode a string id', () => good.decode(['72'] as never), 'invalid_type', 'ids[0]'],
    [
      'decode options',
      () => good.decode([72], { skipSpecialTokens: 1 as never }),
      'invalid_type',
      'options.skipSpecialTokens',
    ],
    ['decode an unknown option', () => good.decode([72], { skip: true } as never), 'unknown_option', 'options.skip'],
    ['chat messages a string', () => good.applyChatTemplate('hi' as never), 'invalid_type', 'messages'],
    ['chat options null', () => good.applyChatTemplate(messages, null as never), 'invalid_type', 'options'],
    [
      'chat a non-boolean option',
      () => good.applyChatTemplate(messages, { addGenerationPrompt: 1 as never }),
      'invalid_type',
      'options.addGenerationPrompt',
    ],
    [
      'chat a message without content',
      () => good.encodeChat([{ role: 'user' }] as never),
      'invalid_type',
      'messages[0].content',
    ],
    ['chat a null message', () => good.encodeChat([null] as never), 'invalid_type', 'messages[0]'],
    [
      'encode a text past 16 Mi characters',
      () => good.encode('x'.repeat(16 * 1024 * 1024 + 1)),
      'out_of_range',
      'text',
    ],
    [
      'chat a message key that is no JSON data',
      () => good.applyChatTemplate([{ role: 'user', content: 'x', tool_calls: [10n] }] as never),
      'invalid_value',
      'messages[0].tool_calls',
    ],
    [
      'chat messages past the size limit',
      () => good.applyChatTemplate([{ role: 'user', content: 'x'.repeat(CHAT_TEMPLATE_LIMITS.maxChars) }]),
      'out_of_range',
      'messages',
    ],
    ['detokenizer options null', () => good.createDetokenizer(null as never), 'invalid_type', 'options'],
    [
      'detokenizer a non-boolean',
      () => good.createDetokenizer({ skipSpecialTokens: 'no' as never }),
      'invalid_type',
      'options.skipSpecialTokens',
    ],
    ['detokenizer a string id', () => detokenizer().push('72' as never), 'invalid_type', 'tokenId'],
  ];

  it.each(cases)('%s', (_name, call, code, path) => {
    const err = thrown(call);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ code, path });
  });

  it('numbers that are no token id stay bad_token_id TokenizerErrors', () => {
    for (const id of [-1, 1.5, Number.NaN, good.vocabSize]) {
      expect(() => good.decode([72, id])).toThrow(expect.objectContaining({ code: 'bad_token_id', field: 'ids[1]' }));
      expect(() => good.createDetokenizer().push(id)).toThrow(expect.objectContaining({ code: 'bad_token_id' }));
    }
  });

  it('typed arrays of ids decode; an array whose element getter throws is an argument error', () => {
    const ids = good.encode('hello', { addSpecialTokens: false });
    expect(good.decode(Int32Array.from(ids) as never)).toBe('hello');
    const trap = [72];
    Object.defineProperty(trap, 0, {
      get() {
        throw new Error('trap');
      },
    });
    expect(thrown(() => good.decode(trap))).toMatchObject({ code: 'invalid_value', path: 'ids[0]' });
  });

  it('load checks its folder argument', async () => {
    await expect(HfTokenizer.load(null as never)).rejects.toMatchObject({ code: 'invalid_type', path: 'dir' });
    await expect(HfTokenizer.load('')).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('random hostile arguments: a result or a typed error, and the tokenizer still works', () => {
    const hostile = fc.oneof(
      fc.constantFrom(null, undefined, Number.NaN, -1, 0.5, 2 ** 31, '', '__proto__', [], {}, true, [null], ['x']),
      fc.string({ maxLength: 8 }),
      fc.array(fc.integer({ min: -2, max: 400 }), { maxLength: 4 }),
      fc.dictionary(
        fc.constantFrom('addSpecialTokens', 'skipSpecialTokens', 'addGenerationPrompt', 'role', 'x'),
        fc.anything(),
        {
          maxKeys: 2,
        },
      ),
    );
    const calls: ((a: unknown, b: unknown) => unknown)[] = [
      (a, b) => good.encode(a as never, b as never),
      (a, b) => good.decode(a as never, b as never),
      (a, b) => good.applyChatTemplate(a as never, b as never),
      (a, b) => good.encodeChat([a] as never, b as never),
      (a, b) => good.createDetokenizer(b as never).push(a as never),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: calls.length - 1 }), hostile, hostile, (i, a, b) => {
        try {
          calls[i]!(a, b);
        } catch (err) {
          if (!isFlashgraphError(err)) throw new Error(`not a FlashgraphError: ${String(err)}`, { cause: err });
        }
      }),
      { numRuns: 300 },
    );
    expect(good.decode(good.encode('hello world', { addSpecialTokens: false }))).toBe('hello world');
  });
});

describe('chat messages keep the keys templates read', () => {
  it('tool_calls and other JSON keys reach the template; they count against the size bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashgraph-tool-calls-'));
    await writeTinyModel(dir, { architecture: 'LlamaForCausalLM' });
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    config.chat_template =
      '{% for m in messages %}{{ m.role }}:{{ m.content }}{% if m.tool_calls %}[{{ m.tool_calls[0].name }}]{% endif %};{% endfor %}';
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    const tokenizer = await HfTokenizer.load(dir);
    const text = tokenizer.applyChatTemplate([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: '', tool_calls: [{ name: 'lookup' }] } as never,
    ]);
    expect(text).toBe('user:hi;assistant:[lookup];');
    expect(() =>
      tokenizer.applyChatTemplate([
        { role: 'user', content: 'x', blob: 'y'.repeat(CHAT_TEMPLATE_LIMITS.maxChars) } as never,
      ]),
    ).toThrow(expect.objectContaining({ code: 'out_of_range', path: 'messages' }));
  });
});
