"""Self-distillation data for the draft heads: the frozen base model's own continuations.

At decode time a head drafts over the text the target itself writes, not over the corpus, so its
training sequences should be that text (EAGLE-3, HASS and Medusa-2 train on the target's generations;
DistillSpec shows the gain for independent drafts). `generate` continues a batch of equally long prompts
with a KV cache, each row greedy (temperature 0) or sampled at its own temperature.

Prompts are corpus windows ending anywhere (continuation) or right after an `<|assistant|>` tag and the
token after it (a chat answer, as most benchmark prompts ask for).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from model import LlamaLM, rotate_half

ASSISTANT_ID = 2


def _layer(layer, x, cos, sin, kc, vc, pos: int):
    """One decoder layer over rows at positions pos..pos+T-1 with the cache kc/vc [B, kv, Tmax, hd]
    (this call's keys/values written into it). Prefill (T > 1) must start at position 0."""
    a = layer.self_attn
    B, T, _ = x.shape
    h = layer.input_layernorm(x)
    q = a.q_proj(h).view(B, T, a.h, a.hd).transpose(1, 2)
    k = a.k_proj(h).view(B, T, a.kv, a.hd).transpose(1, 2)
    v = a.v_proj(h).view(B, T, a.kv, a.hd).transpose(1, 2)
    cos, sin = cos.to(q.dtype), sin.to(q.dtype)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    kc[:, :, pos : pos + T] = k.to(kc.dtype)
    vc[:, :, pos : pos + T] = v.to(vc.dtype)
    rep = a.h // a.kv
    if T > 1:
        assert pos == 0, "prefill starts at position 0"
        y = F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), is_causal=True)
    else:
        # query head i reads key/value head i // rep: group the query heads by their key head instead of
        # repeating the cache (which would copy it every step)
        K, V = kc[:, :, : pos + 1], vc[:, :, : pos + 1]
        qg = q.reshape(B, a.kv, rep, a.hd)
        s = (qg @ K.transpose(-1, -2).to(qg.dtype)).float() * a.hd**-0.5  # [B, kv, rep, t]
        y = (torch.softmax(s, -1).to(V.dtype) @ V).reshape(B, a.h, 1, a.hd).to(q.dtype)
    x = x + a.o_proj(y.transpose(1, 2).reshape(B, T, a.h * a.hd))
    return x + layer.mlp(layer.post_attention_layernorm(x))


def _next(base: LlamaLM, h, temps: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Next token per row from the last hidden state h [B, H]: argmax where temps is 0, else a sample."""
    logits = F.linear(base.model.norm(h), base.model.embed_tokens.weight).float()  # [B, V]
    greedy = logits.argmax(-1)
    probs = torch.softmax(logits / temps.clamp_min(1e-4)[:, None], -1)
    sampled = torch.multinomial(probs, 1, generator=gen).squeeze(1)
    return torch.where(temps > 0, sampled, greedy)


@torch.no_grad()
def generate(base: LlamaLM, prompts: torch.Tensor, new: int, temps: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """prompts [B, P] -> [B, P + new]: the prompts followed by the base's continuations."""
    B, P = prompts.shape
    layers = base.model.layers
    a = layers[0].self_attn
    dtype = torch.bfloat16 if prompts.is_cuda else torch.float32
    Tmax = P + new
    kcs = [torch.empty(B, a.kv, Tmax, a.hd, device=prompts.device, dtype=dtype) for _ in layers]
    vcs = [torch.empty_like(kcs[0]) for _ in layers]
    out = torch.empty(B, Tmax, dtype=torch.long, device=prompts.device)
    out[:, :P] = prompts
    x = base.model.embed_tokens(prompts)
    for i, layer in enumerate(layers):
        x = _layer(layer, x, base.rope_cos[:P], base.rope_sin[:P], kcs[i], vcs[i], 0)
    for t in range(P, Tmax):
        tok = _next(base, x[:, -1], temps, gen)
        out[:, t] = tok
        if t == Tmax - 1:
            break
        x = base.model.embed_tokens(tok[:, None])
        for i, layer in enumerate(layers):
            x = _layer(layer, x, base.rope_cos[t : t + 1], base.rope_sin[t : t + 1], kcs[i], vcs[i], t)
    return out


def chat_ends(stream: torch.Tensor, P: int) -> torch.Tensor:
    """Window ends (exclusive) right after each `<|assistant|>` tag and its next token, for windows of P."""
    pos = (stream == ASSISTANT_ID).nonzero().squeeze(1) + 2
    return pos[(pos >= P) & (pos <= len(stream))]


def prompts_from(stream: torch.Tensor, ends: torch.Tensor, P: int) -> torch.Tensor:
    return stream[ends[:, None] - P + torch.arange(P, device=stream.device)[None, :]].long()


def pool(base: LlamaLM, windows, dialog: torch.Tensor, P: int, new: int, batch: int, seconds: float,
         temps: list[float], chat_frac: float, seed: int, log=print) -> torch.Tensor:
    """Generate batches of [P + new]-token sequences for about `seconds`; rows cycle through `temps`;
    a `chat_frac` share of the prompts end at a chat answer, the rest are windows(n, P, seed)."""
    dev = dialog.device
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    ends = chat_ends(dialog, P)
    t_row = torch.tensor([temps[i % len(temps)] for i in range(batch)], device=dev)
    out, t0, b = [], time.time(), 0
    while time.time() - t0 < seconds or b == 0:
        n_chat = int(batch * chat_frac)
        pick = torch.randint(len(ends), (n_chat,), generator=gen, device=dev)
        # row i samples at temps[i % len(temps)]: chat and window prompts both get every temperature
        prompts = torch.cat((prompts_from(dialog, ends[pick], P), windows(batch - n_chat, P, seed + 7919 * (b + 1))))
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            out.append(generate(base, prompts, new, t_row, gen).to(torch.int32))
        b += 1
        if dev.type == "cuda":
            torch.cuda.synchronize()
        log(f"self-distill batch {b}: {b * batch} sequences, {b * batch * new / 1e6:.1f} M new tokens ({time.time() - t0:.0f} s)")
    return torch.cat(out)
