"""Issue 10, part 2: every fusion rule on one seam measure, for the two-model PANDA and the shared window model, on the CPU.

    python nbs/benchmarks/fusion_compare.py DEST N NAME=RUN_DIR [NAME=RUN_DIR ...]

Each RUN_DIR is the folder of a `panda_train` run: `model_l.pt`/`model_r.pt` (PANDA's window models, e.g. `panda_train`
with no arguments: the `cpu` recipe, 32x32 faces, the paper's strips) or `shared.pt` (e.g. `panda_train --method shared`:
32x32 faces through 16x16 windows). Each model set samples N images with its run's own sampler (DDIM-25, eta 1, EMA
weights, the run's precision) under every rule of `panda.sample.FUSIONS` that applies to it (shifted windows only to a
shared model without coordinates), from the same seed. Measured against the 592 embedded faces at the run's size: the seam ratio at the layout's own window edges (`seam_ratio(grid=)`: mean |gradient| there over elsewhere,
generated over real), SWD (against 256 real faces), FID and KID (all 592), colourfulness, and the time per image (wall
and user). Writes `DEST/fusion.csv`, `fusion.json` (with the per-column and per-row gradient profiles) and
`seam_heatmaps.png`: for each model set and rule, the mean |gradient| at each column (and row) of the generated images
divided by the real images', 1 meaning as in the data.
"""
import sys
from pathlib import Path
import numpy as np, pandas as pd
from panda.core import write_json, atomic_file, as_uint8
from panda.sample import FUSIONS
from panda.pipeline import Pipeline
from panda.measure import Timer
from panda.metrics import seam_profile
from panda.report import real_images, quality, run_meta, save_figure

def measure(dest, n, sets):
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    rows, profiles = [], {}
    for name, run_dir in sets.items():
        pipe = Pipeline.from_run(run_dir)                 # the run's checkpoints and sampler: DDIM-25, eta 1, EMA, its precision
        size, grid = pipe.size[0], pipe.grid
        real = real_images(size=size)
        profiles[f'real {size}'] = dict(x=seam_profile(real).tolist(), y=seam_profile(real, 'y').tolist())
        for rule in FUSIONS:
            if getattr(FUSIONS[rule], 'shift', None) and (pipe.method != 'shared' or pipe.info.get('cond') != 'none'): continue
            with Timer() as tm: x = as_uint8(pipe(n, seed=0, fusion=rule))
            q = quality(x, real, grid=grid, fid=True)
            rows.append(dict(models=name, fusion=rule, seam_ratio=q['seam_ratio_layout'], swd=q['swd'], fid=q['fid'], kid=q['kid'],
                             colourfulness=q['colourfulness'], s_per_image=tm.elapsed/n, user_s_per_image=tm.user/n))
            profiles[f'{name} | {rule}'] = dict(x=seam_profile(x).tolist(), y=seam_profile(x, 'y').tolist(), seams=list(map(list, grid.seams)),
                                               real=f'real {size}')
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    meta = run_meta(n=n, real='592 embedded emoji faces at each run size', sets={k: str(v) for k, v in sets.items()})
    write_json(dict(meta=meta, rows=rows, profiles=profiles), dest/'fusion.json')
    with atomic_file(dest/'fusion.csv', 'w') as f: df.to_csv(f, index=False)
    heatmaps(profiles, dest/'seam_heatmaps.png')
    print(df.to_string())

def heatmaps(profiles, path):
    import matplotlib.pyplot as plt
    keys = [k for k in profiles if not k.startswith('real')]
    names = list(dict.fromkeys(k.split(' | ')[0] for k in keys))
    fig, axs = plt.subplots(2, len(names), figsize=(6*len(names), 5.5), squeeze=False)
    for j, nm in enumerate(names):
        ks = [k for k in keys if k.startswith(nm)]
        for i, a in enumerate('xy'):
            real = np.array(profiles[profiles[ks[0]]['real']][a][1:])
            m = np.stack([np.array(profiles[k][a][1:]) / real for k in ks])
            im = axs[i, j].imshow(m, cmap='RdBu_r', vmin=0, vmax=2, aspect='auto', extent=(0.5, len(real)+0.5, len(ks)-0.5, -0.5))
            for s in profiles[ks[0]]['seams'][0 if a == 'y' else 1]: axs[i, j].axvline(s, color='k', ls=':', lw=1)
            axs[i, j].set_yticks(range(len(ks))); axs[i, j].set_yticklabels([k.split(' | ')[1] for k in ks])
            axs[i, j].set_xlabel(('column x' if a == 'x' else 'row y') + ' (gradient to the previous one); dotted: window edges')
            axs[i, j].set_title(f'{nm}: |grad| generated / real', fontsize=10)
    fig.colorbar(im, ax=axs, shrink=0.6)
    save_figure(fig, path, bbox_inches='tight')

if __name__ == '__main__':
    dest, n, *sets = sys.argv[1:]
    measure(dest, int(n), dict(o.split('=', 1) for o in sets))
