"""Repacks encoded training shards (encode.ts) into small WebP-image chunks that fit the GPU machine's
64 MiB transfer (tools/sketch-model/train_on_h200.sh trains on them).

    /usr/bin/python3 tools/sketch-model/pack_for_gpu.py --data ENCODED --out DIR --chunk-mb 17,57

Same shard layout as encode.ts (u16 ids, then the image), with "imageCodec": "webp" in the index
(data.py decodes either). Charts and screenshots are lossless (thin text and legend swatches);
sketches are lossy at --sketch-quality (their paper noise is what costs bytes, and it is noise: the
strokes survive). Examples are drawn in a seeded order that interleaves the tasks, so every chunk is
a balanced sample and the first chunk alone is a usable training set.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import PATCH, read_split  # noqa: E402


def webp_bytes(rgb: np.ndarray, task: str, sketch_quality: int) -> bytes:
    buf = io.BytesIO()
    if task == "sketch":
        Image.fromarray(rgb).save(buf, format="WEBP", quality=sketch_quality, method=4)
    else:
        Image.fromarray(rgb).save(buf, format="WEBP", lossless=True, method=4)
    return buf.getvalue()


def interleaved(records, seed: int, share: dict[str, float]):
    """Records in a seeded order where each task appears at its share of the stream."""
    rng = random.Random(seed)
    by_task: dict[str, list] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    placed = []
    for task, rs in by_task.items():
        rng.shuffle(rs)
        step = 1.0 / share.get(task, 1.0)
        placed += [(i * step + rng.random(), task, r.id, r) for i, r in enumerate(rs)]
    return [r for *_, r in sorted(placed, key=lambda t: t[:3])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="encode.ts output folder")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunk-mb", default="17,57", help="sizes of the chunks (MB), in order")
    ap.add_argument("--sketch-quality", type=int, default=75)
    ap.add_argument("--share", default="sketch=1,screenshot=0.3,chart=0.6", help="relative rate of each task in the stream")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    share = {k: float(v) for k, v in (kv.split("=") for kv in args.share.split(","))}
    order = interleaved(read_split(os.path.join(args.data, args.split)), args.seed, share)
    limits = [float(x) * 1e6 for x in args.chunk_mb.split(",")]
    maps: dict[str, np.memmap] = {}
    pos = 0
    for c, limit in enumerate(limits):
        folder = os.path.join(args.out, chr(ord("a") + c), args.split)
        os.makedirs(folder, exist_ok=True)
        size, counts = 0, {}
        with open(os.path.join(folder, "shard-00000.bin"), "wb") as shard, open(os.path.join(folder, "index.jsonl"), "w") as index:
            while pos < len(order):
                r = order[pos]
                m = maps.get(r.path)
                if m is None:
                    m = maps[r.path] = np.memmap(r.path, dtype=np.uint8, mode="r")
                n_ids = r.prompt_length + r.target_length
                ids = m[r.offset:r.offset + 2 * n_ids].tobytes()
                start = r.offset + 2 * n_ids
                rgb = np.frombuffer(zlib.decompress(m[start:start + r.image_bytes].tobytes()), dtype=np.uint8)
                image = webp_bytes(rgb.reshape(r.grid_h * PATCH, r.grid_w * PATCH, 3), r.task, args.sketch_quality)
                if size + len(ids) + len(image) > limit:
                    break
                index.write(json.dumps({
                    "id": r.id, "task": r.task, "style": r.style, "shard": "shard-00000.bin", "offset": size,
                    "promptLength": r.prompt_length, "targetLength": r.target_length, "prefixLength": r.prefix_length,
                    "gridH": r.grid_h, "gridW": r.grid_w, "imageBytes": len(image), "imageCodec": "webp"}) + "\n")
                shard.write(ids)
                shard.write(image)
                size += len(ids) + len(image)
                counts[r.task] = counts.get(r.task, 0) + 1
                pos += 1
        print(f"chunk {chr(ord('a') + c)}: {size / 1e6:.1f} MB, {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
