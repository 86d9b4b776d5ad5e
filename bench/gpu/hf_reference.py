"""Reference timings on the GPU machine, beside `specdec perf --device cuda` (docs/gpu.md).

Hugging Face transformers on a random-weight Llama-3.2-1B (bf16, eager PyTorch, the default SDPA attention):
greedy decode tok/s through generate(), the forward time of k new tokens on a 512-token cache (c(k) = t(k)/t(1)),
and cuBLAS (torch.nn.functional.linear) on the same matrix sizes the CUDA backend's matmul kernels are timed at.
Usage: python3 bench/gpu/hf_reference.py [--skip-model]
"""
import statistics
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = [("q/o 2048x2048", 2048, 2048), ("k/v 512x2048", 512, 2048), ("gate/up 8192x2048", 8192, 2048),
          ("down 2048x8192", 2048, 8192), ("head 128256x2048", 128256, 2048)]


def event_median(fn, repeats):
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1000.0)
    return statistics.median(times)


def cublas():
    print(f"{'cuBLAS bf16':<18} {'rows':>4} {'µs':>9} {'GB/s':>7}")
    for name, n, k in SHAPES:
        weights = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(4)]
        for rows in (1, 8, 64):
            x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
            i = [0]

            def run():
                torch.nn.functional.linear(x, weights[i[0] % 4])
                i[0] += 1
            for _ in range(8):
                run()
            us = event_median(run, 50)
            print(f"{name:<18} {rows:>4} {us:>9.1f} {n * k * 2 / (us * 1e-6) / 1e9:>7.0f}")
        del weights


def model_timings():
    cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                      rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                      rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    g = torch.Generator(device="cpu").manual_seed(1)
    prompt = torch.randint(0, 32000, (1, 512), generator=g).cuda()
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        cache = out.past_key_values
        times = {}
        for k in (1, 8, 64):
            new = torch.randint(0, 32000, (1, k), generator=g).cuda()

            def step():
                cache.crop(512)
                model(new, past_key_values=cache, use_cache=True)
            for _ in range(3):
                step()
            torch.cuda.synchronize()
            times[k] = event_median(step, 10)
        print(f"HF forward on a 512-token cache: " + ", ".join(f"{k} tok {t / 1000:.2f} ms" for k, t in times.items()))
        print(f"HF c(8) = {times[8] / times[1]:.2f}, c(64) = {times[64] / times[1]:.2f}")
        ids = prompt[:, :16]
        model.generate(ids, max_new_tokens=16, min_new_tokens=16, do_sample=False)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.generate(ids, max_new_tokens=128, min_new_tokens=128, do_sample=False)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        print(f"HF generate greedy: 128 tokens in {dt:.2f} s = {128 / dt:.1f} tok/s")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    cublas()
    if "--skip-model" not in sys.argv:
        model_timings()
