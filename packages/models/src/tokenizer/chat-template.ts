// Chat templates (the Jinja `chat_template` of tokenizer_config.json) rendered through
// @huggingface/jinja with bounds: a template comes with downloaded model files, so it is untrusted
// code. Its interpreter is wrapped so that every evaluated node and rendered block counts against a
// step budget, nesting (macro recursion) against a depth limit, and every value on the way (a string,
// or a list / dict by its printed size) against a size limit; `range()` is bounded before it
// allocates, and the calls whose output can be far larger than their inputs (`replace`, `split`,
// `indent`, `join`, `tojson`) are checked with their evaluated arguments before the library runs
// them. Every failure is a TokenizerError on tokenizer_config.json's chat_template.
import { formatValue } from '@flashgraph/errors';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { TokenizerError } from '../errors.js';

const CONFIG_FILE = 'tokenizer_config.json';
const FIELD = 'chat_template';

export interface ChatTemplateLimits {
  /** Characters of the rendered text, and of any value on the way (lists and dicts as printed). */
  readonly maxChars: number;
  /** Evaluated expressions plus rendered blocks (each loop iteration is one). */
  readonly maxSteps: number;
  /** Nesting of evaluation: deep enough for any real template, far from the JS stack's end. */
  readonly maxDepth: number;
  /** Items of one `range()`. */
  readonly maxRange: number;
  /** Wall-clock time of one render, a backstop for steps that are each slow. */
  readonly maxMillis: number;
}

/** The bounds every chat template render runs under. */
export const CHAT_TEMPLATE_LIMITS: ChatTemplateLimits = Object.freeze({
  maxChars: 8 * 1024 * 1024,
  maxSteps: 2_000_000,
  maxDepth: 500,
  maxRange: 100_000,
  maxMillis: 2_000,
});

// The library's runtime values and AST nodes are not exported as types; these are the parts used.
type Value = ReturnType<Interpreter['evaluate']>;
type Node = NonNullable<Parameters<Interpreter['evaluate']>[0]>;
type Program = Template['parsed'];
interface AnyValue {
  readonly type: string;
  readonly value: unknown;
  readonly builtins: Map<string, unknown>;
}
interface AnyNode {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** A node type the parser never produces: it evaluates to a value computed beforehand. */
const KNOWN = 'FlashgraphKnownValue';
function known(value: Value): Node {
  return { type: KNOWN, value } as unknown as Node;
}

/** Thrown by the template's own `raise_exception(message)`: it rejects the conversation. */
class TemplateRaised extends Error {}

/** A render went past one of the limits. */
class LimitExceeded extends Error {
  constructor(
    readonly what: string,
    readonly allowed: string,
  ) {
    super(what);
  }
}

type RenderBlock = (this: Interpreter, statements: unknown[], environment: Environment) => string;
// A private method of the library's Interpreter (the rendering of every block and loop iteration);
// @huggingface/jinja is pinned, and a test fails if this hook disappears.
const baseRenderBlock = (Interpreter.prototype as unknown as { renderBlock?: RenderBlock }).renderBlock;

interface Shape {
  /** Characters when printed (strings without escapes). */
  readonly chars: number;
  /** Values in the printed tree. */
  readonly nodes: number;
  /** Nesting of lists and dicts. */
  readonly depth: number;
}
const CONTAINERS = new Set(['ArrayValue', 'TupleValue', 'ObjectValue', 'KeywordArgumentsValue', 'NamespaceValue']);

/** Positional and keyword arguments of a call, evaluated, and the call's argument nodes replaced by them. */
interface Arguments {
  readonly nodes: Node[];
  readonly positional: AnyValue[];
  readonly keyword: Map<string, AnyValue>;
}

class BoundedInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  private readonly deadline: number;
  /** Shapes of lists and dicts, computed once each (those holding a namespace can change, so are not kept). */
  private readonly shapes = new WeakMap<object, Shape>();
  private readonly changeable = new WeakSet<object>();
  private readonly measuring = new WeakSet<object>();
  /** String methods whose output can outgrow their input, by the function value a member lookup gave. */
  private readonly methods = new WeakMap<object, { name: string; target: AnyValue }>();

  constructor(
    env: Environment,
    private readonly limits: ChatTemplateLimits,
  ) {
    super(env);
    this.deadline = Date.now() + limits.maxMillis;
  }

  /** One step: counted, nested one deeper, and now and then timed. */
  enter(): void {
    if (++this.steps > this.limits.maxSteps) {
      throw new LimitExceeded('too many steps (a loop or recursion too long)', `at most ${this.limits.maxSteps} steps`);
    }
    if (++this.depth > this.limits.maxDepth) {
      throw new LimitExceeded('nesting too deep (recursion)', `at most ${this.limits.maxDepth} levels`);
    }
    if ((this.steps & 1023) === 0 && Date.now() > this.deadline) {
      throw new LimitExceeded('rendering took too long', `at most ${this.limits.maxMillis} ms`);
    }
  }

  leave(): void {
    this.depth--;
  }

  checkChars(length: number, what: string): void {
    if (length > this.limits.maxChars) {
      throw new LimitExceeded(`${what} too large`, `at most ${this.limits.maxChars} characters`);
    }
  }

  override evaluate(statement: Parameters<Interpreter['evaluate']>[0], environment: Environment): Value {
    const node = statement as AnyNode | undefined;
    if (node === undefined) return super.evaluate(statement, environment);
    if (node.type === KNOWN) return node.value as Value;
    this.enter();
    try {
      let result: Value;
      switch (node.type) {
        case 'MemberExpression':
          result = this.member(node, environment);
          break;
        case 'CallExpression':
          result = this.call(node, environment);
          break;
        case 'CallStatement':
          result = this.callStatement(node, environment);
          break;
        case 'FilterExpression':
          result = this.filter(node, environment);
          break;
        case 'FilterStatement':
          result = this.filterStatement(node, environment);
          break;
        default:
          result = super.evaluate(statement, environment);
      }
      this.checkValue(result as unknown as AnyValue);
      return result;
    } finally {
      this.leave();
    }
  }

  private checkValue(value: AnyValue): void {
    if (value.type === 'StringValue') this.checkChars((value.value as string).length, 'a string');
    else if (CONTAINERS.has(value.type)) this.checkChars(this.shape(value).chars, 'a list or dict (as printed)');
  }

  /** The printed size of a value: walked once per list or dict, a cycle counting as infinite. */
  private shape(value: AnyValue): Shape {
    if (value.type === 'StringValue') return { chars: (value.value as string).length + 2, nodes: 1, depth: 0 };
    if (!CONTAINERS.has(value.type)) return { chars: scalarChars(value), nodes: 1, depth: 0 };
    const cached = this.shapes.get(value);
    if (cached !== undefined) return cached;
    if (this.measuring.has(value)) return { chars: Number.POSITIVE_INFINITY, nodes: 1, depth: 0 };
    this.measuring.add(value);
    let changeable = value.type === 'NamespaceValue';
    let chars = 2;
    let nodes = 1;
    let depth = 0;
    const add = (child: AnyValue, keyLength: number) => {
      const s = this.shape(child);
      chars += s.chars + keyLength + 2;
      nodes += s.nodes;
      depth = Math.max(depth, s.depth + 1);
      if (this.changeable.has(child)) changeable = true;
    };
    try {
      if (Array.isArray(value.value)) {
        for (const child of value.value as AnyValue[]) {
          add(child, 0);
          if (chars > this.limits.maxChars) break; // too large already: no need to walk on
        }
      } else if (value.value instanceof Map) {
        for (const [key, child] of value.value as Map<string, AnyValue>) {
          add(child, key.length + 4);
          if (chars > this.limits.maxChars) break;
        }
      }
    } finally {
      this.measuring.delete(value);
    }
    const shape = { chars, nodes, depth };
    if (changeable) this.changeable.add(value);
    else this.shapes.set(value, shape);
    return shape;
  }

  /** `object.name`: a string's `replace` / `split` is remembered with its string, for `call`. */
  private member(node: AnyNode, environment: Environment): Value {
    const object = this.evaluate(node.object as Node, environment) as unknown as AnyValue;
    const result = super.evaluate({ ...node, object: known(object as unknown as Value) } as Node, environment);
    if ((result as unknown as AnyValue).type === 'FunctionValue' && object.type === 'StringValue') {
      for (const name of ['replace', 'split']) {
        if (object.builtins.get(name) === result) this.methods.set(result, { name, target: object });
      }
    }
    return result;
  }

  /**
   * Evaluates call arguments as the library does (positional and `*` spreads first, then keyword
   * arguments and `**` spreads, each once) and replaces their nodes by the values.
   */
  private evaluateArgs(args: readonly AnyNode[], environment: Environment): Arguments {
    const nodes = new Array<Node>(args.length);
    const positional: AnyValue[] = [];
    const keyword = new Map<string, AnyValue>();
    const isKeyword = (a: AnyNode) => a.type === 'KeywordArgumentExpression' || a.type === 'KeywordSpreadExpression';
    for (const pass of [false, true]) {
      args.forEach((a, i) => {
        if (isKeyword(a) !== pass) return;
        if (a.type === 'KeywordArgumentExpression') {
          const value = this.evaluate(a.value as Node, environment);
          keyword.set((a.key as { value: string }).value, value as unknown as AnyValue);
          nodes[i] = { ...a, value: known(value) } as Node;
        } else if (a.type === 'SpreadExpression' || a.type === 'KeywordSpreadExpression') {
          const value = this.evaluate(a.argument as Node, environment) as unknown as AnyValue;
          if (Array.isArray(value.value) && a.type === 'SpreadExpression')
            positional.push(...(value.value as AnyValue[]));
          if (value.value instanceof Map && a.type === 'KeywordSpreadExpression') {
            for (const [k, v] of value.value as Map<string, AnyValue>) keyword.set(k, v);
          }
          nodes[i] = { ...a, argument: known(value as unknown as Value) } as Node;
        } else {
          const value = this.evaluate(a as Node, environment);
          positional.push(value as unknown as AnyValue);
          nodes[i] = known(value);
        }
      });
    }
    return { nodes, positional, keyword };
  }

  private call(node: AnyNode, environment: Environment): Value {
    const args = this.evaluateArgs(node.args as AnyNode[], environment);
    const fn = this.evaluate(node.callee as Node, environment);
    this.checkMethod(fn, args);
    return super.evaluate({ ...node, args: args.nodes, callee: known(fn) } as Node, environment);
  }

  /** `{% call f(args) %}...{% endcall %}`: the call's arguments, then its callee, as the library does. */
  private callStatement(node: AnyNode, environment: Environment): Value {
    const call = node.call as AnyNode;
    const args = this.evaluateArgs(call.args as AnyNode[], environment);
    const fn = this.evaluate(call.callee as Node, environment);
    this.checkMethod(fn, args);
    const rewritten = { ...call, args: args.nodes, callee: known(fn) };
    return super.evaluate({ ...node, call: rewritten } as Node, environment);
  }

  private checkMethod(fn: Value, args: Arguments): void {
    const method = this.methods.get(fn);
    if (method === undefined) return;
    const text = method.target.value as string;
    if (method.name === 'replace') this.checkReplace(text, args);
    else this.checkSplit(text, args);
  }

  private filter(node: AnyNode, environment: Environment): Value {
    const operand = this.evaluate(node.operand as Node, environment) as unknown as AnyValue;
    const filter = node.filter as AnyNode;
    const callee = filter.callee as AnyNode | undefined;
    const name = filter.type === 'CallExpression' && callee?.type === 'Identifier' ? (callee.value as string) : null;
    if (name !== null && ['replace', 'indent', 'join', 'tojson'].includes(name)) {
      const args = this.evaluateArgs(filter.args as AnyNode[], environment);
      if (operand.type === 'StringValue' && name === 'replace') this.checkReplace(operand.value as string, args);
      if (operand.type === 'StringValue' && name === 'indent') this.checkIndent(operand.value as string, args);
      if (name === 'join') this.checkJoin(operand, args);
      if (name === 'tojson') this.checkJson(operand, args);
      const rewritten = { ...filter, args: args.nodes };
      return super.evaluate(
        { ...node, operand: known(operand as unknown as Value), filter: rewritten } as Node,
        environment,
      );
    }
    return super.evaluate({ ...node, operand: known(operand as unknown as Value) } as Node, environment);
  }

  /** `{% filter f %}body{% endfilter %}`: the body rendered, then filtered as `body | f` (so checked). */
  private filterStatement(node: AnyNode, environment: Environment): Value {
    const body = this.evaluate({ type: 'Program', body: node.body } as unknown as Node, environment);
    return this.evaluate({ type: 'FilterExpression', operand: known(body), filter: node.filter } as Node, environment);
  }

  private checkReplace(text: string, args: Arguments): void {
    const [old, replacement, third] = args.positional;
    if (old?.type !== 'StringValue' || replacement?.type !== 'StringValue') return; // the library rejects it
    const from = old.value as string;
    const to = replacement.value as string;
    const count = third?.type === 'KeywordArgumentsValue' ? undefined : (third ?? args.keyword.get('count'));
    let n = from.length === 0 ? text.length + 1 : occurrences(text, from);
    if (count?.type === 'IntegerValue' && (count.value as number) >= 0) n = Math.min(n, count.value as number);
    this.checkChars(text.length + n * (to.length - from.length), "replace()'s result");
  }

  private checkSplit(text: string, args: Arguments): void {
    const [sep, maxsplit] = args.positional;
    let parts: number;
    if (sep?.type === 'StringValue' && (sep.value as string).length > 0)
      parts = occurrences(text, sep.value as string) + 1;
    else if (sep === undefined || sep.type === 'NullValue') parts = words(text);
    else return; // the library rejects it
    if (maxsplit?.type === 'IntegerValue' && (maxsplit.value as number) >= 0) {
      parts = Math.min(parts, (maxsplit.value as number) + 1);
    }
    // Each part is a value of its own: printed as a list it takes its quotes and separator too.
    this.checkChars(text.length + 4 * parts, "split()'s result");
  }

  private checkIndent(text: string, args: Arguments): void {
    const width = args.positional[0] ?? args.keyword.get('width');
    let pad = 4;
    if (width?.type === 'IntegerValue') pad = Math.max(0, width.value as number);
    else if (width?.type === 'StringValue') pad = (width.value as string).length;
    this.checkChars(text.length + (occurrences(text, '\n') + 1) * pad, "indent()'s result");
  }

  private checkJoin(operand: AnyValue, args: Arguments): void {
    const sep = args.positional[0] ?? args.keyword.get('separator');
    const sepLength = sep?.type === 'StringValue' ? (sep.value as string).length : 0;
    const items =
      operand.type === 'StringValue'
        ? (operand.value as string).length
        : Array.isArray(operand.value)
          ? operand.value.length
          : 0;
    // Items print as JSON at worst (6 characters for an escaped one).
    this.checkChars(6 * this.shape(operand).chars + items * sepLength, "join()'s result");
  }

  private checkJson(operand: AnyValue, args: Arguments): void {
    const indent = args.keyword.get('indent');
    const separators = args.keyword.get('separators');
    const pad = indent?.type === 'IntegerValue' ? Math.max(0, indent.value as number) : 0;
    let sepLength = 4;
    if (Array.isArray(separators?.value)) {
      for (const s of separators.value as AnyValue[])
        if (s.type === 'StringValue') sepLength += (s.value as string).length;
    }
    // Every value on a line of its own, indented to its depth, and escapes at 6 characters each.
    const shape = this.shape(operand);
    this.checkChars(6 * shape.chars + shape.nodes * (pad * (shape.depth + 1) + sepLength + 1), "tojson()'s result");
  }
}

// Every block rendered (the template, a loop iteration, an if branch, a macro body) is a step, and
// its text is checked as it is returned, before it joins its parent's.
if (baseRenderBlock !== undefined) {
  Object.defineProperty(BoundedInterpreter.prototype, 'renderBlock', {
    value: function renderBlock(this: BoundedInterpreter, statements: unknown[], environment: Environment): string {
      this.enter();
      try {
        const text = baseRenderBlock.call(this, statements, environment);
        this.checkChars(text.length, 'the rendered text');
        return text;
      } finally {
        this.leave();
      }
    },
  });
}

/** A number, boolean, null or function as printed (a function cannot be, and errors). */
function scalarChars(value: AnyValue): number {
  const v = value.value;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v).length : 9;
}

/** Non-overlapping occurrences, left to right (as a global replace or a split finds them). */
function occurrences(text: string, part: string): number {
  let n = 0;
  for (let i = text.indexOf(part); i !== -1; i = text.indexOf(part, i + part.length)) n++;
  return n;
}

function words(text: string): number {
  let n = 0;
  const re = /\S+/g;
  while (re.exec(text) !== null) n++;
  return n;
}

/** Python's range() of integers, its length checked before anything is allocated. */
function boundedRange(maxRange: number) {
  return (...args: unknown[]): number[] => {
    if (args.length < 1 || args.length > 3 || !args.every((a) => Number.isSafeInteger(a))) {
      throw new Error(`range() takes 1 to 3 integers, got (${args.map((a) => formatValue(a)).join(', ')})`);
    }
    const [start, stop, step] = (args.length === 1 ? [0, args[0], 1] : [args[0], args[1], args[2] ?? 1]) as number[];
    if (step === 0) throw new Error('range() step must not be zero');
    const length = Math.max(0, Math.ceil(((stop as number) - (start as number)) / (step as number)));
    if (length > maxRange) {
      throw new LimitExceeded(`range() of ${length} items too long`, `at most ${maxRange} items`);
    }
    return Array.from({ length }, (_, i) => (start as number) + i * (step as number));
  };
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** strftime_now(format), the directives @huggingface/jinja's own global knows (%Y %m %d %b %B %H %M %%). */
function strftimeNow(format: unknown): string {
  if (typeof format !== 'string') throw new Error('strftime_now() takes a format string');
  const date = new Date();
  const pad2 = (n: number) => String(n).padStart(2, '0');
  const month = MONTHS[date.getMonth()] as string;
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y':
        return String(date.getFullYear());
      case '%m':
        return pad2(date.getMonth() + 1);
      case '%d':
        return pad2(date.getDate());
      case '%b':
        return month.slice(0, 3);
      case '%B':
        return month;
      case '%H':
        return pad2(date.getHours());
      case '%M':
        return pad2(date.getMinutes());
      default:
        return '%';
    }
  });
}

function short(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function messageOf(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'an unprintable error';
  }
}

/** A parsed chat template. Parse errors and render failures are TokenizerErrors. */
export class ChatTemplate {
  private readonly program: Program;
  private readonly limits: ChatTemplateLimits;

  constructor(source: string, limits: Partial<ChatTemplateLimits> = {}) {
    this.limits = { ...CHAT_TEMPLATE_LIMITS, ...limits };
    try {
      this.program = new Template(source).parsed;
    } catch (err) {
      throw new TokenizerError(
        'bad_chat_template',
        CONFIG_FILE,
        `the chat template does not parse: ${short(messageOf(err))}`,
        { field: FIELD, cause: err },
      );
    }
  }

  /** The template rendered with these variables (plain JSON-like data, already checked by the caller). */
  render(variables: Readonly<Record<string, unknown>>): string {
    if (baseRenderBlock === undefined) {
      // Without the block hook a render would be unbounded: refuse rather than run it.
      throw new TokenizerError('bad_chat_template', CONFIG_FILE, 'chat templates cannot be rendered safely', {
        field: FIELD,
        fix: 'the installed @huggingface/jinja is not the version this package was built for: reinstall it',
      });
    }
    const env = new Environment();
    for (const [name, value] of [
      ['false', false],
      ['true', true],
      ['none', null],
      ['False', false],
      ['True', true],
      ['None', null],
    ] as const) {
      env.set(name, value);
    }
    env.set('raise_exception', (message: unknown) => {
      throw new TemplateRaised(short(messageOf(message)));
    });
    env.set('range', boundedRange(this.limits.maxRange));
    env.set('strftime_now', strftimeNow);
    for (const [name, value] of Object.entries(variables)) env.setVariable(name, convert(env, name, value));
    try {
      const result = new BoundedInterpreter(env, this.limits).run(this.program) as unknown as AnyValue;
      return result.value as string;
    } catch (err) {
      throw renderError(err);
    }
  }
}

/** A variable as the library converts it (Environment.set rejects names that are already set). */
function convert(env: Environment, name: string, value: unknown): ReturnType<Environment['set']> {
  const scratch = new Environment(env);
  return scratch.set(name, value);
}

function renderError(err: unknown): TokenizerError {
  if (err instanceof TokenizerError) return err;
  if (err instanceof TemplateRaised) {
    return new TokenizerError(
      'bad_chat_template',
      CONFIG_FILE,
      `the chat template rejected the messages: ${err.message}`,
      {
        field: FIELD,
        cause: err,
        fix: "change the messages to what the model's template accepts (roles, their order, content)",
      },
    );
  }
  const message = messageOf(err);
  if (
    err instanceof LimitExceeded ||
    (err instanceof RangeError && /call stack|string length|array length/i.test(message))
  ) {
    const what = err instanceof LimitExceeded ? err.what : message;
    return new TokenizerError('bad_chat_template', CONFIG_FILE, `rendering the chat template stopped: ${what}`, {
      field: FIELD,
      ...(err instanceof LimitExceeded ? { allowed: err.allowed } : {}),
      cause: err,
      fix: 'use a chat template that renders these messages within the limits, or shorter messages',
    });
  }
  return new TokenizerError('bad_chat_template', CONFIG_FILE, `the chat template failed: ${short(message)}`, {
    field: FIELD,
    cause: err,
  });
}
