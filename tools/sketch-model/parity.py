"""Parity stage: reference outputs of a model (model.py, float32 math on the bf16-rounded weights)
for real inputs of the encoded data, written as a fixture folder in the schema of
../../../shared/fixtures/README.md. The repository's generic parity suite then checks our engine
against PyTorch on this model, from both weight layouts, unchanged:

    PIXTRAL_FIXTURES=<parity folder> node --import tsx --test test/engine/parity.test.ts

Cases: vision_single / vision_pair (real sketch and chart images), projector, mm_single (a real
product prompt), mm_pair (two images in one sketch request), text_only (the prompt's text without
the image), greedy (32 steps from mm_single, KV cache vs. recomputation cross-checked).

    /usr/bin/python3 tools/sketch-model/parity.py --random --config tools/sketch-model/config.json \
        --tekken TEKKEN --data ENCODED/eval --out DIR        (a randomly initialised model)
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_fixture as mf  # noqa: E402  (fixture writing helpers: names, layouts, manifest outputs)

from data import ShardReader, read_split  # noqa: E402
from export import round_to_bf16_, write_model_folder  # noqa: E402
from model import Pixtral  # noqa: E402

GREEDY_STEPS = 32


def randomize_for_parity(model: Pixtral, seed: int) -> Pixtral:
    """Weights whose logits are far from uniform (matrices N(0, 1/fan_in), norms N(1, 0.2²)), so
    that top-1/top-2 margins are wide enough for the suite to compare ids at most positions."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 / np.sqrt(p[0].numel()), generator=g)
            elif name.endswith(".bias"):
                p.normal_(0.0, 0.05, generator=g)
            else:
                p.normal_(1.0, 0.2, generator=g)
    return model


def f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def image_block(prompt: np.ndarray, img: int, end: int) -> tuple[int, int]:
    """[start, stop) of the image's token block in a prompt: from the first [IMG] to [IMG_END]."""
    start = int(np.argmax(prompt == img))
    return start, int(np.argmax(prompt == end)) + 1


# The suite runs with a 1024-token KV cache, so the images are cut to a few patch rows and columns
# (the top-left corner of the real preprocessed image) and their token blocks rebuilt to match.
CROPS = [(14, 18), (10, 12)]


def crop(pixels: torch.Tensor, grid: tuple[int, int], patch: int) -> torch.Tensor:
    h = min(grid[0], pixels.shape[1] // patch)
    w = min(grid[1], pixels.shape[2] // patch)
    return pixels[:, : h * patch, : w * patch].contiguous()


def build_cases(model: Pixtral, examples) -> tuple[dict, dict]:
    """-> (inputs, outputs) per case name, outputs in the shapes make_fixture's manifest uses."""
    v = model.args.vision_encoder
    ex0 = examples[0]
    imgs = [crop(ex.pixels, g, v.patch_size) for ex, g in zip(examples, CROPS)]
    blocks = [np.array(mf.image_tokens(im.shape[1] // v.patch_size, im.shape[2] // v.patch_size)) for im in imgs]
    s0, e0 = image_block(ex0.prompt, v.image_token_id, v.image_end_token_id)
    single_ids = np.concatenate([ex0.prompt[:s0], blocks[0], ex0.prompt[e0:]])
    pair_ids = np.concatenate([ex0.prompt[:s0], blocks[0], blocks[1], ex0.prompt[e0:]])  # images first, as sketchRequest does
    text_ids = np.concatenate([ex0.prompt[:s0], ex0.prompt[e0:]])
    p0 = torch.from_numpy(single_ids)
    stride = v.image_size // v.patch_size

    def positions(images):
        return np.concatenate([(np.arange(h)[:, None] * stride + np.arange(w)[None, :]).reshape(-1)
                               for h, w in ((im.shape[1] // v.patch_size, im.shape[2] // v.patch_size) for im in images)]).astype(np.int32)

    inputs, outputs = {}, {}
    with torch.no_grad():
        out, stages, _ = model.vision_encoder([imgs[0]], capture=True)
        inputs["vision_single"] = {"pixel_values": imgs[0].numpy(), "position_ids": positions([imgs[0]])}
        outputs["vision_single"] = {"vision_out": f64(out), **{k: f64(t) for k, t in stages.items()}}
        pair, _, counts = model.vision_encoder(imgs)
        inputs["vision_pair"] = {"pixel_values_0": imgs[0].numpy(), "pixel_values_1": imgs[1].numpy(), "position_ids": positions(imgs)}
        outputs["vision_pair"] = {"vision_out_image0": f64(pair[:counts[0]]), "vision_out_image1": f64(pair[counts[0]:])}
        vision_out = out.float().numpy().astype(np.float32)
        inputs["projector"] = {"vision_out": vision_out}
        outputs["projector"] = {"projector_out": f64(model.vision_language_adapter(torch.from_numpy(vision_out)))}
        for name, ids, images in (("mm_single", single_ids, imgs[:1]), ("mm_pair", pair_ids, imgs), ("text_only", text_ids, [])):
            inputs[name] = {"input_ids": ids.astype(np.int32), **pixel_inputs(images)}
            outputs[name] = mf.logits_outputs(f64(model.full_logits(torch.from_numpy(ids), images)))
        gen, rows = model.greedy(p0, imgs[:1], GREEDY_STEPS)
        inputs["greedy"] = {"input_ids": single_ids.astype(np.int32), "pixel_values": imgs[0].numpy()}
        outputs["greedy"] = mf.greedy_outputs(np.array(gen), f64(rows))
        # The cache must not change the answer: recompute every step from scratch.
        ids = p0
        for step, want in enumerate(gen):
            got = int(model.full_logits(ids, imgs[:1])[-1].argmax())
            assert got == want, f"greedy step {step}: cache gives {want}, recomputation {got}"
            ids = torch.cat([ids, torch.tensor([got])])
    return inputs, outputs


def pixel_inputs(images) -> dict:
    if len(images) == 1:
        return {"pixel_values": images[0].numpy()}
    return {f"pixel_values_{k}": im.numpy() for k, im in enumerate(images)}


CASE_META = {
    "vision_single": ("Vision encoder on one real image (a sketch of the eval split).", mf.TOL_VISION),
    "vision_pair": ("Two real images in one vision call: block-diagonal attention, RoPE positions restart per image.", mf.TOL_VISION),
    "projector": ("Adapter: Linear+bias, exact GELU, Linear+bias, on vision_single's output.", mf.TOL_VISION),
    "mm_single": ("A product prompt as the worker builds it (system prompt, image block, request, [/INST]).", mf.TOL_LOGITS),
    "mm_pair": ("The same request with two images first (as sketchRequest places several images).", mf.TOL_LOGITS),
    "text_only": ("The mm_single prompt without its image block.", mf.TOL_LOGITS),
    "greedy": (f"Greedy decoding of {GREEDY_STEPS} tokens from mm_single with a KV cache (checked equal to recomputation).", mf.TOL_GREEDY),
}


def write_parity_folder(model: Pixtral, model_dir: str, out: str, data: str) -> None:
    """out: a fixture folder (both layouts, cases, manifest) for `model`, on the first two examples of
    `data` (an encoded split) whose grids differ."""
    ref = round_to_bf16_(copy.deepcopy(model).float().eval())
    reader = ShardReader()
    records = read_split(data)
    first = records[0]
    second = next(r for r in records[1:] if (r.grid_h, r.grid_w) != (first.grid_h, first.grid_w))
    inputs, outputs = build_cases(ref, [reader.load(first), reader.load(second)])

    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "hf"))
    for name in ("consolidated.safetensors", "params.json", "tekken.json"):
        shutil.copyfile(os.path.join(model_dir, name), os.path.join(out, name))
    params = model.args.to_params()
    # The hf layout holds the very same bf16 bits, q/k rows permuted (spec a.3).
    mistral_bits = _bf16_bits_of(os.path.join(out, "consolidated.safetensors"))
    hf_bits = {}
    for name, b in mistral_bits.items():
        n = mf.qk_heads_of(name, params)
        hf_bits[mf.mistral_to_hf_name(name)] = mf.permute_rows_to_hf(b, n) if n else b
    mf.write_safetensors(os.path.join(out, "hf", "model.safetensors"), hf_bits)
    with open(os.path.join(out, "hf", "config.json"), "w") as f:
        json.dump(mf.hf_config(params), f, indent=2)

    cases = {}
    for name, (description, tol) in CASE_META.items():
        cases[name] = {
            "description": description,
            "inputs": {k: mf.write_bin(out, name, k, a) for k, a in inputs[name].items()},
            "outputs": {k: mf.write_bin(out, name, k, a) for k, a in outputs[name].items()},
            "tolerance": tol,
        }
    margins = {n: float(np.min(outputs[n]["top2_margin"])) for n in ("mm_single", "mm_pair", "text_only")}
    manifest = {
        "model": os.path.basename(os.path.normpath(model_dir)),
        "generator": "tools/sketch-model/parity.py (PyTorch model.py, float32 math on the bf16-rounded weights)",
        "reference": {"torch": torch.__version__, "compute_dtype": "float32", "examples": [first.id, second.id]},
        "seed": 0,
        "special_tokens": mf.SPECIAL_TOKENS,
        "weights": {
            "dtype": "bf16 (stored); the reference computed in float32 from exactly these values",
            "mistral": {"file": "consolidated.safetensors", "params": "params.json", "sha256": mf.sha256_file(os.path.join(out, "consolidated.safetensors"))},
            "hf": {"file": "hf/model.safetensors", "config": "hf/config.json", "sha256": mf.sha256_file(os.path.join(out, "hf", "model.safetensors"))},
        },
        "preprocessing_defaults": {"longest_edge": params["vision_encoder"]["image_size"], "patch_size": params["vision_encoder"]["patch_size"],
                                   "note": "no preprocess cases: pixel_values come from the encoded data (the product's preprocessing)"},
        "cases": cases,
        "cross_checks": {"greedy_no_cache_equal": True, "min_top2_margin": margins},
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote parity folder {out}: cases {list(cases)}; min top-2 margins {margins}")


def _bf16_bits_of(path: str) -> dict[str, np.ndarray]:
    """Raw uint16 bit arrays of a bf16 safetensors file (so the hf copy holds the very same bits)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s:8 + n + e], dtype="<u2").reshape(info["shape"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", action="store_true", help="a randomly initialised model (before training)")
    ap.add_argument("--checkpoint", help="a train.py checkpoint")
    ap.add_argument("--config", help="model sizes, with --random")
    ap.add_argument("--tekken", required=True)
    ap.add_argument("--data", required=True, help="an encoded split (encode.ts output), e.g. ENCODED/eval")
    ap.add_argument("--out", required=True, help="parity folder to (re)create")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    if a.random:
        from train import model_args
        model = randomize_for_parity(Pixtral(model_args(a.config, a.tekken)), a.seed)
    else:
        from export import load_checkpoint_model
        model, _ = load_checkpoint_model(a.checkpoint)
    model.eval()
    model_dir = a.out.rstrip("/") + "-model"
    write_model_folder(model, a.tekken, model_dir)
    write_parity_folder(model, model_dir, a.out, a.data)
    shutil.rmtree(model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
