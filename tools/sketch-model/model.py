"""Pixtral in PyTorch, written from ../../../shared/spec/pixtral.md (a)-(e), for training the small
built-in sketch model. Role in the pipeline: the trainable twin of what the native engine runs; the
export (export.py) writes these exact tensors, under these exact names, to consolidated.safetensors.

* Vision encoder (spec b): patch conv without bias, ln_pre RMSNorm, 2D RoPE, pre-norm SwiGLU blocks,
  attention only inside each image (block-diagonal), no final norm. RMSNorm eps 1e-5 always.
* Adapter (spec c): Linear + bias, exact erf GELU, Linear + bias.
* Decoder (spec e): Mistral, GQA, 1D RoPE, RMSNorm, SwiGLU, untied output head, no biases.
* RoPE pairs are the Mistral layout's interleaved pairs (2i, 2i+1) (spec a.3), so the module tree's
  state_dict keys and tensors are the Mistral checkpoint as it is.

Shapes in comments: S = vision tokens (all images of a batch), B = batch, T = text positions,
P = shared prompt prefix, D = dim, Dv = vision hidden, H/K = query/kv heads, hd = head dim,
V = vocab, F = FFN hidden.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

VISION_EPS = 1e-5  # spec a.1: hard-coded in Pixtral's vision encoder


@dataclass
class VisionArgs:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    image_size: int
    patch_size: int = 16
    num_channels: int = 3
    rope_theta: float = 10000.0
    image_token_id: int = 10
    image_break_token_id: int = 12
    image_end_token_id: int = 13
    adapter_bias: bool = True


@dataclass
class ModelArgs:
    """The keys of params.json (spec a.1), read and written as they are."""
    dim: int
    n_layers: int
    head_dim: int
    hidden_dim: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    vision_encoder: VisionArgs
    rope_theta: float = 1e9
    norm_eps: float = 1e-5
    max_seq_len: int = 8192

    @staticmethod
    def from_params(params: dict) -> "ModelArgs":
        fields = dict(params)
        fields["vision_encoder"] = VisionArgs(**params["vision_encoder"])
        return ModelArgs(**fields)

    def to_params(self) -> dict:
        out = dict(self.__dict__)
        out["vision_encoder"] = dict(self.vision_encoder.__dict__)
        return out


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32 (spec e), then multiply by the weight; the result stays fp32.
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates interleaved pairs (2i, 2i+1) of every head: x [..., T, n, hd], cos/sin [T, hd/2]."""
    pairs = x.float().unflatten(-1, (-1, 2))  # [..., T, n, hd/2, 2]
    a, b = pairs[..., 0], pairs[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]  # broadcast over heads
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2).type_as(x)


def rope_1d(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder angles (spec e.3): pair i of position p turns by p·theta^(−2i/hd). -> cos, sin [T, hd/2]."""
    freqs = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim)
    ang = positions.float()[:, None] * freqs[None, :]
    return ang.cos(), ang.sin()


def rope_2d(grid_h: int, grid_w: int, head_dim: int, theta: float, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Vision angles (spec b.4): rows use the even base frequencies, columns the odd ones, concatenated.
    -> cos, sin [grid_h·grid_w, hv/2] in row-major patch order."""
    freqs = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim)  # [hv/2]
    rows = torch.arange(grid_h, dtype=torch.float32, device=device)[:, None] * freqs[None, ::2]  # [h, hv/4]
    cols = torch.arange(grid_w, dtype=torch.float32, device=device)[:, None] * freqs[None, 1::2]  # [w, hv/4]
    ang = torch.cat([rows[:, None, :].expand(-1, grid_w, -1), cols[None, :, :].expand(grid_h, -1, -1)], dim=-1)
    ang = ang.reshape(grid_h * grid_w, head_dim // 2)
    return ang.cos(), ang.sin()


class Attention(nn.Module):
    """Projections of one attention layer (no biases); the attention pattern is the caller's."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, head_dim: int):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.wq = nn.Linear(dim, n_heads * head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
        self.wo = nn.Linear(n_heads * head_dim, dim, bias=False)

    def qkv(self, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        """h [..., T, dim] -> q [..., T, H, hd], k/v [..., T, K, hd], q and k rotated."""
        q = self.wq(h).unflatten(-1, (self.n_heads, self.head_dim))
        k = self.wk(h).unflatten(-1, (self.n_kv_heads, self.head_dim))
        v = self.wv(h).unflatten(-1, (self.n_kv_heads, self.head_dim))
        return rope(q, cos, sin), rope(k, cos, sin), v


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))  # SwiGLU (spec b.5.5, e.7)


class Block(nn.Module):
    """The pre-norm transformer block of both towers: the same nine tensors under the same names."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, head_dim: int, hidden: int, eps: float):
        super().__init__()
        self.attention_norm = RMSNorm(dim, eps)
        self.attention = Attention(dim, n_heads, n_kv_heads, head_dim)
        self.ffn_norm = RMSNorm(dim, eps)
        self.feed_forward = FeedForward(dim, hidden)

    def finish(self, x: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
        """Residual adds after attention: attn [..., T, H, hd] -> the block's output [..., T, dim]."""
        x = x + self.attention.wo(attn.flatten(-2))
        return x + self.feed_forward(self.ffn_norm(x))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """q [B, Tq, H, hd], k/v [B, Tk, K, hd], mask [Tq, Tk] bool (True = may attend) or None.
    GQA: query head j reads kv head j // (H/K). -> [B, Tq, H, hd].
    Runs in the inputs' dtype with autocast off: in training that is bf16 end to end, because the
    [B, H, Tq, Tk] scores are the largest tensors of a step and each cast or extra pass over them
    costs more than the matmuls (softmax accumulates in fp32 inside); references run in fp32.
    (Chunking the query rows to skip masked keys was slower on the CPU: slicing's backward pass
    writes a zero-filled gradient of the whole key tensor per chunk.)"""
    B, Tk, K, hd = k.shape
    H = q.shape[2]
    if q.is_cuda:  # fused kernels there: no [B, H, Tq, Tk] tensor in memory
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                             attn_mask=mask, enable_gqa=H != K)
        return out.transpose(1, 2)
    if H != K:  # each kv head serves its group of query heads (a view plus one copy)
        k = k[:, :, :, None, :].expand(B, Tk, K, H // K, hd).reshape(B, Tk, H, hd)
        v = v[:, :, :, None, :].expand(B, Tk, K, H // K, hd).reshape(B, Tk, H, hd)
    with torch.autocast(device_type=q.device.type, enabled=False):
        q = q.transpose(1, 2) * (1.0 / math.sqrt(hd))  # [B, H, Tq, hd], scaled before the big product
        scores = q @ k.permute(0, 2, 3, 1)  # [B, H, Tq, Tk]
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return (scores.softmax(-1) @ v.transpose(1, 2)).transpose(1, 2)


class VisionTransformer(nn.Module):
    def __init__(self, a: VisionArgs):
        super().__init__()
        self.args = a
        self.head_dim = a.hidden_size // a.num_attention_heads
        assert self.head_dim % 4 == 0, "2D RoPE splits the vision head dim in four"
        self.patch_conv = nn.Conv2d(a.num_channels, a.hidden_size, a.patch_size, stride=a.patch_size, bias=False)
        self.ln_pre = RMSNorm(a.hidden_size, VISION_EPS)
        self.transformer = nn.Module()
        self.transformer.layers = nn.ModuleList(
            Block(a.hidden_size, a.num_attention_heads, a.num_attention_heads, self.head_dim, a.intermediate_size, VISION_EPS)
            for _ in range(a.num_hidden_layers))

    def forward(self, images: list[torch.Tensor], capture: bool = False):
        """images: k-th [3, Hk, Wk] normalised pixels. -> out [S, Dv] (images concatenated in order,
        patches row-major), and with capture the stages the fixtures name (conv, ln_pre, each layer)."""
        grids = [(img.shape[1] // self.args.patch_size, img.shape[2] // self.args.patch_size) for img in images]
        conv = torch.cat([self.patch_conv(img[None].type_as(self.patch_conv.weight)).flatten(2)[0].T for img in images])  # [S, Dv]
        x = self.ln_pre(conv)
        tables = [rope_2d(h, w, self.head_dim, self.args.rope_theta, conv.device) for h, w in grids]
        cos, sin = torch.cat([t[0] for t in tables]), torch.cat([t[1] for t in tables])
        counts = [h * w for h, w in grids]
        stages = {"patch_embeds_conv": conv, "patch_embeds_ln_pre": x} if capture else None
        for i, layer in enumerate(self.transformer.layers):
            q, k, v = layer.attention.qkv(layer.attention_norm(x), cos, sin)  # [S, n, hv]
            # Block-diagonal attention: each image's patches attend only to that image.
            parts = [attend(qi[None], ki[None], vi[None], None)[0]
                     for qi, ki, vi in zip(q.split(counts), k.split(counts), v.split(counts))]
            x = layer.finish(x, torch.cat(parts))
            if capture:
                stages[f"vision_layer{i}_out"] = x
        return x, stages, counts


class VisionLanguageAdapter(nn.Module):
    def __init__(self, vision_dim: int, dim: int, bias: bool):
        super().__init__()
        self.w_in = nn.Linear(vision_dim, dim, bias=bias)
        self.w_out = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_out(F.gelu(self.w_in(x)))  # exact erf GELU (spec c)


class Pixtral(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.args = args
        v = args.vision_encoder
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.layers = nn.ModuleList(
            Block(args.dim, args.n_heads, args.n_kv_heads, args.head_dim, args.hidden_dim, args.norm_eps)
            for _ in range(args.n_layers))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        self.vision_encoder = VisionTransformer(v)
        self.vision_language_adapter = VisionLanguageAdapter(v.hidden_size, args.dim, v.adapter_bias)

    # -- initialisation ---------------------------------------------------------------------------
    def init_weights(self, generator: torch.Generator) -> None:
        """N(0, 0.02) everywhere, output projections of each block scaled by 1/sqrt(2·layers) (GPT-2),
        biases 0, norms 1: a residual stream that starts near unit scale in both towers."""
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith("ln_pre.weight"):
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            else:
                std = 0.02
                if name.endswith("attention.wo.weight") or name.endswith("feed_forward.w2.weight"):
                    layers = self.args.vision_encoder.num_hidden_layers if name.startswith("vision_encoder.") else self.args.n_layers
                    std /= math.sqrt(2 * layers)
                with torch.no_grad():
                    p.normal_(0.0, std, generator=generator)

    # -- the decoder ------------------------------------------------------------------------------
    def image_features(self, images: list[torch.Tensor]) -> torch.Tensor:
        """-> [S, D]: vision encoder then adapter, images in order."""
        return self.vision_language_adapter(self.vision_encoder(images)[0])

    def embed(self, ids: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        """ids [B, T] -> [B, T, D]; the [IMG] positions (row-major over the batch) take the image
        features in order (spec d)."""
        x = self.tok_embeddings(ids)
        slots = ids == self.args.vision_encoder.image_token_id
        n = int(slots.sum())
        if n != (0 if features is None else features.shape[0]):
            raise ValueError(f"{n} [IMG] tokens but {0 if features is None else features.shape[0]} image features")
        if n:
            x = x.masked_scatter(slots[..., None], features.type_as(x))
        return x

    def forward_hidden(self, prefix: torch.Tensor | None, ids: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        """Decoder trunk for training. prefix [P] ids shared by every row (the task's system prompt:
        computed once, its K/V broadcast to all rows), ids [B, T] the rest of each sequence (right
        padding is harmless: causal attention never looks ahead). -> final-norm input [B, T, D]."""
        a = self.args
        P = 0 if prefix is None else prefix.shape[0]
        B, T = ids.shape
        x = self.embed(ids, features)
        xp = self.tok_embeddings(prefix)[None] if P else None  # [1, P, D]
        dev = ids.device
        cos, sin = rope_1d(torch.arange(P + T, device=dev), a.head_dim, a.rope_theta)
        mask = torch.cat([torch.ones(T, P, dtype=torch.bool, device=dev), causal_mask(T, dev)], dim=1)  # [T, P+T]
        for layer in self.layers:
            q, k, v = layer.attention.qkv(layer.attention_norm(x), cos[P:], sin[P:])
            if P:
                qp, kp, vp = layer.attention.qkv(layer.attention_norm(xp), cos[:P], sin[:P])
                xp = layer.finish(xp, attend(qp, kp, vp, causal_mask(P, dev)))
                k = torch.cat([kp.expand(B, -1, -1, -1), k], dim=1)
                v = torch.cat([vp.expand(B, -1, -1, -1), v], dim=1)
            x = layer.finish(x, attend(q, k, v, mask))
        return x

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.output(self.norm(hidden))

    # -- inference (reference outputs and samples), float32, one sequence -------------------------
    @torch.no_grad()
    def full_logits(self, ids: torch.Tensor, images: list[torch.Tensor]) -> torch.Tensor:
        """ids [T] (a whole prompt) -> logits [T, V], recomputed without a cache."""
        features = self.image_features(images) if images else None
        return self.logits(self.forward_hidden(None, ids[None], features))[0]

    @torch.no_grad()
    def greedy(self, ids: torch.Tensor, images: list[torch.Tensor], steps: int, stop_id: int | None = None):
        """Greedy decoding with a KV cache. -> generated ids, and the logits row [V] that chose each."""
        a, dev = self.args, ids.device
        features = self.image_features(images) if images else None
        x = self.embed(ids[None], features)  # [1, T, D]
        cache: list[tuple[torch.Tensor, torch.Tensor]] = [None] * a.n_layers  # per layer k, v [1, t, K, hd]
        pos, out, rows = 0, [], []
        for _ in range(steps):
            T = x.shape[1]
            cos, sin = rope_1d(torch.arange(pos, pos + T, device=dev), a.head_dim, a.rope_theta)
            mask = torch.cat([torch.ones(T, pos, dtype=torch.bool, device=dev), causal_mask(T, dev)], dim=1)
            for i, layer in enumerate(self.layers):
                q, k, v = layer.attention.qkv(layer.attention_norm(x), cos, sin)
                if cache[i] is not None:
                    k, v = torch.cat([cache[i][0], k], 1), torch.cat([cache[i][1], v], 1)
                cache[i] = (k, v)
                x = layer.finish(x, attend(q, k, v, mask))
            row = self.logits(x[0, -1])
            pos += T
            nxt = int(row.argmax())
            out.append(nxt)
            rows.append(row)
            if nxt == stop_id:
                break
            x = self.tok_embeddings(torch.tensor([[nxt]], device=dev))
        return out, torch.stack(rows)


def causal_mask(T: int, device=None) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def parameter_counts(model: Pixtral) -> dict[str, int]:
    counts = {"decoder": 0, "embeddings": 0, "vision": 0, "adapter": 0}
    for name, p in model.named_parameters():
        if name.startswith("vision_encoder."):
            counts["vision"] += p.numel()
        elif name.startswith("vision_language_adapter."):
            counts["adapter"] += p.numel()
        elif name.startswith(("tok_embeddings.", "output.")):
            counts["embeddings"] += p.numel()
        else:
            counts["decoder"] += p.numel()
    counts["total"] = sum(counts.values())
    return counts
