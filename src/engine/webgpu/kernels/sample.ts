// Op::Sample on the GPU, as native/src/sampler.cc defines it (graph.h, SamplerState), in one
// workgroup of `wg` threads: token i32 [1, 1] drawn from logits f32 [1, V] by state i32 [1, 6]
// {temperature f32, top_k i32, top_p f32, reserved, rng u64}; the rng advances by one splitmix64
// draw unless greedy. w f32 [V] is scratch for the weights exp((l - max) / temperature).
//   greedy   argmax, lowest id on ties.
//   no cut   candidates in id order: the first id whose running weight exceeds u = draw * total.
//   cut      candidates by logit (ties: lower id first) as 64-bit keys (logit order, ~id); each
//            boundary — the top_k-th key, the nucleus edge, the drawn key — is the largest key
//            whose count or weight above it passes a test, found two bits at a time from the top,
//            one pass over the vocabulary per two bits (25 passes for V = 131072).
// Weights are summed in fp32 (the CPU in fp64): draws may differ only within ~1e-6 of a boundary,
// which the op harness allows for. (Mesa's llvmpipe stops any shader invocation after 65535 loop
// iterations in all; with 1024 threads the worst case, top-k and top-p at V = 131072, takes ~10k.)
import type { Kernel } from '../wgsl';

/** The workgroup size for a device: a power of two up to 1024 whose reduction array fits. */
export function sampleThreads(maxInvocations: number, maxWorkgroupStorage: number): number {
  let wg = 1024;
  while (wg > 64 && (wg > maxInvocations || wg * 20 + 64 > maxWorkgroupStorage)) wg /= 2;
  return wg;
}

export const sample = (V: number, wg: number): Kernel => {
  // Bits of ~id that vary: an even count (two per pass); the ones above are set in every key.
  const idBits = Math.min(32, 2 * Math.ceil(Math.max(1, Math.ceil(Math.log2(V))) / 2));
  return {
    label: `sample-wg${wg}`,
    operands: ['token', 'logits', 'state', 'w'],
    writes: ['token', 'state', 'w'],
    params: [['v', 'u32']],
    body: /* wgsl */ `
const WG = ${wg}u;
const ID_BITS = ${idBits}u;
const ID_PREFIX = ${idBits === 32 ? 0 : (0xffffffff << idBits) >>> 0}u;
var<workgroup> red: array<vec4<f32>, ${wg}>;
var<workgroup> red_id: array<u32, ${wg}>;  // integers stay out of float lanes (no denormal flushes)
var<workgroup> result: vec4<f32>;
var<workgroup> result_u: vec4<u32>;

// Logit bits in an order where a larger u32 is a larger float.
fn ordered(l: f32) -> u32 {
  let b = bitcast<u32>(l);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn at_least(hi: u32, lo: u32, k: vec2<u32>) -> bool { return hi > k.x || (hi == k.x && lo >= k.y); }

fn sum4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { result = red[0]; }
  return workgroupUniformLoad(&result);
}

// Weight (or, with count, the number) of the keys >= lowest that are also >= each of c1 < c2 < c3.
fn above(lid: u32, count: bool, c1: vec2<u32>, c2: vec2<u32>, c3: vec2<u32>, lowest: vec2<u32>) -> vec3<f32> {
  var m = vec3<f32>(0.0);
  for (var i = lid; i < P.v; i += WG) {
    let hi = ordered(ld_logits(i));
    let lo = ~i;
    if (at_least(hi, lo, lowest) && at_least(hi, lo, c1)) {
      let v = select(ld_w(i), 1.0, count);
      m += vec3<f32>(v, select(0.0, v, at_least(hi, lo, c2)), select(0.0, v, at_least(hi, lo, c3)));
    }
  }
  return sum4(lid, vec4<f32>(m, 0.0)).xyz;
}

fn passes(v: f32, goal: f32, strict: bool) -> bool { return (strict && v > goal) || (!strict && v >= goal); }

// The largest key >= lowest whose count reaches goal, or whose weight reaches (not strict) or
// exceeds (strict) goal; lowest when none does. Two bits a pass: high word, then the id bits.
fn largest_key(lid: u32, count: bool, goal: f32, strict: bool, lowest: vec2<u32>) -> vec2<u32> {
  var k = vec2<u32>(0u, ID_PREFIX);
  for (var s = 0u; s < 16u + ID_BITS / 2u; s++) {
    var step = vec2<u32>(0u, 0u);
    if (s < 16u) { step.x = 1u << (30u - 2u * s); } else { step.y = 1u << (ID_BITS - 2u - 2u * (s - 16u)); }
    let m = above(lid, count, k + step, k + 2u * step, k + 3u * step, lowest);
    if (passes(m.z, goal, strict)) { k += 3u * step; }
    else if (passes(m.y, goal, strict)) { k += 2u * step; }
    else if (passes(m.x, goal, strict)) { k += step; }
  }
  if (!at_least(k.x, k.y, lowest)) { return lowest; }
  return k;
}

// Weight of the ids below each of c1 < c2 < c3.
fn below(lid: u32, c: vec3<u32>) -> vec3<f32> {
  var m = vec3<f32>(0.0);
  for (var i = lid; i < min(c.z, P.v); i += WG) {
    let w = ld_w(i);
    m += vec3<f32>(select(0.0, w, i < c.x), select(0.0, w, i < c.y), w);
  }
  return sum4(lid, vec4<f32>(m, 0.0)).xyz;
}

// splitmix64 on (lo, hi) words.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = mul_wide(a.x, b.x);
  return vec2<u32>(lo.x, lo.y + a.x * b.y + a.y * b.x);
}
fn xor_shr(z: vec2<u32>, n: u32) -> vec2<u32> { return z ^ vec2<u32>((z.x >> n) | (z.y << (32u - n)), z.y >> n); }

@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) lid: u32) {
  // Greedy, and the largest logit for the weights: (value, lowest id) over the vocabulary.
  var best = -3.4028234e38;
  var best_id = 0u;
  for (var i = lid; i < P.v; i += WG) {
    let l = ld_logits(i);
    if (l > best) { best = l; best_id = i; }
  }
  red[lid] = vec4<f32>(best, 0.0, 0.0, 0.0);
  red_id[lid] = best_id;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && (red[lid + s].x > red[lid].x || (red[lid + s].x == red[lid].x && red_id[lid + s] < red_id[lid]))) {
      red[lid] = red[lid + s];
      red_id[lid] = red_id[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { result_u = vec4<u32>(red_id[0], bitcast<u32>(ld_state(0u)), bitcast<u32>(ld_state(1u)), bitcast<u32>(ld_state(2u))); }
  let settings = workgroupUniformLoad(&result_u);
  let top = settings.x;
  let temperature = bitcast<f32>(settings.y);
  if (temperature <= 0.0) {
    if (lid == 0u) { st_token(0u, i32(top)); }
    return;
  }
  let top_k = bitcast<i32>(settings.z);
  let top_p = bitcast<f32>(settings.w);
  let max_logit = ld_logits(top);
  let inv_t = 1.0 / temperature;
  var total = 0.0;
  for (var i = lid; i < P.v; i += WG) {
    let w = exp((ld_logits(i) - max_logit) * inv_t);
    st_w(i, w);
    total += w;
  }
  total = sum4(lid, vec4<f32>(total, 0.0, 0.0, 0.0)).x;

  // The draw: u in [0, 1) from the top 24 bits of splitmix64's output.
  var rng = vec2<u32>(bitcast<u32>(ld_state(4u)), bitcast<u32>(ld_state(5u)));
  let lo = rng.x + 0x7f4a7c15u;
  rng = vec2<u32>(lo, rng.y + 0x9e3779b9u + select(0u, 1u, lo < rng.x));
  var z = mul64(xor_shr(rng, 30u), vec2<u32>(0x1ce4e5b9u, 0xbf58476du));
  z = mul64(xor_shr(z, 27u), vec2<u32>(0x133111ebu, 0x94d049bbu));
  z = xor_shr(z, 31u);
  let draw = f32(z.y >> 8u) * 5.9604644775390625e-8;

  let cut_k = top_k > 0 && u32(top_k) < P.v;
  let cut_p = top_p < 1.0;
  var token = top;
  if (!cut_k && !cut_p) {
    // The largest c whose ids below it weigh <= u: the first id whose running weight exceeds u.
    let u = draw * total;
    var c = 0u;
    for (var s = 0u; s < ID_BITS / 2u; s++) {
      let step = 1u << (ID_BITS - 2u - 2u * s);
      let m = below(lid, vec3<u32>(c + step, c + 2u * step, c + 3u * step));
      if (m.z <= u) { c += 3u * step; } else if (m.y <= u) { c += 2u * step; } else if (m.x <= u) { c += step; }
    }
    if (c < P.v && u < total) { token = c; }
  } else {
    let none = vec2<u32>(0u, 0u);
    var pool = none;
    var pool_mass = total;
    if (cut_k) {
      pool = largest_key(lid, true, f32(top_k), false, none);
      pool_mass = above(lid, false, pool, pool, pool, pool).x;
    }
    var kept = pool;
    if (cut_p) { kept = largest_key(lid, false, top_p * pool_mass, false, pool); }
    let kept_mass = above(lid, false, kept, kept, kept, kept).x;
    token = ~largest_key(lid, false, draw * kept_mass, true, kept).y;
  }
  if (lid == 0u) {
    st_token(0u, i32(token));
    st_state(4u, bitcast<i32>(rng.x));
    st_state(5u, bitcast<i32>(rng.y));
  }
}`,
  };
};
