#!/usr/bin/env python3
"""Step 3: export trained weights as Hugging Face folders (LlamaForCausalLM, bf16 safetensors).

    python3 training/export.py --work /root/sd_work [--models target] [--fixture-dir DIR]

For each model: builds LlamaForCausalLM from the spec, loads the float32 training weights, checks
that transformers' logits equal the training implementation's (float32, max |diff| < 2e-3), then
saves in bfloat16 to <work>/hf/<model>/ with tokenizer.json, tokenizer_config.json (chat template)
and generation_config.json (bos = eos = <|endoftext|> = 0), and reloads the folder with
AutoModelForCausalLM / AutoTokenizer as a check.

config.json holds both the transformers-5 keys (`rope_parameters`, `dtype`) and the classic ones
(`rope_theta`, `rope_scaling`, `torch_dtype`) with the same values, as Hub checkpoints do.

With --fixture-dir, the tiny draft is also written as a test fixture (<dir>/demo-draft-tiny/): the
same bf16 folder plus expected.json for a short code prompt (logits of the last prompt position,
24 greedy tokens computed in float32 from the bf16 weights, the smallest top-1/top-2 margin).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import specs  # noqa: E402
from model import LlamaLM  # noqa: E402

STAGE_OF = {"target": "target", "draft-small": "drafts", "draft-tiny": "drafts", "draft-tiny-ce": "drafts"}
FIXTURE_PROMPTS = [
    "def fibonacci(n):\n    ",
    "def __init__(self, name):\n        ",
    "static int foo_probe(struct platform_device *pdev)\n{\n",
    "#include <stdio.h>\n#include <stdlib.h>\n\n",
    "fn main() {\n    let ",
    "function add(a, b) {\n  ",
    "int main(int argc, char **argv)\n{\n",
    "for (int i = 0; i < n; i++) {\n",
    "import os\nimport sys\n\n",
    "public static void main(String[] args) {\n",
    "func main() {\n\t",
]


def hf_config(spec: specs.ModelSpec) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=spec.vocab,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=spec.max_pos,
        rms_norm_eps=spec.norm_eps,
        hidden_act="silu",
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=specs.EOT_ID,
        eos_token_id=specs.EOT_ID,
        pad_token_id=specs.EOT_ID,
    )


def write_json(path: Path, obj, indent=2) -> None:
    path.write_text(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def add_classic_config_keys(folder: Path, dtype_name: str) -> None:
    p = folder / "config.json"
    cfg = json.loads(p.read_text())
    rp = cfg.get("rope_parameters") or {}
    if "rope_theta" in rp:
        cfg["rope_theta"] = rp["rope_theta"]
    cfg["rope_scaling"] = None if rp.get("rope_type", "default") == "default" else {k: v for k, v in rp.items() if k != "rope_theta"}
    cfg["dtype"] = dtype_name
    cfg["torch_dtype"] = dtype_name
    write_json(p, cfg)


def to_hf(name: str, weights: Path) -> tuple[LlamaForCausalLM, LlamaLM]:
    spec = specs.SPECS[name]
    sd = torch.load(weights, map_location="cpu")
    ours = LlamaLM(spec)
    ours.load_state_dict(sd)
    ours.eval()
    hf = LlamaForCausalLM(hf_config(spec))
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"lm_head.weight"}, missing
    if hf.lm_head.weight.data_ptr() != hf.model.embed_tokens.weight.data_ptr():
        hf.lm_head.weight = hf.model.embed_tokens.weight
    hf.eval()
    # the training implementation and transformers must compute the same function
    ids = torch.randint(0, spec.vocab, (2, 96), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (ours(ids) - hf(input_ids=ids).logits).abs().max().item()
    print(f"{name}: max |logits(ours) - logits(transformers)| = {diff:.2e}", flush=True)
    assert diff < 2e-3, f"{name}: implementations disagree ({diff})"
    return hf, ours


def save_folder(hf: LlamaForCausalLM, folder: Path, tok_dir: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    hf.to(torch.bfloat16).save_pretrained(str(folder))
    hf.to(torch.float32)
    add_classic_config_keys(folder, "bfloat16")
    write_json(
        folder / "generation_config.json",
        {"_from_model_config": True, "bos_token_id": specs.EOT_ID, "eos_token_id": specs.EOT_ID,
         "pad_token_id": specs.EOT_ID, "transformers_version": transformers.__version__},
    )
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tok_dir / f, folder / f)
    # reload check
    m = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(folder))
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert chat == "<|endoftext|><|user|>\nhi\n<|assistant|>\n", repr(chat)
    assert tok("hi")["input_ids"][0] == specs.EOT_ID
    n_unique = sum(p.numel() for p in {id(p): p for p in m.parameters()}.values())
    assert n_unique == specs.SPECS[folder.name].n_params(), (n_unique, folder.name)


@torch.no_grad()
def greedy_reference(model, ids: list[int], n: int = 24):
    ids = list(ids)
    first = None
    greedy, margins = [], []
    for i in range(n):
        lg = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        if i == 0:
            first = lg
        top2 = torch.topk(lg, 2).values
        margins.append(float(top2[0] - top2[1]))
        nxt = int(lg.argmax())
        greedy.append(nxt)
        ids.append(nxt)
    return first, greedy, margins


def write_fixture(folder: Path, fixture_root: Path) -> None:
    """demo-draft-tiny test fixture: the bf16 folder + expected.json (float32 math on bf16 weights)."""
    dst = fixture_root / "demo-draft-tiny"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(folder, dst)
    model = AutoModelForCausalLM.from_pretrained(str(dst), dtype=torch.float32, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(str(dst))
    best = None
    for p in FIXTURE_PROMPTS:
        ids = tok(p)["input_ids"]
        first, greedy, margins = greedy_reference(model, ids)
        # no end-of-text, decisive steps, not one token repeated; then the most distinct tokens
        key = (specs.EOT_ID not in greedy, min(margins) >= 0.05, len(set(greedy)) >= 8, len(set(greedy)), min(margins))
        if best is None or key > best[0]:
            best = (key, p, ids, first, greedy, margins)
    _, p, ids, first, greedy, margins = best
    write_json(
        dst / "expected.json",
        {
            "prompt": p,
            "prompt_ids": ids,
            "logits": [[float(f"{v:.6g}") for v in first.tolist()]],
            "logits_positions": [len(ids) - 1],
            "greedy_ids": greedy,
            "greedy_text": tok.decode(greedy, skip_special_tokens=False),
            "min_top2_margin": float(f"{min(margins):.6g}"),
        },
        indent=None,
    )
    size = sum(f.stat().st_size for f in dst.iterdir())
    print(f"fixture {dst}: prompt {p!r}, min margin {min(margins):.4f}, {size / 1e6:.2f} MB", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/root/sd_work"))
    ap.add_argument("--models", default="target,draft-small,draft-tiny,draft-tiny-ce")
    ap.add_argument("--fixture-dir", type=Path, default=None, help="also write demo-draft-tiny fixture here")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    tok_dir = args.work / "tokenizer"
    for name in args.models.split(","):
        w = args.work / "runs" / STAGE_OF[name] / "weights" / f"{name}.pt"
        hf, _ = to_hf(name, w)
        folder = args.work / "hf" / name
        save_folder(hf, folder, tok_dir)
        print(f"exported {folder}", flush=True)
        if name == "draft-tiny" and args.fixture_dir is not None:
            write_fixture(folder, args.fixture_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
