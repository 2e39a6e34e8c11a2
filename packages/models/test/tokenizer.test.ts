// HfTokenizer on the tiny models' tokenizers: round trips, BOS rules, the chat template, and
// streaming detokenization that never emits half a character.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer, writeTinyModel } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-tokenizer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let llama: HfTokenizer;
let qwen: HfTokenizer;
beforeAll(async () => {
  await writeTinyModel(join(root, 'llama'), { architecture: 'LlamaForCausalLM' });
  await writeTinyModel(join(root, 'qwen'), { architecture: 'Qwen3ForCausalLM' });
  llama = await HfTokenizer.load(join(root, 'llama'));
  qwen = await HfTokenizer.load(join(root, 'qwen'));
});

const TEXTS = [
  'hello world',
  'the quick brown fox jumps over the lazy dog.',
  'naïve café ✓ 😀 日本語',
  '  spaces\tand\nnewlines  ',
];

describe('HfTokenizer', () => {
  it('a few hundred tokens, byte-level: every text round-trips', () => {
    expect(llama.vocabSize).toBeGreaterThan(256);
    expect(llama.vocabSize).toBeLessThan(400);
    for (const text of TEXTS) {
      expect(llama.decode(llama.encode(text, { addSpecialTokens: false }))).toBe(text);
      expect(qwen.decode(qwen.encode(text))).toBe(text);
    }
  });

  it('merges make common words shorter than their bytes', () => {
    const ids = llama.encode('the the the', { addSpecialTokens: false });
    expect(ids.length).toBeLessThan('the the the'.length);
  });

  it('adds BOS only where the tokenizer says so', () => {
    const bos = llama.bosTokenId!;
    expect(bos).toBeGreaterThan(0);
    expect(llama.encode('hi')[0]).toBe(bos);
    expect(llama.encode('hi', { addSpecialTokens: false })[0]).not.toBe(bos);
    expect(qwen.bosTokenId).toBeNull();
    expect(qwen.encode('hi')).toEqual(qwen.encode('hi', { addSpecialTokens: false }));
  });

  it('an explicit add_bos_token overrides the post-processor', async () => {
    const { tinyTokenizerFiles } = await import('../src/tiny-tokenizer.js');
    const files = tinyTokenizerFiles({ addBos: true });
    const off = HfTokenizer.fromJson(files.tokenizerJson, { ...files.tokenizerConfigJson, add_bos_token: false });
    expect(off.encode('hi')[0]).not.toBe(files.bosTokenId);
    const noProcessor = { ...files.tokenizerJson, post_processor: null };
    const on = HfTokenizer.fromJson(noProcessor, files.tokenizerConfigJson);
    expect(on.encode('hi')[0]).toBe(files.bosTokenId);
  });

  it('renders the chat template and encodes it without adding special tokens twice', () => {
    const messages = [{ role: 'user', content: 'hello world' }];
    const text = llama.applyChatTemplate(messages);
    expect(text).toBe('<|begin_of_text|><|im_start|>user\nhello world<|im_end|>\n<|im_start|>assistant\n');
    const ids = llama.encodeChat(messages);
    expect(ids.filter((id) => id === llama.bosTokenId)).toHaveLength(1);
    expect(llama.decode(ids)).toBe(text);
    expect(qwen.applyChatTemplate(messages, { addGenerationPrompt: false })).toBe(
      '<|im_start|>user\nhello world<|im_end|>\n',
    );
    expect(llama.decode(ids, { skipSpecialTokens: true })).toBe('user\nhello world\nassistant\n');
  });

  it('streams text token by token without broken multi-byte characters', () => {
    for (const text of TEXTS) {
      const ids = llama.encode(text, { addSpecialTokens: false });
      const stream = llama.createDetokenizer();
      const pieces = ids.map((id) => stream.push(id));
      pieces.push(stream.flush());
      for (const piece of pieces) expect(piece).not.toContain('\uFFFD');
      expect(pieces.join('')).toBe(text);
      // Multi-byte characters arrive byte by byte here, so some pushes must hold text back.
      if ([...text].some((ch) => ch.charCodeAt(0) > 0x7f)) expect(pieces.some((p) => p === '')).toBe(true);
    }
  });

  it('a stream cut inside a character shows it as U+FFFD only at flush', () => {
    const ids = llama.encode('😀', { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(1);
    const stream = llama.createDetokenizer();
    expect(stream.push(ids[0]!)).toBe('');
    expect(stream.flush()).toBe('\uFFFD');
  });
});
