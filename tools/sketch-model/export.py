"""Export stage: a model (model.py) -> the folder the product loads unchanged:
consolidated.safetensors (bf16, Mistral names), params.json (the keys of Pixtral-12B's) and
tekken.json (the learned tokenizer). Optionally also a parity folder (parity.py) with reference
outputs in the fixture schema, so that the engine's generic parity suite runs on this model.

    /usr/bin/python3 tools/sketch-model/export.py --checkpoint CKPT.pt --out DIR [--parity DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_fixture import write_safetensors  # noqa: E402  (one safetensors writer for all tools)

from model import ModelArgs, Pixtral  # noqa: E402


def bf16_state(model: Pixtral) -> dict[str, np.ndarray]:
    """Every tensor rounded to bf16 (round to nearest even), as uint16 bit patterns, Mistral names."""
    out = {}
    for name, t in model.state_dict().items():
        bits = t.detach().float().contiguous().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        out[name] = bits
    return out


def round_to_bf16_(model: Pixtral) -> Pixtral:
    """In place: the float32 weights become exactly the stored bf16 values (for references)."""
    with torch.no_grad():
        for p in model.state_dict().values():
            p.copy_(p.to(torch.bfloat16).float())
    return model


def write_model_folder(model: Pixtral, tekken_path: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "consolidated.safetensors"), bf16_state(model))
    with open(os.path.join(out, "params.json"), "w") as f:
        json.dump(model.args.to_params(), f, indent=2)
        f.write("\n")
    if os.path.abspath(tekken_path) != os.path.abspath(os.path.join(out, "tekken.json")):
        shutil.copyfile(tekken_path, os.path.join(out, "tekken.json"))


def load_checkpoint_model(path: str) -> tuple[Pixtral, dict]:
    ckpt = torch.load(path, map_location="cpu")
    model = Pixtral(ModelArgs.from_params(ckpt["params"]))
    model.load_state_dict(ckpt["model"])
    return model, ckpt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a checkpoint written by train.py")
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--tekken", help="tekken.json (default: the one recorded in the checkpoint)")
    ap.add_argument("--parity", help="also write a fixture-schema parity folder here")
    ap.add_argument("--parity-data", help="encoded split (encode.ts output) whose first examples the parity cases use")
    a = ap.parse_args(argv)
    model, ckpt = load_checkpoint_model(a.checkpoint)
    model.eval()
    tekken = a.tekken or ckpt["tekken"]
    write_model_folder(model, tekken, a.out)
    print(f"wrote {a.out} (step {ckpt.get('step')})")
    if a.parity:
        from parity import write_parity_folder
        write_parity_folder(model, a.out, a.parity, a.parity_data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
