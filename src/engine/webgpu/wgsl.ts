// Shader assembly for the WebGPU kernels (kernels/*.ts). A kernel is written against accessors
// named after its operands, `ld_x(i)` / `st_x(i, v)` (element i of operand x, as f32, or i32 for i32
// tensors) and a uniform `P` of its parameters; this module generates those accessors for the dtypes
// and buffers the operands have in one dispatch. Every storage binding is an array of u32 words:
// f32 and i32 are bitcasts, bf16 and f16 are unpacked from half a word, q8_0 and q4_0 from their
// bytes (fp32 math throughout, the conversions exact, rounding to nearest even as the CPU backend
// does). Operands that share a
// GPUBuffer share one binding (WebGPU forbids binding a buffer twice when one is written); a
// 16-bit store is two atomics on its word, so neighbouring values written by other threads survive.
import type { DType } from './graph';

export type ParamType = 'u32' | 'i32' | 'f32';

export interface Kernel {
  /** Names the pipeline in errors and profiles, e.g. "matmul-tiled". */
  label: string;
  /** Operands the body reads (ld_) and, when listed in `writes`, writes (st_). */
  operands: string[];
  writes: string[];
  params: [string, ParamType][];
  /** WGSL declaring `@compute ... fn main(...)`; may use the helpers below. */
  body: string;
}

/** Where one operand lives in a dispatch: its binding slot and dtype. `<name>_base`, a parameter
 *  every kernel gets, is its first element's index in that binding. */
export interface OperandSlot {
  name: string;
  dtype: DType;
  slot: number;
}

export interface SlotKind {
  writable: boolean;
  /** Holds a written 16-bit operand: every access is atomic. */
  atomic: boolean;
}

/** Exact conversions between fp32 and the 16-bit formats, and erf for GELU. */
const HELPERS = /* wgsl */ `
fn f16_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, s != 0u);
  }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
fn f32_to_bf16(v: f32) -> u32 {
  let u = bitcast<u32>(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) { return (u >> 16u) | 0x40u; }
  return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}
fn f32_to_f16(v: f32) -> u32 {
  let u = bitcast<u32>(v);
  let sign = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a < 0x38800000u) {
    // Subnormal half: round(|v| * 2^24) to nearest even, in integers.
    let e = a >> 23u;
    if (e < 102u) { return sign; }
    let m = (a & 0x7fffffu) | 0x800000u;
    let shift = 126u - e;
    let q = m >> shift;
    let rest = m & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    return sign | (q + select(0u, 1u, rest > half || (rest == half && (q & 1u) == 1u)));
  }
  let r = a + 0xfffu + ((a >> 13u) & 1u);
  return sign | ((r - 0x38000000u) >> 13u);
}
// erf to about 1 ulp in fp32 (N. Juffa's minimax fit), both branches polynomial + exp.
fn erf_f32(a: f32) -> f32 {
  let t = abs(a);
  let s = a * a;
  if (t > 0.927734375) {
    var r = fma(-1.72853470e-5, t, 3.83197126e-4);
    let u = fma(-3.88396438e-3, t, 2.42546219e-2);
    r = fma(r, s, u);
    r = fma(r, t, -1.06777877e-1);
    r = fma(r, t, -6.34846687e-1);
    r = fma(r, t, -1.28717512e-1);
    r = fma(r, t, -t);
    return sign(a) * (1.0 - exp(r));
  }
  var r = -5.96761703e-4;
  r = fma(r, s, 4.99119423e-3);
  r = fma(r, s, -2.67681349e-2);
  r = fma(r, s, 1.12819925e-1);
  r = fma(r, s, -3.76125336e-1);
  r = fma(r, s, 1.28379166e-1);
  return fma(r, a, a);
}
// The workgroup index of a dispatch laid out by grid() (dispatch.ts): x fastest.
fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }
`;

function accessors(o: OperandSlot, kind: SlotKind, write: boolean): string {
  const b = `b${o.slot}`;
  const load = (e: string): string => (kind.atomic ? `atomicLoad(&${b}[${e}])` : `${b}[${e}]`);
  const store = (e: string, v: string): string => (kind.atomic ? `atomicStore(&${b}[${e}], ${v})` : `${b}[${e}] = ${v}`);
  const n = o.name;
  const idx = `P.${n}_base + i`;
  switch (o.dtype) {
    case 'f32':
      return (
        `fn ld_${n}(i: u32) -> f32 { return bitcast<f32>(${load(idx)}); }\n` +
        (write ? `fn st_${n}(i: u32, v: f32) { ${store(idx, 'bitcast<u32>(v)')}; }\n` : '')
      );
    case 'i32':
      return (
        `fn ld_${n}(i: u32) -> i32 { return bitcast<i32>(${load(idx)}); }\n` +
        (write ? `fn st_${n}(i: u32, v: i32) { ${store(idx, 'bitcast<u32>(v)')}; }\n` : '')
      );
    case 'bf16':
    case 'f16': {
      const widen =
        o.dtype === 'bf16' ? 'bitcast<f32>(select(w << 16u, w & 0xffff0000u, (e & 1u) == 1u))' : 'f16_to_f32(select(w & 0xffffu, w >> 16u, (e & 1u) == 1u))';
      const narrow = o.dtype === 'bf16' ? 'f32_to_bf16(v)' : 'f32_to_f16(v)';
      return (
        `fn ld_${n}(i: u32) -> f32 { let e = ${idx}; let w = ${load('e >> 1u')}; return ${widen}; }\n` +
        // Word j of the operand's 16-bit values (element 2j, 2j+1): callers make sure the base is even.
        `fn word_${n}(j: u32) -> u32 { return ${load(`(P.${n}_base >> 1u) + j`)}; }\n` +
        (write
          ? `fn st_${n}(i: u32, v: f32) { let e = ${idx}; let sh = (e & 1u) * 16u; ` +
            `atomicAnd(&${b}[e >> 1u], ~(0xffffu << sh)); atomicOr(&${b}[e >> 1u], ${narrow} << sh); }\n`
          : '')
      );
    }
    case 'q8_0':
    case 'q4_0':
      return blockAccessors(o, load, write ? `b${o.slot}` : undefined);
  }
}

/** Block operands (q8_0, q4_0), addressed in bytes: `P.<name>_base` is the first block's byte.
 *  ld_ reads element i (flat, rows being whole blocks); scale_ and qword_ serve kernels that walk
 *  whole blocks; a written operand (the q8_0 KV cache) gets byte stores, atomic because 34-byte
 *  blocks share words with their neighbours. */
function blockAccessors(o: OperandSlot, load: (e: string) => string, written: string | undefined): string {
  const n = o.name;
  const q8 = o.dtype === 'q8_0';
  const bb = q8 ? 34 : 18;
  const at = `P.${n}_base + blk * ${bb}u`;
  const value = q8
    ? `return scale_${n}(blk) * f32(bitcast<i32>(byte_${n}(s + 2u + j) << 24u) >> 24u);`
    : `let by = byte_${n}(s + 2u + j % 16u); return scale_${n}(blk) * (f32(select(by & 15u, by >> 4u, j >= 16u)) - 8.0);`;
  return (
    `fn byte_${n}(b: u32) -> u32 { return (${load('b >> 2u')} >> ((b & 3u) * 8u)) & 0xffu; }\n` +
    `fn scale_${n}(blk: u32) -> f32 { let b = ${at}; return f16_to_f32((${load('b >> 2u')} >> ((b & 2u) * 8u)) & 0xffffu); }\n` +
    `fn ld_${n}(i: u32) -> f32 { let blk = i / 32u; let j = i % 32u; let s = ${at}; ${value} }\n` +
    // Word m of block blk's quant bytes (q8_0: m < 8, q4_0: m < 4); a block starts on any even byte.
    `fn qword_${n}(blk: u32, m: u32) -> u32 { let b = ${at} + 2u + 4u * m; let lo = ${load('b >> 2u')}; ` +
    `if ((b & 2u) == 0u) { return lo; } return (lo >> 16u) | (${load('(b >> 2u) + 1u')} << 16u); }\n` +
    (written
      ? `fn st_bits_${n}(b: u32, v: u32, mask: u32) { let sh = (b & 3u) * 8u; atomicAnd(&${written}[b >> 2u], ~(mask << sh)); atomicOr(&${written}[b >> 2u], v << sh); }\n` +
        `fn st_scale_${n}(blk: u32, d: f32) { st_bits_${n}(${at}, f32_to_f16(d), 0xffffu); }\n` +
        `fn st_q_${n}(blk: u32, j: u32, q: i32) { st_bits_${n}(${at} + 2u + j, bitcast<u32>(q) & 0xffu, 0xffu); }\n`
      : '')
  );
}

/** The whole shader of `kernel` with operands bound as `operands` says. */
export function shaderSource(kernel: Kernel, operands: OperandSlot[], slots: SlotKind[]): string {
  const fields = [...operands.map((o): [string, ParamType] => [`${o.name}_base`, 'u32']), ...kernel.params];
  const lines = [`struct Params {\n${fields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}`, '@group(0) @binding(0) var<uniform> P: Params;'];
  slots.forEach((s, i) => {
    const access = s.writable ? 'read_write' : 'read';
    lines.push(`@group(0) @binding(${i + 1}) var<storage, ${access}> b${i}: array<${s.atomic ? 'atomic<u32>' : 'u32'}>;`);
  });
  for (const o of operands) lines.push(accessors(o, slots[o.slot], kernel.writes.includes(o.name)));
  return `${lines.join('\n')}\n${HELPERS}\n${kernel.body}`;
}

