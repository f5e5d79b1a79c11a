"""Training stage: the small built-in sketch model (model.py) on the encoded shards (encode.ts,
data.py). Seeded, resumable (model, optimiser, step, RNG and the position in the epoch's batch plan
are all in the checkpoint), logs loss and tokens/s, periodically evaluates, exports the model folder
and samples one held-out image with the product's own CLI.

CPU (Debian's python3-torch, 2 threads, bf16 autocast: 3-4x faster than fp32 on this AVX512-BF16 CPU):
    nice -n 10 /usr/bin/python3 tools/sketch-model/train.py --data /work/data/sketch-model/encoded \
        --tekken /work/data/sketch-model/tekken.json --out /work/data/sketch-model/run
GPU (same command, larger batches and more steps):
    python3 tools/sketch-model/train.py ... --device cuda --batch-tokens 65536 --max-rows 64 --steps 20000 --decay-steps 3000
Run the same command again to resume from <out>/checkpoint.pt.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Batch, ShardReader, collate, in_epoch, plan_batches, read_split  # noqa: E402
from model import ModelArgs, Pixtral, parameter_counts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="encode.ts output folder (holds <split>/index.jsonl)")
    ap.add_argument("--train-splits", default="train")
    ap.add_argument("--eval-split", default="eval")
    ap.add_argument("--tekken", required=True, help="the tekken.json the data was encoded with")
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"), help="model sizes (params.json without vocab_size)")
    ap.add_argument("--out", required=True, help="run folder: checkpoint.pt, train.log, export/")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=4000, help="optimiser steps; the learning rate decays over the last --decay-steps")
    ap.add_argument("--batch-tokens", type=int, default=9000, help="tokens per micro-batch (rows x longest row)")
    ap.add_argument("--max-rows", type=int, default=12, help="rows per micro-batch at most")
    ap.add_argument("--accum", type=int, default=2, help="micro-batches per optimiser step (each weighs the same)")
    ap.add_argument("--replan-every", type=int, default=50, help="steps between looks for newly encoded examples")
    ap.add_argument("--replan", action="store_true", help="on resume, plan the epoch's remaining examples afresh (after changing batch flags)")
    ap.add_argument("--task-weights", default="chart=0.5",
                    help="chance that an example of a task is in an epoch, e.g. chart=0.5: charts cost most of a page's "
                         "compute (the image) for a tenth of its target tokens")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--decay-steps", type=int, default=400, help="linear decay to min-lr-ratio over the run's last steps")
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="autocast dtype of matmuls")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="wall-clock budget of this run (0: none): training stops when it is spent, and the learning "
                         "rate decays over its last --decay-share instead of over --decay-steps")
    ap.add_argument("--decay-share", type=float, default=0.25)
    ap.add_argument("--preload", type=int, default=0, help="decode every example into memory first, with N processes (0: read as needed)")
    ap.add_argument("--save-minutes", type=float, default=15.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-examples", type=int, default=24)
    ap.add_argument("--export-every", type=int, default=400, help="steps between export + CLI sample (0: never)")
    ap.add_argument("--source", help="the generator's data folder (<split>/<id>.png): samples use the first eval image")
    ap.add_argument("--sample-image", help="image the periodic sample runs on (default: the first eval example's, with --source)")
    ap.add_argument("--cli", default=os.path.join(REPO, "dist", "cli.js"), help="the product's CLI used for samples")
    return ap.parse_args(argv)


def log(out: str, text: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
    print(line, flush=True)
    with open(os.path.join(out, "train.log"), "a") as f:
        f.write(line + "\n")


def model_args(config_path: str, tekken_path: str) -> ModelArgs:
    with open(config_path) as f:
        params = json.load(f)
    with open(tekken_path) as f:
        params["vocab_size"] = json.load(f)["config"]["default_vocab_size"]
    return ModelArgs.from_params(params)


def optimizer_for(model: Pixtral, args) -> torch.optim.Optimizer:
    """AdamW; no weight decay on norms and biases (they set scales and offsets, not features)."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    keep = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                             **({"fused": True} if args.device.startswith("cuda") else {}))


def lr_at(step: int, args, elapsed: float = 0.0) -> float:
    """Warmup, then constant, then a linear decay over the last decay_steps (warmup-stable-decay).
    An open-ended CPU run keeps the constant rate and needs no horizon: resuming with
    --steps <current + decay_steps> turns it into the final decay whenever the model is wanted."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    if args.minutes:  # a timed run: its horizon is the clock, not a step count
        left_share = 1 - elapsed / (args.minutes * 60)
        if left_share >= args.decay_share:
            return args.lr
        return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * max(0.0, left_share) / args.decay_share)
    left = args.steps - step
    if left >= args.decay_steps:
        return args.lr
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * max(0, left) / args.decay_steps)


def batch_loss(model: Pixtral, batch: Batch, device: str, precision: str):
    """-> summed cross-entropy over the batch's target tokens, and per-task (sum, count)."""
    with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
        features = model.image_features([im.to(device) for im in batch.images])
        hidden = model.forward_hidden(batch.prefix.to(device), batch.ids.to(device), features)  # [B, T, D]
        labels = batch.labels.to(device)
        where = labels != -100
        logits = model.logits(hidden[where])  # [N, V]: the head runs on target positions only
    losses = F.cross_entropy(logits.float(), labels[where], reduction="none")  # [N]
    rows = where.nonzero()[:, 0]
    per_task: dict[str, tuple[float, int]] = {}
    for b, task in enumerate(batch.tasks):
        sel = losses[rows == b]
        s, n = per_task.get(task, (0.0, 0))
        per_task[task] = (s + float(sel.detach().sum()), n + sel.numel())
    return losses.sum(), per_task


class Run:
    """Everything a checkpoint restores."""

    def __init__(self, args):
        self.args = args
        self.margs = model_args(args.config, args.tekken)
        torch.manual_seed(args.seed)
        self.model = Pixtral(self.margs)  # initialised on the CPU: seeded the same on every device
        self.model.init_weights(torch.Generator().manual_seed(args.seed))
        self.model.to(args.device)
        self.opt = optimizer_for(self.model, args)
        self.step = 0
        self.epoch = 0
        self.plan: list[list[str]] = []
        self.plan_pos = 0
        self.plans_made = 0
        self.seen: set[str] = set()  # examples already trained on in this epoch
        self.examples_seen = 0
        self.target_tokens_seen = 0
        self.train_seconds = 0.0
        self.reader = ShardReader(keep=args.preload > 0, device=args.device)
        self.records = {}

    @property
    def path(self) -> str:
        return os.path.join(self.args.out, "checkpoint.pt")

    def save(self) -> None:
        state = {
            "params": self.margs.to_params(), "model": self.model.state_dict(), "opt": self.opt.state_dict(),
            "step": self.step, "epoch": self.epoch, "plan": self.plan, "plan_pos": self.plan_pos,
            "plans_made": self.plans_made, "seen": sorted(self.seen),
            "examples_seen": self.examples_seen, "target_tokens_seen": self.target_tokens_seen,
            "train_seconds": self.train_seconds, "tekken": os.path.abspath(self.args.tekken),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}, "args": vars(self.args),
        }
        tmp = self.path + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.path)  # atomic: a kill mid-save leaves the previous checkpoint

    def restore(self) -> bool:
        if not os.path.exists(self.path):
            return False
        s = torch.load(self.path, map_location=self.args.device)
        if s["params"] != self.margs.to_params():
            raise SystemExit(f"{self.path} was trained with other sizes or another tokenizer: {s['params']}")
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        for k in ("step", "epoch", "plan", "plan_pos", "plans_made", "examples_seen", "target_tokens_seen", "train_seconds"):
            setattr(self, k, s[k])
        self.seen = set(s["seen"])
        self.refresh_records()
        torch.set_rng_state(s["rng"]["torch"])
        np.random.set_state(s["rng"]["numpy"])
        return True

    def refresh_records(self) -> None:
        """Re-reads the indexes: examples encoded since the last epoch join the next plan."""
        self.records = {}
        for split in self.args.train_splits.split(","):
            for r in read_split(os.path.join(self.args.data, split)):
                self.records[r.id] = r

    def replan(self) -> None:
        """A new plan over this epoch's examples not trained on yet (all of them read afresh)."""
        self.refresh_records()
        weights = {k: float(v) for k, v in (kv.split("=") for kv in self.args.task_weights.split(",") if kv)}
        todo = [r for r in self.records.values() if r.id not in self.seen and in_epoch(r, self.epoch, weights)]
        if not todo:  # the epoch is done: start the next one
            self.epoch += 1
            self.seen = set()
            todo = [r for r in self.records.values() if in_epoch(r, self.epoch, weights)]
        self.plans_made += 1
        self.plan = plan_batches(todo, self.args.seed * 1_000_003 + self.plans_made, self.args.batch_tokens, self.args.max_rows)
        self.plan_pos = 0

    def next_batch(self) -> Batch:
        grown = self.step % self.args.replan_every == 0 and self.index_size() != len(self.records)
        if self.plan_pos >= len(self.plan) or grown:
            self.replan()
        ids = self.plan[self.plan_pos]
        self.plan_pos += 1
        self.seen.update(ids)
        if any(i not in self.records for i in ids):
            self.refresh_records()
        return collate([self.reader.load(self.records[i]) for i in ids])

    def index_size(self) -> int:
        """Lines in the training indexes now (cheap: counts newlines)."""
        total = 0
        for split in self.args.train_splits.split(","):
            with open(os.path.join(self.args.data, split, "index.jsonl"), "rb") as f:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        return total


def evaluate(run: Run, records) -> dict[str, float]:
    run.model.eval()
    sums: dict[str, list[float]] = {}
    with torch.no_grad():
        for r in records:
            loss, per_task = batch_loss(run.model, collate([run.reader.load(r)]), run.args.device, run.args.precision)
            for task, (s, n) in per_task.items():
                acc = sums.setdefault(task, [0.0, 0])
                acc[0] += s
                acc[1] += n
    run.model.train()
    return {task: s / max(n, 1) for task, (s, n) in sums.items()}


def export_and_sample(run: Run, image: str | None) -> None:
    """Writes <out>/export (a loadable model folder) and lets the product's CLI answer one image."""
    from export import write_model_folder
    folder = os.path.join(run.args.out, "export")
    model = Pixtral(run.margs)
    model.load_state_dict({k: v.detach().cpu() for k, v in run.model.state_dict().items()})
    write_model_folder(model, run.args.tekken, folder)
    if not image or not os.path.exists(run.args.cli):
        return
    try:
        res = subprocess.run(["node", run.args.cli, "html", image, "--model", folder, "--max-tokens", "1500", "--temperature", "0"],
                             capture_output=True, text=True, timeout=600, cwd=REPO)
        stats = [l for l in res.stderr.splitlines() if "tok/s" in l]
        log(run.args.out, f"sample step {run.step}: {stats[-1] if stats else res.stderr.strip()[-300:]}\n{res.stdout[:3000]}")
    except (subprocess.SubprocessError, OSError) as err:
        log(run.args.out, f"sample step {run.step} failed: {err}")


# glibc returns every large freed tensor to the OS and page-faults it back on the next allocation;
# on this VM that made elementwise passes over the attention scores ~50x slower than the math.
# Keeping freed memory in the process (tunables read at start-up, hence the re-exec) fixes it.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "68719476736", "MALLOC_TOP_PAD_": "1073741824"}


def reexec_with_malloc_tunables() -> None:
    if all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        return
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})


def main(argv=None) -> int:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    run = Run(args)
    resumed = run.restore()
    if resumed and args.replan:
        run.replan()
    counts = parameter_counts(run.model)
    log(args.out, f"{'resumed at step ' + str(run.step) if resumed else 'new run'}; params {counts}; args {vars(args)}")
    eval_records = read_split(os.path.join(args.data, args.eval_split))[: args.eval_examples] if args.eval_split else []
    sample_image = args.sample_image
    if not sample_image and eval_records and args.source:
        sample_image = os.path.join(args.source, args.eval_split, eval_records[0].id + ".png")

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    if args.preload:
        t0 = time.time()
        run.refresh_records()
        run.reader.preload(list(run.records.values()), args.preload)
        log(args.out, f"decoded {len(run.records)} examples in {time.time() - t0:.1f} s")
    last_save = started = time.time()
    run.model.train()
    while run.step < args.steps and not stop["now"]:
        t0 = time.time()
        if args.minutes and t0 - started > args.minutes * 60:
            break
        batches = [run.next_batch() for _ in range(args.accum)]
        total = sum(b.target_tokens for b in batches)
        # Every micro-batch weighs the same (its mean over its target tokens): a chart batch has a
        # tenth of a page batch's target tokens, and per-token weighting would all but ignore it.
        lr = lr_at(run.step, args, t0 - started)
        for g in run.opt.param_groups:
            g["lr"] = lr
        per_task: dict[str, list[float]] = {}
        loss_sum = 0.0
        for b in batches:
            loss, tasks = batch_loss(run.model, b, args.device, args.precision)
            (loss / (b.target_tokens * len(batches))).backward()
            loss_sum += float(loss.detach())
            for task, (s, n) in tasks.items():
                acc = per_task.setdefault(task, [0.0, 0])
                acc[0] += s
                acc[1] += n
        grad_norm = float(torch.nn.utils.clip_grad_norm_(run.model.parameters(), 1.0))
        if math.isfinite(grad_norm):
            run.opt.step()
        else:  # one bad batch must not poison the weights (bf16 overflow): skip its update
            log(args.out, f"step {run.step + 1}: non-finite gradient, update skipped")
        run.opt.zero_grad(set_to_none=True)
        run.step += 1
        dt = time.time() - t0
        run.train_seconds += dt
        rows = sum(b.ids.shape[0] for b in batches)
        tokens = sum(int((b.ids != 11).sum()) + b.prefix.numel() for b in batches)
        run.examples_seen += rows
        run.target_tokens_seen += total
        tasks_text = " ".join(f"{t}={s / n:.3f}" for t, (s, n) in sorted(per_task.items()))
        log(args.out, f"step {run.step} loss {loss_sum / total:.4f} [{tasks_text}] lr {lr:.2e} gnorm {grad_norm:.2f} "
                      f"rows {rows} tok/s {tokens / dt:.0f} target tok/s {total / dt:.0f} {dt:.1f}s "
                      f"epoch {run.epoch} seen {run.examples_seen} hours {run.train_seconds / 3600:.2f}")
        if eval_records and run.step % args.eval_every == 0:
            log(args.out, f"eval step {run.step}: " + " ".join(f"{t}={v:.4f}" for t, v in sorted(evaluate(run, eval_records).items())))
        if time.time() - last_save > args.save_minutes * 60:
            run.save()
            last_save = time.time()
        if args.export_every and run.step % args.export_every == 0:
            run.save()
            export_and_sample(run, sample_image)
    run.save()
    log(args.out, f"saved {run.path} at step {run.step}")
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    sys.exit(main())
