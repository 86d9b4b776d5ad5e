"""Shared definitions of the SpecDec demo model family: special tokens, model shapes, data mix.

Everything the other scripts agree on lives here, so a change of shape or mix is one edit.
This module imports nothing beyond the standard library (size_budget.py runs anywhere).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# --- tokenizer -----------------------------------------------------------------------------------
VOCAB_SIZE = 8192
EOT = "<|endoftext|>"  # end of text, document separator, and BOS (id 0)
USER = "<|user|>"  # id 1
ASSISTANT = "<|assistant|>"  # id 2
SPECIAL_TOKENS = [EOT, USER, ASSISTANT]
EOT_ID = 0

# Llama-3 split regex (same pre-tokenizer as tests/fixtures/tokenizers/llama3-bpe).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Chat format of the corpus: "<|user|>\n{user}\n<|assistant|>\n{assistant}\n", turns concatenated,
# the conversation ends with <|endoftext|>. BOS (= <|endoftext|>) comes first.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + '\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + '\\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

# --- data ----------------------------------------------------------------------------------------
PARTS = ["prose", "code", "dialog", "multi"]
# Sampling weight of a part = (its token count) x (upsampling factor). Dialog is upsampled 2x so that
# the chat format is learned well (not more: the target sees ~15 epochs of the 74.5 M training tokens
# in its 12 minutes, and dialog is the smallest part). With the corpus sizes (prose 34.4 M, code
# 27.5 M, dialog 6.0 M, multi 6.5 M tokens) this gives prose 43 %, code 34 %, dialog 15 %, multi 8 %.
UPSAMPLE = {"prose": 1.0, "code": 1.0, "dialog": 2.0, "multi": 1.0}
SEQ_LEN = 1024

# bytes of each part used to train the tokenizer (a deterministic document sample)
TOKENIZER_SAMPLE_BYTES = {"prose": 14_000_000, "code": 12_000_000, "dialog": 5_000_000, "multi": 5_000_000}


# --- models --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int = VOCAB_SIZE
    max_pos: int = 2048
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Hugging Face tensor names and shapes (tied embeddings: no lm_head.weight)."""
        d, hd = self.hidden, self.head_dim
        shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (self.vocab, d), "model.norm.weight": (d,)}
        for i in range(self.layers):
            p = f"model.layers.{i}."
            shapes[p + "input_layernorm.weight"] = (d,)
            shapes[p + "post_attention_layernorm.weight"] = (d,)
            shapes[p + "self_attn.q_proj.weight"] = (self.heads * hd, d)
            shapes[p + "self_attn.k_proj.weight"] = (self.kv_heads * hd, d)
            shapes[p + "self_attn.v_proj.weight"] = (self.kv_heads * hd, d)
            shapes[p + "self_attn.o_proj.weight"] = (d, self.heads * hd)
            shapes[p + "mlp.gate_proj.weight"] = (self.intermediate, d)
            shapes[p + "mlp.up_proj.weight"] = (self.intermediate, d)
            shapes[p + "mlp.down_proj.weight"] = (d, self.intermediate)
        return shapes

    def n_params(self) -> int:
        n = 0
        for s in self.tensor_shapes().values():
            k = 1
            for x in s:
                k *= x
            n += k
        return n

    def n_embedding_params(self) -> int:
        return self.vocab * self.hidden

    def to_dict(self) -> dict:
        d = asdict(self)
        d["head_dim"] = self.head_dim
        d["params"] = self.n_params()
        return d


TARGET = ModelSpec("target", hidden=512, layers=8, heads=8, kv_heads=4, intermediate=1408)
DRAFT_SMALL = ModelSpec("draft-small", hidden=256, layers=4, heads=4, kv_heads=2, intermediate=704)
DRAFT_TINY = ModelSpec("draft-tiny", hidden=128, layers=3, heads=4, kv_heads=2, intermediate=352)
# An ablation trained with plain cross-entropy instead of distillation (evaluated, not shipped).
DRAFT_TINY_CE = ModelSpec("draft-tiny-ce", hidden=128, layers=3, heads=4, kv_heads=2, intermediate=352)
SPECS = {s.name: s for s in (TARGET, DRAFT_SMALL, DRAFT_TINY, DRAFT_TINY_CE)}
SHIPPED = ["target", "draft-small", "draft-tiny"]


@dataclass
class TrainConfig:
    """Optimisation settings of one model in a training stage."""

    lr: float
    min_lr_frac: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    kd_alpha: float = 0.0  # weight of KL(teacher || student); the rest is cross-entropy
    extra: dict = field(default_factory=dict)


STAGES = {
    # stage: (models trained together, their train configs, sequences per step, micro-batch, minutes)
    "target": {
        "models": ["target"],
        "train": {"target": TrainConfig(lr=2e-3, warmup_steps=200)},
        "batch_seqs": 128,
        "micro_seqs": 64,
        "teacher": None,
    },
    "drafts": {
        # all drafts see the same batches, so one teacher forward pass serves them all
        "models": ["draft-small", "draft-tiny", "draft-tiny-ce"],
        "train": {
            "draft-small": TrainConfig(lr=3e-3, warmup_steps=150, kd_alpha=0.8),
            "draft-tiny": TrainConfig(lr=4e-3, warmup_steps=150, kd_alpha=0.8),
            "draft-tiny-ce": TrainConfig(lr=4e-3, warmup_steps=150, kd_alpha=0.0),
        },
        "batch_seqs": 64,
        "micro_seqs": 32,
        "teacher": "target",
    },
}
