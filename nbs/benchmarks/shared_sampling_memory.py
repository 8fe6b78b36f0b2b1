"""Issue 20, part 4: the shared model's sampling memory against DDPM's, for every window grouping, on the CPU.

    python nbs/benchmarks/shared_sampling_memory.py [OUT]   # OUT defaults to nbs/benchmarks/results/shared_sampling_memory

One sampling step (the noise prediction and the DDIM update, inside `sample`) of a batch of images, 64x64, measured
with `panda.measure.MemoryProbe` (the torch profiler's allocation records on a CPU, the benchmark's measurement, the
weights counted as resident): plain DDPM's UNet on the full image against the shared model (the same UNet with
coordinate channels) through 32x32 windows (a 4x4 grid of 16 px tiles, 2x2-tile windows, stride one tile: 9 windows),
its windows evaluated 1, 2, 3, 4, 5 or 9 at a time. The H200 record had the 9 windows in one batch at 1.49 times DDPM's
sampling memory; this chooses the default grouping. Random weights: memory does not depend on them. The tiny UNet at
the generation batch of 256 (the CPU scale of part 4), and the paper's UNet at batch 32.
"""
import sys, time
from pathlib import Path
import torch, pandas as pd
from fastai.torch_core import set_seed
from panda.tiling import TileGrid
from panda.unet import make_unet
from panda.shared import make_shared_unet
from panda.sample import WindowedEps, FullEps, sample
from panda.measure import MemoryProbe
from panda.report import run_meta
from panda.core import write_json

OUT = Path(__file__).parent/'results'/'shared_sampling_memory'
GRID = TileGrid(64, (4, 4), (2, 2))
GROUPS = (1, 2, 3, 4, 5, 9)

def peak(eps_fn, models, bs):
    with torch.no_grad(), MemoryProbe('cpu', resident=tuple(models)) as p:
        sample(eps_fn, bs, 64, sampler='ddim', n_steps=50, seed=0, bs=bs, max_steps=1, progress=False)
    return p.result['peak_gib']

def main(out=OUT):
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    rows = []
    for unet, bs in (('tiny', 256), ('paper', 32)):
        set_seed(0)
        full = make_unet(unet).eval()
        shared = make_shared_unet(unet, 64, 'coords').eval()
        t = time.time(); ref = peak(FullEps(full), [full], bs)
        rows.append(dict(unet=unet, bs=bs, method='ddpm', group=None, peak_gib=ref, ratio_to_ddpm=1.0, seconds=time.time()-t))
        print(rows[-1], flush=True)
        for g in GROUPS:
            t = time.time(); m = peak(WindowedEps(shared, GRID, batched=True, group=g), [shared], bs)
            rows.append(dict(unet=unet, bs=bs, method='shared', group=g, peak_gib=m, ratio_to_ddpm=m/ref, seconds=time.time()-t))
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    tmp = out/'memory.csv.tmp'; df.to_csv(tmp, index=False); tmp.replace(out/'memory.csv')
    write_json(run_meta(layout=GRID.config), out/'meta.json')
    print(df.to_string())

if __name__ == '__main__': main(*sys.argv[1:])
