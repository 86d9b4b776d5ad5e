"""Sums Nsight Compute's per-kernel durations (ncu --csv --metrics gpu__time_duration.sum) by kernel and grid,
per step: python3 ncu-kernels.py ncu.csv STEPS. Prints µs per step for each (kernel, grid) and the total."""
import csv
import sys
from collections import defaultdict

path, steps = sys.argv[1], int(sys.argv[2])
lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
start = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
total, by = 0.0, defaultdict(lambda: [0, 0.0])
for row in csv.DictReader(lines[start:]):
    if row.get("Metric Name") != "gpu__time_duration.sum":
        continue
    ns = float(row["Metric Value"].replace(",", "")) * (1000.0 if row.get("Metric Unit") == "us" else 1.0)
    key = (row["Kernel Name"].split("(")[0], row.get("Grid Size", ""))
    by[key][0] += 1
    by[key][1] += ns
    total += ns
for (name, grid), (n, ns) in sorted(by.items(), key=lambda kv: -kv[1][1]):
    print(f"{ns / steps / 1000:9.1f} us/step  {n / steps:6.1f} launches  {ns / n / 1000:7.2f} us each  {name} {grid}")
print(f"{total / steps / 1000:9.1f} us/step in kernels ({sum(v[0] for v in by.values()) / steps:.0f} launches)")
