"""Issue 10, part 4: peak memory against time when sampling a large canvas through small windows, on the CPU.

    python nbs/benchmarks/window_groups.py DEST [--plot]

A shared window model without coordinates (the `cpu` recipe's tiny UNet, random weights: memory and time do not depend
on them) samples a 256x256 canvas through 64x64 windows (8x8 tiles of 32 px, 2x2-tile windows, stride one tile: 49
windows) for `STEPS` DDIM steps of a batch of `BS` images, with the windows evaluated 1, 7 or 49 at a time, and with the
image batch in chunks of `BS` or `BS/2`. Peak tensor memory comes from `panda.measure.MemoryProbe` (the torch profiler's
allocation records on a CPU, the same measurement as the benchmark's); time is wall and CPU (user) time of the loop, run again without the profiler.
The reference is one 64x64 window batch: the same UNet on a (BS, 3, 64, 64) batch, the same steps. Every choice must give the
same images for the same seed (checked, up to float summation order), the image chunks too. Writes `DEST/window_groups.json`, `.csv`
and `.png` (peak memory against time); `--plot` only redraws the figure from the csv.
"""
import sys
from pathlib import Path
import torch, pandas as pd
from fastai.torch_core import set_seed
from panda.core import write_json, atomic_file
from panda.tiling import TileGrid
from panda.shared import make_shared_unet
from panda.sample import WindowedEps, FullEps, sample
from panda.measure import MemoryProbe, Timer
from panda.report import run_meta, save_figure

BS, STEPS, CANVAS, WIN = 8, 2, 256, 64

def run(dest):
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    set_seed(0)
    model = make_shared_unet('tiny', CANVAS, 'none').eval()
    with torch.no_grad():
        for p in model.parameters(): p.add_(torch.randn_like(p)*0.02)  # the zero-initialised output layer would predict 0
    grid = TileGrid(CANVAS, (CANVAS//(WIN//2),)*2, (2, 2))
    rows, ref = [], None
    one = lambda: sample(FullEps(model), BS, WIN, sampler='ddim', n_steps=50, max_steps=STEPS, bs=BS, progress=False)
    with MemoryProbe('cpu', resident=[model], label='one 64x64 window batch') as mp: one()
    with Timer('cpu') as tm: one()
    rows.append(dict(choice=f'one {WIN}x{WIN} window batch (reference)', group=None, image_chunk=BS, peak_gib=mp.result['peak_gib'],
                     wall_s=tm.elapsed, user_s=tm.user, max_abs_diff=None))
    for group, chunk in ((1, BS), (7, BS), (49, BS), (1, BS//2), (49, BS//2)):
        eps = WindowedEps(model, grid, group=group)
        go = lambda: sample(eps, BS, CANVAS, sampler='ddim', n_steps=50, max_steps=STEPS, eta=1., seed=0, bs=chunk, progress=False)
        with MemoryProbe('cpu', resident=[model], label=f'group {group}, chunk {chunk}') as mp: x = go()
        with Timer('cpu') as tm: go()  # timed again without the profiler, whose allocation records slow the measured run
        if ref is None: ref = x
        diff = float((x - ref).abs().max())  # every image draws its own noise (`image_generators`): chunks give the same images
        rows.append(dict(choice=f'{group} window{"s"*(group>1)} at a time, images in chunks of {chunk}', group=group, image_chunk=chunk,
                         peak_gib=mp.result['peak_gib'], wall_s=tm.elapsed, user_s=tm.user, max_abs_diff=diff))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    meta = run_meta(device='cpu', canvas=CANVAS, window=WIN, n_windows=grid.n_windows, bs=BS, steps=STEPS, unet='tiny')
    write_json(dict(meta=meta, rows=rows), dest/'window_groups.json')
    with atomic_file(dest/'window_groups.csv', 'w') as f: df.to_csv(f, index=False)
    plot(dest)
    print(df.to_string())

def plot(dest):
    "`DEST/window_groups.png`: peak tensor memory against wall time per choice, the one-window-batch reference dotted"
    import matplotlib.pyplot as plt
    dest = Path(dest); df = pd.read_csv(dest/'window_groups.csv')
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ref, rows = df.iloc[0], df.iloc[1:]
    for r in rows.itertuples():
        ax.scatter(r.wall_s, r.peak_gib, s=40, marker='o' if r.image_chunk == ref.image_chunk else 's', color=f'C{[1, 7, 49].index(int(r.group))}')
        ax.annotate(f'{int(r.group)} at a time' + (f', chunks of {r.image_chunk}' if r.image_chunk != ref.image_chunk else ''),
                    (r.wall_s, r.peak_gib), textcoords='offset points', xytext=(6, 4), fontsize=8)
    ax.axhline(ref.peak_gib, color='grey', ls=':', lw=1, label=f'one {WIN}x{WIN} window batch ({ref.peak_gib:.3f} GiB)')
    ax.set_yscale('log'); ax.set_xlabel('wall time of the steps (s, CPU)'); ax.set_ylabel('peak tensor memory (GiB)')
    ax.set_title(f'{CANVAS}x{CANVAS} canvas through {WIN}x{WIN} windows: windows per call, image chunks', fontsize=9)
    ax.legend(fontsize=8, loc='upper left'); fig.tight_layout()
    save_figure(fig, dest/'window_groups.png', dpi=90)

if __name__ == '__main__':
    if sys.argv[2:] == ['--plot']: plot(sys.argv[1])  # redraw the figure from the recorded csv
    else: run(sys.argv[1])
