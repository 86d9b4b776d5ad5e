"""Read a Llama GGUF file (F32, F16, BF16, Q8_0 tensors) into Hugging Face-named float32 arrays.

The draft heads train against the model SpecDec actually runs, the shipped Q8_0 target, so its
hidden states are the ones the heads will see at inference (the bf16 original is not kept). llama.cpp's
converter permutes the rows of attn_q/attn_k for its interleaved RoPE; `unpermute` restores the
rotate-half layout that model.py (and transformers) use.

Layout (GGUF spec, docs/gguf.md in ggml): header "GGUF", version, tensor count, metadata count; metadata
key/value pairs; tensor infos (name, dims ne0..ne{n-1} innermost first, type, offset); data at the next
multiple of general.alignment (32). Q8_0: blocks of 32 weights = f16 scale + 32 int8.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

F32, F16, Q8_0, BF16 = 0, 1, 8, 30
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def string(self) -> str:
        n = self.take("<Q")
        s = self.data[self.pos : self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, t: int):
        if t == 8:
            return self.string()
        if t == 9:
            item, n = self.take("<I"), self.take("<Q")
            return [self.value(item) for _ in range(n)]
        return self.take(_SCALAR[t])


def read_gguf(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, tensors) with tensors as float32 arrays shaped like PyTorch weights ([out, in])."""
    data = Path(path).read_bytes()
    r = _Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    r.pos = 4
    version, n_tensors, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    if version < 2:
        raise ValueError(f"{path}: GGUF version {version} is not supported")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("<Q") for _ in range(r.take("<I"))]
        infos.append((name, dims, r.take("<I"), r.take("<Q")))
    align = int(meta.get("general.alignment", 32))
    base = (r.pos + align - 1) // align * align
    tensors = {}
    for name, dims, ttype, offset in infos:
        count = int(np.prod(dims))
        start = base + offset
        if ttype == F32:
            a = np.frombuffer(data, np.float32, count, start)
        elif ttype == F16:
            a = np.frombuffer(data, np.float16, count, start).astype(np.float32)
        elif ttype == BF16:
            a = (np.frombuffer(data, np.uint16, count, start).astype(np.uint32) << 16).view(np.float32)
        elif ttype == Q8_0:
            blocks = np.frombuffer(data, np.uint8, count // 32 * 34, start).reshape(-1, 34)
            d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
            q = blocks[:, 2:].view(np.int8).astype(np.float32)
            a = (q * d).reshape(-1)
        else:
            raise ValueError(f"{path}: tensor {name} has type {ttype}, which this reader does not handle")
        tensors[name] = np.ascontiguousarray(a.reshape(list(reversed(dims))), dtype=np.float32)
    return meta, tensors


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of llama.cpp's convert permute(w, n_head): interleaved-RoPE rows back to rotate-half rows."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_from_gguf(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(hyper-parameters, Hugging Face state dict) of a Llama GGUF with tied or separate output."""
    meta, t = read_gguf(path)
    arch = meta["general.architecture"]
    hp = {
        "hidden": int(meta[f"{arch}.embedding_length"]),
        "layers": int(meta[f"{arch}.block_count"]),
        "heads": int(meta[f"{arch}.attention.head_count"]),
        "kv_heads": int(meta.get(f"{arch}.attention.head_count_kv", meta[f"{arch}.attention.head_count"])),
        "intermediate": int(meta[f"{arch}.feed_forward_length"]),
        "rope_theta": float(meta.get(f"{arch}.rope.freq_base", 10000.0)),
        "norm_eps": float(meta[f"{arch}.attention.layer_norm_rms_epsilon"]),
        "vocab": t["token_embd.weight"].shape[0],
        "name": meta.get("general.name", Path(path).stem),
    }
    sd = {"model.embed_tokens.weight": t["token_embd.weight"], "model.norm.weight": t["output_norm.weight"]}
    if "output.weight" in t:
        sd["lm_head.weight"] = t["output.weight"]
    names = {
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    }
    for i in range(hp["layers"]):
        for g, h in names.items():
            w = t[f"blk.{i}.{g}.weight"]
            if g == "attn_q":
                w = unpermute(w, hp["heads"])
            elif g == "attn_k":
                w = unpermute(w, hp["kv_heads"])
            sd[f"model.layers.{i}.{h}.weight"] = w
    return hp, sd


def eagle_head_from_gguf(path: Path) -> dict[str, np.ndarray]:
    """An EAGLE head GGUF (models/README.md's keys) as heads.EagleHead's state dict (Q/K rows un-permuted)."""
    meta, t = read_gguf(path)
    if meta.get("general.architecture") != "eagle":
        raise ValueError(f"{path}: general.architecture is {meta.get('general.architecture')!r}, not 'eagle'")
    heads, kv = int(meta["eagle.attention.head_count"]), int(meta["eagle.attention.head_count_kv"])
    names = {
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    }
    sd = {"fc.weight": t["fc.weight"], "fc.bias": t["fc.bias"]}
    for g, h in names.items():
        w = t[f"blk.0.{g}.weight"]
        if g in ("attn_q", "attn_k"):
            w = unpermute(w, heads if g == "attn_q" else kv)
        sd[f"layers.0.{h}.weight"] = w
    return sd


def medusa_heads_from_gguf(path: Path) -> dict[str, np.ndarray]:
    """A Medusa GGUF of heads sharing the base's output head as heads.MedusaHeads' state dict."""
    meta, t = read_gguf(path)
    if meta.get("general.architecture") != "medusa":
        raise ValueError(f"{path}: general.architecture is {meta.get('general.architecture')!r}, not 'medusa'")
    if any(k.endswith(".output.weight") for k in t):
        raise ValueError(f"{path}: heads with their own output head are not handled")
    sd = {}
    for i in range(int(meta["medusa.head_count"])):
        for j in range(int(meta["medusa.block_count"])):
            for p in ("weight", "bias"):
                sd[f"heads.{i}.{j}.linear.{p}"] = t[f"medusa.{i}.blk.{j}.{p}"]
    return sd
