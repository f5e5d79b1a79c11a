"""The transformers side of the CUDA benchmark (tools/bench_cuda/run_on_h200.sh runs it on the GPU
machine: PyTorch 2.11, transformers 5.17, safetensors; no network).

  transformers_bench.py run --weights DIR --out DIR [--tokens N]
      Builds LlavaForConditionalGeneration at the full Pixtral 12B shapes on the GPU with random bf16
      weights (seeded), writes them once in the transformers key layout our engine also loads
      (DIR: model-0000k-of-0000n.safetensors, model.safetensors.index.json, config.json) and the
      prompts (DIR/prompts: a 1024x1024 image, its 4181-token prompt, a 16384-token prompt), then
      measures transformers the way bench_cuda measures our engine (bf16, sdpa, dynamic cache):
      decode tok/s at contexts 0, 4096, 16384, time to first token for the image + 20 text tokens,
      vision encoder ms. Last, the fp32 reference (the same weights upcast, TF32 off): the
      last-position logits of both prompts, for the parity check. Writes OUT/hf.json.
  transformers_bench.py report --out DIR
      Reads OUT/hf.json, OUT/ours.json (bench_cuda) and the logits, and prints the markdown table.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

SEED = 20260101
IMAGE_TOKEN, IMAGE_BREAK, IMAGE_END, BOS = 10, 12, 13, 1
TEXT_CONFIG = dict(
    model_type="mistral", hidden_size=5120, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=8,
    head_dim=128, intermediate_size=14336, vocab_size=131072, rope_theta=1e9, rms_norm_eps=1e-5, hidden_act="silu",
    max_position_embeddings=1024000, sliding_window=None, tie_word_embeddings=False)
VISION_CONFIG = dict(
    model_type="pixtral", hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, head_dim=64,
    intermediate_size=4096, patch_size=16, image_size=1024, num_channels=3, rope_theta=10000.0, hidden_act="silu")
LLAVA_CONFIG = dict(
    architectures=["LlavaForConditionalGeneration"], model_type="llava", image_token_index=IMAGE_TOKEN,
    projector_hidden_act="gelu", vision_feature_layer=-1, vision_feature_select_strategy="full",
    multimodal_projector_bias=True, text_config=TEXT_CONFIG, vision_config=VISION_CONFIG)
# The bf16 tolerance of the fixtures' logits cases (manifest: mm_single bf16_engine).
LOGITS_ATOL, LOGITS_RTOL = 0.15, 0.1


def sync():
    import torch
    torch.cuda.synchronize()


def legacy_name(key):
    """transformers 5 module names -> the checkpoint names of mistral-community/pixtral-12b."""
    for new, old in (("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                     ("model.multi_modal_projector.", "multi_modal_projector.")):
        if key.startswith(new):
            return old + key[len(new):]
    return "language_model.lm_head.weight" if key == "lm_head.weight" else key


def init_(name, p, gen):
    """Random values that keep 40 layers numerically sane: norms ~1, linears ~1/sqrt(fan_in),
    a logit scale that separates the top tokens."""
    import torch
    r = torch.randn(p.shape, generator=gen, device=p.device, dtype=torch.float32)
    if name.endswith("norm.weight") or "ln_pre" in name:
        v = 1 + 0.1 * r
    elif name.endswith(".bias"):
        v = 0.02 * r
    elif "embed_tokens" in name:
        v = r
    elif name.endswith("lm_head.weight"):
        v = r * (3.0 / math.sqrt(p.shape[1]))
    else:
        v = r / math.sqrt(p[0].numel())
    p.copy_(v.to(p.dtype))


def build_model():
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration
    config = LlavaConfig.from_dict(LLAVA_CONFIG)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlavaForConditionalGeneration(config)
    torch.set_default_dtype(torch.float32)
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("sdpa")
    gen = torch.Generator(device="cuda").manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            init_(name, p, gen)
    model.eval()
    # The RoPE bases must be the ones our engine reads from config.json.
    for name, buf in model.named_buffers():
        if name.endswith("inv_freq") and "language_model" in name:
            want = 1e9 ** (-2.0 / 128)
            assert abs(float(buf[1]) / want - 1) < 1e-3, f"{name}: text RoPE theta is not 1e9 ({float(buf[1])})"
    return model


def save_weights(model, weights):
    import torch
    from safetensors.torch import save_file
    os.makedirs(weights, exist_ok=True)
    state = [(legacy_name(k), v) for k, v in model.state_dict().items()]
    shards, current, size = [], {}, 0
    for k, v in state:
        if size + v.numel() * 2 > 5e9 and current:
            shards.append(current)
            current, size = {}, 0
        current[k] = v
        size += v.numel() * 2
    shards.append(current)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        cpu = {k: v.detach().to("cpu").contiguous() for k, v in shard.items()}
        save_file(cpu, os.path.join(weights, fname), metadata={"format": "pt"})
        for k, v in cpu.items():
            weight_map[k] = fname
            total += v.numel() * v.element_size()
        del cpu
    with open(os.path.join(weights, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
    with open(os.path.join(weights, "config.json"), "w") as f:
        json.dump({**LLAVA_CONFIG, "torch_dtype": "bfloat16"}, f, indent=1)
    return total


def prompts(weights, torch):
    """Pixels (normalised, random), the image prompt and the 16k prompt, written for bench_cuda."""
    d = os.path.join(weights, "prompts")
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED + 1)
    pixels = torch.randn((3, 1024, 1024), generator=gen).clamp(-2, 2)
    text = torch.randint(1000, 131072, (16384 + 20,), generator=gen, dtype=torch.int32)
    image = [BOS] + ([IMAGE_TOKEN] * 64 + [IMAGE_BREAK]) * 63 + [IMAGE_TOKEN] * 64 + [IMAGE_END] + text[:20].tolist()
    ids_16k = [BOS] + text[20:20 + 16383].tolist()
    pixels.numpy().astype("<f4").tofile(os.path.join(d, "pixels.bin"))
    np.asarray(image, dtype="<i4").tofile(os.path.join(d, "ids_image.bin"))
    np.asarray(ids_16k, dtype="<i4").tofile(os.path.join(d, "ids_16k.bin"))
    return pixels, image, ids_16k


def last_logits(model, torch, ids, pixels=None):
    kw = dict(input_ids=torch.tensor([ids], device="cuda"), use_cache=False)
    if pixels is not None:
        kw.update(pixel_values=pixels[None].to("cuda", next(model.parameters()).dtype), image_sizes=torch.tensor([[1024, 1024]], device="cuda"))
    try:
        out = model(**kw, logits_to_keep=1)
    except TypeError:
        out = model(**kw)
    return out.logits[0, -1].float()


def image_features(model, pv, sizes):
    """The vision tower and the projector (get_image_features' keywords moved between versions)."""
    try:
        return model.get_image_features(pixel_values=pv, image_sizes=sizes, vision_feature_layer=-1,
                                        vision_feature_select_strategy="full")
    except TypeError:
        return model.get_image_features(pixel_values=pv, image_sizes=sizes)


def bench(model, torch, pixels, image_ids, ids_16k, tokens):
    res = {"torch": torch.__version__}
    import transformers
    res["transformers"] = transformers.__version__
    pv = pixels[None].to("cuda", torch.bfloat16)
    sizes = torch.tensor([[1024, 1024]], device="cuda")
    with torch.no_grad():
        # Vision encoder (+ the adapter's two matmuls): device time, median of 5 after a warm-up.
        vit = []
        for r in range(6):
            sync()
            t = time.perf_counter()
            image_features(model, pv, sizes)
            sync()
            if r:
                vit.append((time.perf_counter() - t) * 1e3)
        res["vit_ms"] = statistics.median(vit)
        # Time to first token: image + 20 text tokens, prefill and the first greedy token.
        ttft = []
        for r in range(4):
            sync()
            t = time.perf_counter()
            out = model(input_ids=torch.tensor([image_ids], device="cuda"), pixel_values=pv, image_sizes=sizes, use_cache=True)
            int(out.logits[0, -1].argmax())
            if r:
                ttft.append(time.perf_counter() - t)
            if r == 0:
                res_logits_image = out.logits[0, -1].float().cpu().numpy()
            del out
        res["ttft_s"] = statistics.median(ttft)
        # Decode at contexts 0, 4096, 16384: prefill, then greedy tokens fed back one at a time.
        res["decode"] = []
        for ctx in (0, 4096, 16384):
            ids = torch.tensor([ids_16k[:max(1, ctx)]], device="cuda")
            out = model(input_ids=ids, use_cache=True)
            cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            if ctx == 16384:
                res_logits_16k = out.logits[0, -1].float().cpu().numpy()
            del out
            stamps = []
            for _ in range(tokens):
                out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
                cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
                int(nxt)
                stamps.append(time.perf_counter())
            res["decode"].append({"context": ctx, "tok_s": (len(stamps) - 2) / (stamps[-1] - stamps[1])})
            del cache
            torch.cuda.empty_cache()
    return res, res_logits_image, res_logits_16k


def run(args):
    import torch
    t0 = time.perf_counter()
    model = build_model()
    total = save_weights(model, args.weights)
    print(f"weights: {total / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    pixels, image_ids, ids_16k = prompts(args.weights, torch)
    res, bf16_image, bf16_16k = bench(model, torch, pixels, image_ids, ids_16k, args.tokens)
    print(f"transformers: {json.dumps(res)}", file=sys.stderr, flush=True)
    # fp32 reference from the same weights.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = model.float()
    with torch.no_grad():
        ref_image = last_logits(model, torch, image_ids, pixels).cpu().numpy()
        ref_16k = last_logits(model, torch, ids_16k).cpu().numpy()
    for name, arr in (("ref_logits_image", ref_image), ("ref_logits_16k", ref_16k), ("hf_logits_image", bf16_image),
                      ("hf_logits_16k", bf16_16k)):
        arr.astype("<f4").tofile(os.path.join(args.weights, "prompts", name + ".bin"))
    res["weights_gb"] = total / 1e9
    with open(os.path.join(args.out, "hf.json"), "w") as f:
        json.dump(res, f, indent=1)


def compare(got, ref):
    err = np.abs(got.astype(np.float64) - ref)
    ok = bool(np.all(err <= LOGITS_ATOL + LOGITS_RTOL * np.abs(ref)))
    return ok, float(err.max()), int(got.argmax()) == int(ref.argmax())


def report(args):
    hf = json.load(open(os.path.join(args.out, "hf.json")))
    ours = json.load(open(os.path.join(args.out, "ours.json")))
    p = os.path.join(args.weights, "prompts")
    load = lambda n: np.fromfile(os.path.join(p, n + ".bin"), dtype="<f4")
    lines = [f"# CUDA backend vs transformers {hf['transformers']} (torch {hf['torch']}), {ours['backend']}, batch 1",
             "",
             f"Device read bandwidth (same run): **{ours['read_gbps']:.0f} GB/s**. Decoder bytes per token: "
             f"{ours['decoder_bytes'] / 1e9:.2f} GB of weights plus that row's bf16 KV cache.",
             "",
             "| row | ours | bound | % of bound | ours GB/s | transformers | faster |",
             "|---|---|---|---|---|---|---|"]
    for o, h in zip(ours["decode"], hf["decode"]):
        lines.append(f"| decode tok/s, context {o['context']} | {o['tok_s']:.1f} | {o['bound_tok_s']:.1f} | "
                     f"{100 * o['tok_s'] / o['bound_tok_s']:.0f}% (target 88%) | {o['gbps']:.0f} | {h['tok_s']:.1f} | "
                     f"{'yes' if o['tok_s'] > h['tok_s'] else 'NO'} |")
    lines.append(f"| TTFT 1024x1024 image + 20 tokens, s | {ours['ttft_s']:.3f} | target 0.2 | | | {hf['ttft_s']:.3f} | "
                 f"{'yes' if ours['ttft_s'] < hf['ttft_s'] else 'NO'} |")
    lines.append(f"| vision encoder, ms | {ours['vit_ms']:.1f} | target 12 | | | {hf['vit_ms']:.1f} | "
                 f"{'yes' if ours['vit_ms'] < hf['vit_ms'] else 'NO'} |")
    lines += ["", f"Parity of last-position logits against transformers in fp32 (TF32 off), same weights; pass: "
              f"|err| <= {LOGITS_ATOL} + {LOGITS_RTOL}|ref| everywhere (the fixtures' bf16 logits tolerance):", "",
              "| prompt | ours: max abs err | ours: pass | ours: same argmax | transformers bf16: max abs err |", "|---|---|---|---|---|"]
    for name, label in (("image", "1024x1024 image + 20 tokens (4181 tokens)"), ("16k", "16384 text tokens")):
        ref = load("ref_logits_" + name).astype(np.float64)
        ok, err, same = compare(load("ours_logits_" + name), ref)
        _, hf_err, _ = compare(load("hf_logits_" + name), ref)
        lines.append(f"| {label} | {err:.3f} | {'yes' if ok else 'NO'} | {'yes' if same else 'NO'} | {hf_err:.3f} |")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["run", "report"])
    ap.add_argument("--weights", default="/tmp/pixtral12b-random")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    main()
