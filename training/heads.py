"""Draft heads that predict from the target's own features: EAGLE (one decoder layer) and Medusa-1.

Parameter names are those of the reference implementations' checkpoints, so `state_dict()` is the
file layout (SafeAILab/EAGLE `cnets1.Model` without its embedding; FasterDecoding/Medusa
`medusa_lm_head` without per-head output layers, as its legacy variant that reuses the base lm_head).

EAGLE at position p: fc(concat(embed(x_{p+1}), f_p)) -> one Llama decoder layer with no input norm ->
the predicted feature of position p+1, whose logits are the target's frozen output head applied with no
norm. f_p is the target's last hidden state after its final RMSNorm.

Training-time test (EAGLE-3's, here on the EAGLE-2 architecture): step i feeds every row the feature
predicted by step i-1 for the row before it, so row p of step i is the (i+1)-th token of a chain that
started from the real feature f_{p-i}. Its attention sees step 0's keys (real features) up to position
p-i and, of each later step j <= i, the one key of its own chain (position p-i+j): what the head's KV
cache holds when it drafts the chain at inference.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import MLP, RMSNorm, rotate_half


class HeadSpec:
    """The dimensions a head takes from its base model."""

    def __init__(self, hidden, heads, kv_heads, intermediate, vocab, norm_eps=1e-5, rope_theta=10000.0, max_pos=2048):
        self.hidden, self.heads, self.kv_heads = hidden, heads, kv_heads
        self.intermediate, self.vocab = intermediate, vocab
        self.norm_eps, self.rope_theta, self.max_pos = norm_eps, rope_theta, max_pos
        self.head_dim = hidden // heads


def shift_rows(x: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Row p of the result is row p-n of x (zeros for p < n), along dimension dim."""
    if n == 0:
        return x
    pad = torch.zeros_like(x.narrow(dim, 0, n))
    return torch.cat((pad, x.narrow(dim, 0, x.shape[dim] - n)), dim=dim)


class HeadAttention(nn.Module):
    def __init__(self, s: HeadSpec):
        super().__init__()
        self.h, self.kv, self.hd = s.heads, s.kv_heads, s.head_dim
        self.q_proj = nn.Linear(s.hidden, s.heads * s.head_dim, bias=False)
        self.k_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.v_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.o_proj = nn.Linear(s.heads * s.head_dim, s.hidden, bias=False)

    def qkv(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        return q, k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)

    def forward(self, x, cos, sin, cache: list):
        """Step len(cache) of the training-time test; cache holds the (k, v) of the earlier steps and
        gets this step's appended. [B, T, H] -> [B, T, H]."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x, cos, sin)
        cache.append((k, v))
        i = len(cache) - 1
        scale = self.hd**-0.5
        k0, v0 = cache[0]
        s0 = (q @ k0.transpose(-1, -2)).float() * scale  # [B, h, T, T]
        allowed = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-i)  # key <= query - i
        s0 = s0.masked_fill(~allowed, float("-inf"))
        own = [shift_rows(cache[j][0], i - j, 2) for j in range(1, i + 1)]
        diag = [((q * kj).sum(-1, keepdim=True)).float() * scale for kj in own]  # [B, h, T, 1] each
        p = torch.softmax(torch.cat([s0] + diag, dim=-1), dim=-1)
        y = p[..., :T].to(v0.dtype) @ v0
        for j in range(1, i + 1):
            y = y + p[..., T + j - 1 : T + j].to(v0.dtype) * shift_rows(cache[j][1], i - j, 2)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.h * self.hd))


class EagleLayer(nn.Module):
    """A Llama decoder layer without input_layernorm (EAGLE's layer 0)."""

    def __init__(self, s: HeadSpec):
        super().__init__()
        self.self_attn = HeadAttention(s)
        self.post_attention_layernorm = RMSNorm(s.hidden, s.norm_eps)
        ms = type("S", (), {"hidden": s.hidden, "intermediate": s.intermediate})
        self.mlp = MLP(ms)

    def forward(self, x, cos, sin, cache):
        x = x + self.self_attn(x, cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class EagleHead(nn.Module):
    def __init__(self, s: HeadSpec):
        super().__init__()
        self.spec = s
        self.fc = nn.Linear(2 * s.hidden, s.hidden, bias=True)
        self.layers = nn.ModuleList([EagleLayer(s)])
        inv = 1.0 / (s.rope_theta ** (torch.arange(0, s.head_dim, 2, dtype=torch.float32) / s.head_dim))
        freqs = torch.outer(torch.arange(s.max_pos, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("rope_cos", emb.cos(), persistent=False)
        self.register_buffer("rope_sin", emb.sin(), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        nn.init.zeros_(self.fc.bias)

    def unroll(self, emb_next: torch.Tensor, feats: torch.Tensor, steps: int) -> list[torch.Tensor]:
        """emb_next [B, T, H] = embed(x_{p+1}) per row p; feats [B, T, H] = f_p. Returns the predicted
        features of every step, each [B, T, H] (row p of step i predicts f_{p+1} from chain start p-i)."""
        T = feats.shape[1]
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        cache: list = []
        outs, f = [], feats
        for i in range(steps):
            x = self.fc(torch.cat((emb_next, f), dim=-1))
            g = self.layers[0](x, cos, sin, cache)
            outs.append(g)
            f = shift_rows(g, 1, 1)
        return outs


class ResBlock(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.linear = nn.Linear(hidden, hidden)
        nn.init.zeros_(self.linear.weight)  # starts as the identity: each head begins as the base's lm_head

    def forward(self, x):
        return x + F.silu(self.linear(x))


class MedusaHeads(nn.Module):
    """Head i maps f_p to the features whose logits predict x_{p+i+2}; state_dict keys `{i}.0.linear.*`."""

    def __init__(self, hidden: int, n_heads: int):
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(ResBlock(hidden)) for _ in range(n_heads))

    def forward(self, feats: torch.Tensor) -> list[torch.Tensor]:
        return [h(feats) for h in self.heads]

    def reference_state_dict(self) -> dict[str, torch.Tensor]:
        return {k.removeprefix("heads."): v for k, v in self.state_dict().items()}
