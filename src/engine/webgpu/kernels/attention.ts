// Attention with online softmax (FlashAttention's running max and sum), fp32 throughout:
//   out[Tq, H*hd] = softmax(q k^T / sqrt(hd)) v; head h reads kv head h / (H/K). q f32 [Tq, H*hd];
//   k, v [Tk, K*hd] f32 | f16 | bf16; pos i32 [1, Tq] when causal: query i sees keys j <= pos[i];
//   unmasked otherwise (each image of a packed vision batch is its own dispatch: block-diagonal).
//   flash     many queries (prefill, vision): a thread per query vector, 64 vectors of one kv head
//             per workgroup, keys streamed through workgroup memory in blocks.
//   split     few queries (decode): the cache is cut into 128-key splits, a workgroup per (query
//             row, up to 4 heads of one kv head, split) writes a partial (max, sum, weighted values),
//             and `combine` merges the splits of each head.
import type { Kernel } from '../wgsl';

const SHAPE: Kernel['params'] = [
  ['tq', 'u32'],
  ['tk', 'u32'],
  ['heads', 'u32'],
  ['group', 'u32'], // query heads per kv head
  ['causal', 'u32'],
  ['scale', 'f32'],
];

/** Keys query row `row` sees. */
const VISIBLE = /* wgsl */ `
fn visible(row: u32) -> u32 {
  if (P.causal == 0u) { return P.tk; }
  return u32(clamp(ld_pos(row) + 1, 0, i32(P.tk)));
}`;

const NO_POS = 'fn ld_pos(i: u32) -> i32 { return 0; }';

/** A finite stand-in for -infinity: exp(it - m) is 0 and never NaN. */
const LOWEST = '-3.0e38';

/** `count` WGSL statements from `line(i)`, one per i: the head-dim loops written out, so a
 *  key costs no loop iterations of its own (Mesa's llvmpipe stops a shader invocation after 65535
 *  loop iterations in all; a loop over 64 dims per key hit that at ~480 keys). */
const unrolled = (count: number, line: (i: number) => string): string => Array.from({ length: count }, (_, i) => line(i)).join('\n    ');

export function flash(hd: number, causal: boolean): Kernel {
  const H4 = Math.ceil(hd / 4); // head dims as vec4s, zero-padded past hd
  const BK = Math.max(1, Math.min(32, Math.floor(512 / H4))); // keys per block: 8 KiB of workgroup memory
  return {
    label: `attention-flash-hd${hd}`,
    operands: causal ? ['out', 'q', 'k', 'v', 'pos'] : ['out', 'q', 'k', 'v'],
    writes: ['out'],
    params: SHAPE,
    body: /* wgsl */ `
${causal ? '' : NO_POS}
${VISIBLE}
const HD = ${hd}u;
const H4 = ${H4}u;
const BK = ${BK}u;
var<workgroup> kv: array<vec4<f32>, ${BK * H4}>;
var<workgroup> most: array<u32, 64>;
var<workgroup> keys: u32;

// Dims 4c..4c+3 of key / value row j of kv head g as a vec4; 0 past the head or past nk.
${['k', 'v'].map((t) => /* wgsl */ `
fn ${t}4(j: u32, g: u32, c: u32, nk: u32) -> vec4<f32> {
  if (j >= nk) { return vec4<f32>(0.0); }
  let at = j * (P.heads / P.group) * HD + g * HD + 4u * c;
  return vec4<f32>(${[0, 1, 2, 3].map((i) => (hd % 4 ? `select(0.0, ld_${t}(at + ${i}u), 4u * c + ${i}u < HD)` : `ld_${t}(at + ${i}u)`)).join(', ')});
}`).join('')}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y;  // kv head
  let vec = wid.x * 64u + lid;  // (row, head in group), row-major
  let row = vec / P.group;
  let head = g * P.group + vec % P.group;
  let live = row < P.tq;
  let qs = P.heads * HD;
  var q: array<vec4<f32>, ${H4}>;
  var acc: array<vec4<f32>, ${H4}>;
  var seen = 0u;
  if (live) {
    seen = visible(row);
    for (var d = 0u; d < HD; d++) { q[d / 4u][d % 4u] = ld_q(row * qs + head * HD + d) * P.scale; }
  }
  // The workgroup walks as many keys as its furthest-seeing query.
  most[lid] = seen;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { most[lid] = max(most[lid], most[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { keys = most[0]; }
  let nk = workgroupUniformLoad(&keys);
  var m = ${LOWEST};
  var l = 0.0;
  var p: array<f32, ${BK}>;
  for (var j0 = 0u; j0 < nk; j0 += BK) {
    for (var e = lid; e < BK * H4; e += 64u) { kv[e] = k4(j0 + e / H4, g, e % H4, nk); }
    workgroupBarrier();
    var block = ${LOWEST};
    for (var jj = 0u; jj < BK; jj++) {
      p[jj] = ${LOWEST};
      if (j0 + jj < seen) {
        let at = jj * H4;
        var dot4 = vec4<f32>(0.0);
        ${unrolled(H4, (i) => `dot4 = fma(q[${i}], kv[at + ${i}u], dot4);`)}
        p[jj] = dot4.x + dot4.y + dot4.z + dot4.w;
        block = max(block, p[jj]);
      }
    }
    let m_new = max(m, block);
    let rescale = exp(m - m_new);
    l *= rescale;
    ${unrolled(H4, (i) => `acc[${i}] *= rescale;`)}
    m = m_new;
    workgroupBarrier();
    for (var e = lid; e < BK * H4; e += 64u) { kv[e] = v4(j0 + e / H4, g, e % H4, nk); }
    workgroupBarrier();
    for (var jj = 0u; jj < BK; jj++) {
      if (j0 + jj < seen) {
        let w = exp(p[jj] - m);
        let at = jj * H4;
        l += w;
        ${unrolled(H4, (i) => `acc[${i}] = fma(vec4<f32>(w), kv[at + ${i}u], acc[${i}]);`)}
      }
    }
    workgroupBarrier();
  }
  if (live && seen > 0u) {
    for (var d = 0u; d < HD; d++) { st_out(row * qs + head * HD + d, acc[d / 4u][d % 4u] / l); }
  }
}`,
  };
}

export const SPLIT_KEYS = 128;

/** Partials: [tq, heads, splits] records of (max, sum, hd weighted values), f32. `hw` query heads of
 *  one kv head per workgroup (a divisor of the group, at most 4). */
export function split(hd: number, hw: number, causal: boolean): Kernel {
  return {
    label: `attention-split-hd${hd}-hw${hw}`,
    operands: causal ? ['part', 'q', 'k', 'v', 'pos'] : ['part', 'q', 'k', 'v'],
    writes: ['part'],
    params: [...SHAPE, ['splits', 'u32']],
    body: /* wgsl */ `
${causal ? '' : NO_POS}
${VISIBLE}
const HD = ${hd}u;
const HW = ${hw}u;
const CH = ${SPLIT_KEYS}u;
var<workgroup> qv: array<f32, ${hw * hd}>;
var<workgroup> sc: array<f32, ${hw * SPLIT_KEYS}>;
var<workgroup> stats: array<f32, ${2 * hw}>;  // max, sum per head
var<workgroup> count: u32;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let split = wid.x;
  let groups = P.heads / HW;  // workgroups per query row
  let row = wid.y / groups;
  let h0 = (wid.y % groups) * HW;
  let g = h0 / P.group;
  let qs = P.heads * HD;
  let kvs = (P.heads / P.group) * HD;
  let j0 = split * CH;
  if (lid == 0u) { count = u32(clamp(i32(visible(row)) - i32(j0), 0, i32(CH))); }
  for (var e = lid; e < HW * HD; e += 64u) { qv[e] = ld_q(row * qs + h0 * HD + e) * P.scale; }
  let n = workgroupUniformLoad(&count);
  for (var jj = lid; jj < n; jj += 64u) {
    let base = (j0 + jj) * kvs + g * HD;
    var dots: array<f32, ${hw}>;
    for (var d = 0u; d < HD; d++) {
      let kd = ld_k(base + d);
      for (var h = 0u; h < HW; h++) { dots[h] = fma(qv[h * HD + d], kd, dots[h]); }
    }
    for (var h = 0u; h < HW; h++) { sc[h * CH + jj] = dots[h]; }
  }
  workgroupBarrier();
  if (lid < HW) {
    var m = ${LOWEST};
    for (var jj = 0u; jj < n; jj++) { m = max(m, sc[lid * CH + jj]); }
    var l = 0.0;
    for (var jj = 0u; jj < n; jj++) {
      let w = exp(sc[lid * CH + jj] - m);
      sc[lid * CH + jj] = w;
      l += w;
    }
    stats[2u * lid] = m;
    stats[2u * lid + 1u] = l;
  }
  workgroupBarrier();
  let rec = HD + 2u;
  for (var e = lid; e < HW * HD; e += 64u) {
    let h = e / HD;
    let d = e % HD;
    var a = 0.0;
    for (var jj = 0u; jj < n; jj++) { a = fma(sc[h * CH + jj], ld_v((j0 + jj) * kvs + g * HD + d), a); }
    let at = ((row * P.heads + h0 + h) * P.splits + split) * rec;
    st_part(at + 2u + d, a);
    if (d == 0u) {
      st_part(at, stats[2u * h]);
      st_part(at + 1u, stats[2u * h + 1u]);
    }
  }
}`,
  };
}

/** out[row, h*hd + d] from the splits' partials; a workgroup per (row, head). */
export function combine(hd: number): Kernel {
  return {
    label: `attention-combine-hd${hd}`,
    operands: ['out', 'part'],
    writes: ['out'],
    params: [['heads', 'u32'], ['splits', 'u32']],
    body: /* wgsl */ `
const HD = ${hd}u;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let rh = wid.x;  // row * heads + head
  let rec = HD + 2u;
  let first = rh * P.splits * rec;
  var m = ${LOWEST};
  for (var s = 0u; s < P.splits; s++) { m = max(m, ld_part(first + s * rec)); }
  var l = 0.0;
  for (var s = 0u; s < P.splits; s++) {
    let at = first + s * rec;
    l += ld_part(at + 1u) * exp(ld_part(at) - m);
  }
  for (var d = lid; d < HD; d += 64u) {
    var a = 0.0;
    for (var s = 0u; s < P.splits; s++) {
      let at = first + s * rec;
      a = fma(ld_part(at + 2u + d), exp(ld_part(at) - m), a);
    }
    st_out(rh * HD + d, a / l);
  }
}`,
  };
}
