"""Issue 8, part 4: a translation-invariant shared model sampled on a canvas wider than it was trained on.

    python nbs/benchmarks/wide_canvas.py OUT DEST [N]

OUT holds `shared.pt` from `panda_train --method shared --cond none --size 64 --grid 1x4 --window 1x2 --out OUT` (64x32
windows of the 64x64 embedded faces, strided 16 px). DEST receives `quality.json`, `canvas.png` (the first 16 samples
of each canvas) and `seams.png` (mean |horizontal gradient| per column, generated against real faces).

N images (default 256) are sampled with the run's own sampler (`run.json`) on
- the trained canvas, 64x64 through the trained layout (1x4 tiles, 1x2 windows), and
- a 64x128 canvas through 1x8 tiles of 16 px and the same 64x32 windows (`panda_sample --canvas 64x128 --grid 1x8`).
Measured: the seam score (mean |gradient| at the window edges, every 16 columns, over the mean elsewhere) of each set
and of the real faces at 64x64 (edges at 16, 32, 48), and their ratio; SWD of 64x64 crops against as many real faces
(the trained canvas whole; the wide one's left, middle and right 64 columns), so that one sees whether every part of the
wide canvas looks like the training images; FID/KID of the 64x64 samples and of the wide canvas's crops.
"""
import sys, json
from pathlib import Path
import torch
from panda.core import write_json, as_uint8
from panda.tiling import TileGrid
from panda.pipeline import Pipeline
from panda.measure import Timer
from panda.metrics import seam_score, seam_profile, colourfulness
from panda.report import real_images, quality, run_meta, save_figure

def measure(out, dest, n=256):
    out, dest = Path(out), Path(dest); dest.mkdir(parents=True, exist_ok=True)
    run = json.loads((out/'run.json').read_text())           # for the record: the run's sampler and how it was trained
    pipe = Pipeline.from_run(out)                             # its checkpoint, sampler, precision and EMA choice
    real = real_images(size=64)
    wide = TileGrid((64, 128), (1, 8), (1, 2), pipe.grid.stride)   # `panda_sample --canvas 64x128 --grid 1x8 --window 1x2`
    sets, times = {}, {}
    for name, layout in (('64x64', None), ('64x128', wide)):
        with Timer() as tm: sets[name] = as_uint8(pipe(n, seed=0, bs=64, layout=layout))
        times[name] = dict(wall_s=round(tm.elapsed, 1), user_s=round(tm.user, 1))
    edges = lambda w: tuple(range(16, w, 16))
    res = dict(real_seam_score=seam_score(real, xs=edges(64)))
    for name, imgs in sets.items():
        s = seam_score(imgs, xs=edges(imgs.shape[-1]))
        crops = {'whole': imgs} if imgs.shape[-1] == 64 else {'left': imgs[..., :64], 'middle': imgs[..., 32:96], 'right': imgs[..., 64:]}
        q = {c: quality(x.contiguous(), real, fid=True) for c, x in crops.items()}
        q = {c: {k: v[k] for k in ('swd', 'fid', 'kid', 'colourfulness')} for c, v in q.items()}
        res[name] = dict(seam_score=s, seam_ratio=s/res['real_seam_score'], seam_edges=list(edges(imgs.shape[-1])), crops=q,
                         sample_time=times[name], n=len(imgs))
        print(name, json.dumps(res[name]), flush=True)
    res.update(real_colourfulness=colourfulness(real), n_real=len(real), checkpoint=str(out/'shared.pt'), sampler=run['sampler'],
               precision=run['precision'], trained=dict(tiling=run['tiling'], shared=run['shared'], recipe=run['recipe']), **run_meta())
    write_json(res, dest/'quality.json')
    figures(sets, real, dest)
    return res

def figures(sets, real, dest):
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw=dict(width_ratios=[1, 2]))
    for ax, (name, imgs) in zip(axs, sets.items()):
        ax.imshow(make_grid(imgs[:16], nrow=2 if imgs.shape[-1] == 128 else 4, pad_value=255).permute(1, 2, 0).numpy())
        ax.set_title(f'{name} canvas, 64x32 windows every 16 px'); ax.axis('off')
    save_figure(fig, dest/'canvas.png', bbox_inches='tight')
    fig, ax = plt.subplots(figsize=(10, 3))
    real2 = torch.cat([real, real.roll(1, 0)], -1)  # two real faces side by side: the reference profile over 128 columns
    for name, imgs, ls in (('real faces (two side by side)', real2, '-'), ('trained canvas 64x64', sets['64x64'], '--'),
                           ('wide canvas 64x128', sets['64x128'], '-')):
        ax.plot(seam_profile(imgs).numpy(), ls, label=name)
    for x in range(16, 128, 16): ax.axvline(x, color='grey', ls=':', lw=1)
    ax.set_xlabel('column x (gradient between x-1 and x); dotted: window edges'); ax.set_ylabel('mean |grad|'); ax.legend(fontsize=8)
    save_figure(fig, dest/'seams.png', bbox_inches='tight')

if __name__ == '__main__':
    out, dest, *rest = sys.argv[1:]
    measure(out, dest, *map(int, rest))
