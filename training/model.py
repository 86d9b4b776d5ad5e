"""A compact Llama implementation for training, numerically the same architecture as Hugging Face's
LlamaForCausalLM (RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU MLP, tied embeddings).

Parameter names equal the Hugging Face ones, so `state_dict()` loads into LlamaForCausalLM unchanged
(export.py does that and checks the logits agree). Training uses this class instead of the
transformers one because it compiles cleanly with torch.compile, computes the loss (cross-entropy and
distillation KL) inside the compiled graph, and has no masking / cache machinery.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from specs import ModelSpec


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # as transformers' LlamaRMSNorm: normalise in float32, cast back, then scale
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, s: ModelSpec):
        super().__init__()
        self.h, self.kv, self.hd = s.heads, s.kv_heads, s.head_dim
        self.q_proj = nn.Linear(s.hidden, s.heads * s.head_dim, bias=False)
        self.k_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.v_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.o_proj = nn.Linear(s.heads * s.head_dim, s.hidden, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv != self.h:  # query head i uses key/value head i // (h / kv), as transformers' repeat_kv
            k = k.repeat_interleave(self.h // self.kv, dim=1)
            v = v.repeat_interleave(self.h // self.kv, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.h * self.hd))


class MLP(nn.Module):
    def __init__(self, s: ModelSpec):
        super().__init__()
        self.gate_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down_proj = nn.Linear(s.intermediate, s.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, s: ModelSpec):
        super().__init__()
        self.input_layernorm = RMSNorm(s.hidden, s.norm_eps)
        self.self_attn = Attention(s)
        self.post_attention_layernorm = RMSNorm(s.hidden, s.norm_eps)
        self.mlp = MLP(s)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaLM(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(spec.vocab, spec.hidden)
        self.model.layers = nn.ModuleList(DecoderLayer(spec) for _ in range(spec.layers))
        self.model.norm = RMSNorm(spec.hidden, spec.norm_eps)
        inv_freq = 1.0 / (spec.rope_theta ** (torch.arange(0, spec.head_dim, 2, dtype=torch.float32) / spec.head_dim))
        t = torch.arange(spec.max_pos, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("rope_cos", emb.cos(), persistent=False)
        self.register_buffer("rope_sin", emb.sin(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # normal(0, 0.02) like transformers; residual output projections scaled by 1/sqrt(2 L) (GPT-2)
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * self.spec.layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, mean=0.0, std=s)
            else:
                nn.init.ones_(p)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        teacher_logits: torch.Tensor | None = None,
        kd_alpha: float = 0.0,
    ):
        """Logits [B, T, V] when no targets are given; else (loss, ce, kl) with
        loss = kd_alpha * KL(teacher || student) + (1 - kd_alpha) * CE (KL only when teacher_logits)."""
        T = idx.shape[1]
        x = self.model.embed_tokens(idx)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        x = self.model.norm(x)
        logits = F.linear(x, self.model.embed_tokens.weight)  # tied output projection
        if targets is None:
            return logits
        logp = F.log_softmax(logits.float(), dim=-1)
        ce = F.nll_loss(logp.view(-1, logp.shape[-1]), targets.reshape(-1))
        if teacher_logits is None or kd_alpha == 0.0:
            zero = torch.zeros((), device=ce.device)
            return ce, ce.detach(), zero
        t_logp = F.log_softmax(teacher_logits.float(), dim=-1)
        kl = (t_logp.exp() * (t_logp - logp)).sum(-1).mean()
        loss = kd_alpha * kl + (1.0 - kd_alpha) * ce
        return loss, ce.detach(), kl.detach()

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
