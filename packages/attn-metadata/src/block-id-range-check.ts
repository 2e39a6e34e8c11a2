// The range check of Int32Array block ids, the one per-id pass of a step that validation needs.
// A scalar JS loop over a decode batch's ids costs about as much as the whole step budget (a JS
// load is ~1-2 ns on the bench machines), so the ids are packed into a small WebAssembly memory
// with `TypedArray.prototype.set` (a memcpy) and checked four lanes at a time with wasm SIMD. The
// check only answers "all in range?"; the JS scan that names the first bad id runs on the error
// path. Where wasm SIMD is unavailable the same interface runs the scalar JS check.
import { FlashgraphError } from '@flashgraph/errors';

/** Accumulates the ids of one batch and answers whether every one is in [0, numBlocks). */
export interface BlockIdRangeCheck {
  readonly kind: 'wasm' | 'js';
  /** Starts a batch. */
  reset(): void;
  /** Adds every element of `ids` (its whole length). */
  add(ids: Int32Array): void;
  /** True when every id added since `reset` is in [0, numBlocks). */
  allInRange(): boolean;
}

/**
 * The wasm module, hand-assembled (149 bytes). Its one function, with the memory imported as
 * `m.memory`:
 *
 *   (func (export "anyU") (param $end i32) (param $nb i32) (result i32)
 *     (local $p i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *     (loop $l                                  ;; 16 ids per iteration, four accumulators
 *       (local.set $a (i32x4.max_u (local.get $a) (v128.load offset=0  (local.get $p))))
 *       (local.set $b (i32x4.max_u (local.get $b) (v128.load offset=16 (local.get $p))))
 *       (local.set $c (i32x4.max_u (local.get $c) (v128.load offset=32 (local.get $p))))
 *       (local.set $d (i32x4.max_u (local.get $d) (v128.load offset=48 (local.get $p))))
 *       (br_if $l (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 64))) (local.get $end))))
 *     ;; 1 when some lane's unsigned maximum is >= nb: negative ids are huge as unsigned.
 *     (v128.any_true (i32x4.ge_u
 *       (i32x4.max_u (i32x4.max_u (i32x4.max_u (local.get $a) (local.get $b)) (local.get $c)) (local.get $d))
 *       (i32x4.splat (local.get $nb)))))
 *
 * `$end` is a byte count, a positive multiple of 64 (the caller pads with zeros, which are valid).
 */
const WASM_BYTES = new Uint8Array([
  // header
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  // type section: (i32, i32) -> i32
  0x01,
  0x07,
  0x01,
  0x60,
  0x02,
  0x7f,
  0x7f,
  0x01,
  0x7f,
  // import section: "m" "memory", memory with at least 1 page
  0x02,
  0x0d,
  0x01,
  0x01,
  0x6d,
  0x06,
  0x6d,
  0x65,
  0x6d,
  0x6f,
  0x72,
  0x79,
  0x02,
  0x00,
  0x01,
  // function section: one function of type 0
  0x03,
  0x02,
  0x01,
  0x00,
  // export section: "anyU" = function 0
  0x07,
  0x08,
  0x01,
  0x04,
  0x61,
  0x6e,
  0x79,
  0x55,
  0x00,
  0x00,
  // code section: one body of 99 bytes
  0x0a,
  0x65,
  0x01,
  0x63,
  0x02,
  0x01,
  0x7f,
  0x04,
  0x7b, // locals: 1 x i32 ($p), 4 x v128 ($a..$d)
  0x03,
  0x40, // loop
  0x20,
  0x03,
  0x20,
  0x02,
  0xfd,
  0x00,
  0x04,
  0x00,
  0xfd,
  0xb9,
  0x01,
  0x21,
  0x03, // $a = max_u($a, load[p + 0])
  0x20,
  0x04,
  0x20,
  0x02,
  0xfd,
  0x00,
  0x04,
  0x10,
  0xfd,
  0xb9,
  0x01,
  0x21,
  0x04, // $b = max_u($b, load[p + 16])
  0x20,
  0x05,
  0x20,
  0x02,
  0xfd,
  0x00,
  0x04,
  0x20,
  0xfd,
  0xb9,
  0x01,
  0x21,
  0x05, // $c = max_u($c, load[p + 32])
  0x20,
  0x06,
  0x20,
  0x02,
  0xfd,
  0x00,
  0x04,
  0x30,
  0xfd,
  0xb9,
  0x01,
  0x21,
  0x06, // $d = max_u($d, load[p + 48])
  0x20,
  0x02,
  0x41,
  0xc0,
  0x00,
  0x6a,
  0x22,
  0x02, // $p = $p + 64
  0x20,
  0x00,
  0x49,
  0x0d,
  0x00, // br_if loop ($p < $end)
  0x0b, // end loop
  0x20,
  0x03,
  0x20,
  0x04,
  0xfd,
  0xb9,
  0x01,
  0x20,
  0x05,
  0xfd,
  0xb9,
  0x01,
  0x20,
  0x06,
  0xfd,
  0xb9,
  0x01, // max of $a..$d
  0x20,
  0x01,
  0xfd,
  0x11,
  0xfd,
  0x40,
  0xfd,
  0x53, // any_true(ge_u(max, splat($nb)))
  0x0b, // end function
]);

/** Ids per chunk of the wasm scratch: 256 KiB, cache-resident; at least one whole row fits. */
const CHUNK_IDS = 1 << 16;
/** Rows of at most this many ids are checked in JS (cheaper than the copy into wasm memory). */
const SCALAR_UP_TO = 16;
/** Padding granularity of the SIMD loop (16 ids = 64 bytes per iteration). */
const LANES = 16;

/** The few WebAssembly JS API members used here (the package's TypeScript lib has no DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
}
type WasmModule = object;

let compiled: { api: WasmApi; module: WasmModule } | null | undefined;

/** The compiled module, or null where WebAssembly or its SIMD proposal is unavailable. */
function wasmModule(): { api: WasmApi; module: WasmModule } | null {
  if (compiled === undefined) {
    compiled = null;
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      if (api?.validate(WASM_BYTES)) compiled = { api, module: new api.Module(WASM_BYTES) };
    } catch {
      // A runtime that rejects the module (no SIMD, wasm disabled) gets the JS check.
    }
  }
  return compiled;
}

/**
 * A range check for ids in [0, numBlocks), rows of at most `maxBlocksPerReq` ids. `kind` forces an
 * implementation (tests compare them); by default wasm SIMD where available, else JS.
 */
export function createBlockIdRangeCheck(
  numBlocks: number,
  maxBlocksPerReq: number,
  kind?: 'wasm' | 'js',
): BlockIdRangeCheck {
  const wasm = kind === 'js' ? null : wasmModule();
  if (wasm === null) {
    if (kind === 'wasm') {
      // Only tests force the wasm kind; a runtime without WebAssembly SIMD uses the JS check.
      throw new FlashgraphError({
        code: 'internal_error',
        path: 'createBlockIdRangeCheck(kind)',
        problem: 'WebAssembly SIMD is not available in this runtime',
      });
    }
    return new JsRangeCheck(numBlocks);
  }
  return new WasmRangeCheck(wasm.api, wasm.module, numBlocks, maxBlocksPerReq);
}

class WasmRangeCheck implements BlockIdRangeCheck {
  readonly kind = 'wasm';
  private readonly scratch: Int32Array;
  private readonly capacity: number;
  private readonly anyU: (endBytes: number, numBlocks: number) => number;
  private used = 0;
  private bad = 0;

  constructor(
    api: WasmApi,
    module: WasmModule,
    private readonly numBlocks: number,
    maxBlocksPerReq: number,
  ) {
    // One row plus the padding must always fit an empty chunk.
    const ids = Math.max(CHUNK_IDS, maxBlocksPerReq + LANES);
    const memory = new api.Memory({ initial: Math.ceil((ids * 4) / 65536) });
    const instance = new api.Instance(module, { m: { memory } });
    this.anyU = instance.exports.anyU as (endBytes: number, numBlocks: number) => number;
    // The memory never grows, so this view stays attached.
    this.scratch = new Int32Array(memory.buffer);
    this.capacity = this.scratch.length - LANES;
  }

  reset(): void {
    this.used = 0;
    this.bad = 0;
  }

  add(ids: Int32Array): void {
    const n = ids.length;
    if (n <= SCALAR_UP_TO) {
      // A short row checks faster in place than set() (a native call) can pack it.
      if (rangeBits(ids, this.numBlocks - 1) < 0) this.bad = 1;
      return;
    }
    if (this.used + n > this.capacity) this.flush();
    this.scratch.set(ids, this.used);
    this.used += n;
  }

  allInRange(): boolean {
    this.flush();
    return this.bad === 0;
  }

  private flush(): void {
    const used = this.used;
    if (used === 0) return;
    const end = (used + LANES - 1) & -LANES;
    this.scratch.fill(0, used, end);
    this.bad |= this.anyU(end * 4, this.numBlocks);
    this.used = 0;
  }
}

class JsRangeCheck implements BlockIdRangeCheck {
  readonly kind = 'js';
  private bad = 0;

  constructor(private readonly numBlocks: number) {}

  reset(): void {
    this.bad = 0;
  }

  add(ids: Int32Array): void {
    this.bad |= rangeBits(ids, this.numBlocks - 1);
  }

  allInRange(): boolean {
    return this.bad >= 0;
  }
}

/**
 * The scalar check, branch-free and four ids per iteration: the sign bit of `b | (top - b)`, with
 * top = numBlocks - 1, is set exactly when b < 0 or b > top. Negative when some id is out of range.
 */
function rangeBits(ids: Int32Array, top: number): number {
  const n = ids.length;
  let bad = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    const a = ids[j]!;
    const b = ids[j + 1]!;
    const c = ids[j + 2]!;
    const d = ids[j + 3]!;
    bad |= a | b | c | d | (top - a) | (top - b) | (top - c) | (top - d);
  }
  for (; j < n; j++) {
    const b = ids[j]!;
    bad |= b | (top - b);
  }
  return bad;
}
