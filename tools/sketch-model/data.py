"""Training-data stage 3: the shards written by encode.ts -> batches for train.py.

Python does no tokenising and no resizing: prompts, targets and image grids are the product's own
(example-encoding.ts). Here pixels are only normalised (spec f.1 step 4: x/255, CLIP mean/std), and
examples are grouped so that CPU time goes into target tokens:
  * a batch holds one prompt only (same prefix: the task's system prompt), whose K/V the model
    computes once and shares (model.forward_hidden);
  * batches are cut from length-sorted runs under a token budget, so padding stays small;
  * the order of batches is a seeded shuffle; the plan is rebuilt from the epoch's unseen examples
    whenever the encoder has added examples (the data grows while the model trains), and the plan,
    its position and the epoch's seen examples are in the checkpoint, so a resumed run continues
    with the very next batch.
"""
from __future__ import annotations

import json
import os
import random
import zlib
from dataclasses import dataclass

import numpy as np
import torch

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
PAD_ID = 11  # <pad>: never a label (masked), only fills rows to the batch's length
PATCH = 16


@dataclass
class Record:
    id: str
    task: str
    style: object
    path: str  # shard file
    offset: int
    prompt_length: int
    target_length: int
    prefix_length: int
    grid_h: int
    grid_w: int
    image_bytes: int
    image_codec: str = "zlib"  # encode.ts: zlib-deflated RGB; pack_for_gpu.py: "webp"

    @property
    def tokens(self) -> int:
        return self.prompt_length + self.target_length


@dataclass
class Example:
    prompt: np.ndarray  # [Tp] int64, [BOS] … [/INST]
    target: np.ndarray  # [Tt] int64, target ids + EOS
    pixels: torch.Tensor  # [3, 16·gh, 16·gw] float32, normalised
    record: Record


def read_split(folder: str) -> list[Record]:
    records = []
    with open(os.path.join(folder, "index.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            j = json.loads(line)
            records.append(Record(j["id"], j["task"], j.get("style"), os.path.join(folder, j["shard"]), j["offset"],
                                  j["promptLength"], j["targetLength"], j["prefixLength"], j["gridH"], j["gridW"], j["imageBytes"],
                                  j.get("imageCodec", "zlib")))
    return records


class ShardReader:
    """Reads records from memory-mapped shard files. With keep=True the decoded ids and pixels stay in
    memory (a GPU run decodes every example once, in parallel, instead of once per epoch)."""

    def __init__(self, keep: bool = False, device: str = "cpu"):
        self.device = device  # where pixels are normalised (a GPU run does it there)
        self.maps: dict[str, np.memmap] = {}
        self.kept: dict[str, tuple[np.ndarray, np.ndarray]] | None = {} if keep else None

    def raw(self, r: Record) -> tuple[np.ndarray, np.ndarray]:
        """-> ids [Tp + Tt] int64, rgb [H, W, 3] uint8."""
        if self.kept is not None and r.id in self.kept:
            return self.kept[r.id]
        m = self.maps.get(r.path)
        if m is None:
            m = self.maps[r.path] = np.memmap(r.path, dtype=np.uint8, mode="r")
        n_ids = r.prompt_length + r.target_length
        ids = np.frombuffer(m[r.offset:r.offset + 2 * n_ids].tobytes(), dtype="<u2").astype(np.int64)
        start = r.offset + 2 * n_ids
        rgb = decode_image(m[start:start + r.image_bytes].tobytes(), r.image_codec)
        rgb = rgb.reshape(r.grid_h * PATCH, r.grid_w * PATCH, 3)
        if self.kept is not None:
            self.kept[r.id] = (ids, rgb)
        return ids, rgb

    def preload(self, records: list[Record], workers: int) -> None:
        """Decodes every record into memory with a process pool (keep=True only)."""
        from concurrent.futures import ProcessPoolExecutor
        todo = [r for r in records if r.id not in self.kept]
        with ProcessPoolExecutor(workers) as pool:
            for r, raw in zip(todo, pool.map(_decode_record, todo, chunksize=64)):
                self.kept[r.id] = raw

    def load(self, r: Record) -> Example:
        ids, rgb = self.raw(r)
        return Example(ids[:r.prompt_length], ids[r.prompt_length:], normalise(rgb, self.device), r)


def _decode_record(r: Record) -> tuple[np.ndarray, np.ndarray]:
    return ShardReader().raw(r)


def decode_image(data: bytes, codec: str) -> np.ndarray:
    if codec == "zlib":
        return np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    if codec == "webp":
        import io
        from PIL import Image
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    raise ValueError(f"unknown image codec {codec!r}")


def normalise(rgb: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """[H, W, 3] uint8 -> [3, H, W] float32 on device, (x/255 − mean)/std per channel."""
    x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).to(device).float()  # a writable copy
    mean = torch.from_numpy(CLIP_MEAN).to(device)
    std = torch.from_numpy(CLIP_STD).to(device)
    return ((x / 255.0 - mean) / std).permute(2, 0, 1).contiguous()


def in_epoch(r: Record, epoch: int, task_weights: dict[str, float] | None) -> bool:
    """Whether an example takes part in an epoch: a fixed draw per (example, epoch), so re-planning
    mid-epoch (new data) never re-rolls it. task_weights: the chance per task (default 1)."""
    weight = (task_weights or {}).get(r.task, 1.0)
    return weight >= 1.0 or zlib.crc32(f"{epoch}:{r.id}".encode()) / 2**32 < weight


def plan_batches(records: list[Record], seed: int, max_tokens: int, max_rows: int) -> list[list[str]]:
    """Batches of example ids: one prompt prefix per batch, similar lengths, at most max_tokens
    (rows × longest row) and max_rows rows. Each prompt's batches in a seeded random order, and the
    prompts' sequences spread evenly into one another, so that consecutive batches (the micro-batches
    of one optimiser step) mix the tasks instead of pulling the model one task at a time."""
    rng = random.Random(seed)
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        groups.setdefault((r.task == "chart", r.prefix_length), []).append(r)
    per_group = []
    for key in sorted(groups):
        batches = []
        rs = groups[key]
        rng.shuffle(rs)  # ties in length fall in a different order every time
        rs.sort(key=lambda r: r.tokens)
        batch: list[Record] = []
        for r in rs:
            longest = max([r.tokens] + [b.tokens for b in batch])
            if batch and (longest * (len(batch) + 1) > max_tokens or len(batch) >= max_rows):
                batches.append([b.id for b in batch])
                batch = []
            batch.append(r)
        if batch:
            batches.append([b.id for b in batch])
        rng.shuffle(batches)
        per_group.append(batches)
    # Merge: batch i of a group of n sits at fraction (i + 0.5)/n of the run (ties: group order).
    placed = [((i + 0.5) / len(bs), g, b) for g, bs in enumerate(per_group) for i, b in enumerate(bs)]
    return [b for _, _, b in sorted(placed, key=lambda t: (t[0], t[1]))]


@dataclass
class Batch:
    prefix: torch.Tensor  # [P] shared prompt prefix
    ids: torch.Tensor  # [B, T] inputs after the prefix, right-padded
    labels: torch.Tensor  # [B, T] next token, -100 where no loss (prompt, padding)
    images: list[torch.Tensor]  # B × [3, H, W]
    tasks: list[str]
    target_tokens: int


def collate(examples: list[Example]) -> Batch:
    """Sequence s = prompt ‖ target; inputs s[P:-1], labels s[P+1:], loss only on target tokens (EOS too)."""
    P = examples[0].record.prefix_length
    prefix = examples[0].prompt[:P]
    for e in examples:
        if e.record.prefix_length != P or not np.array_equal(e.prompt[:P], prefix):
            raise ValueError("a batch must share one prompt prefix")
    T = max(len(e.prompt) + len(e.target) - 1 - P for e in examples)
    ids = torch.full((len(examples), T), PAD_ID, dtype=torch.long)
    labels = torch.full((len(examples), T), -100, dtype=torch.long)
    for b, e in enumerate(examples):
        s = np.concatenate([e.prompt, e.target])
        n = len(s) - 1 - P
        ids[b, :n] = torch.from_numpy(s[P:-1])
        first = len(e.prompt) - 1 - P  # the [/INST] position predicts the first target token
        labels[b, first:n] = torch.from_numpy(s[P + 1 + first:])
    return Batch(torch.from_numpy(prefix), ids, labels, [e.pixels for e in examples],
                 [e.record.task for e in examples], int(sum(len(e.target) for e in examples)))
