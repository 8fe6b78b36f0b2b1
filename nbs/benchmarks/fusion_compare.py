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
import sys, json, time, os, datetime, subprocess
from pathlib import Path
import numpy as np, torch, pandas as pd
from panda.core import write_json, atomic_file
from panda.cli import load_images, sample_run
from panda.sample import FUSIONS
from panda.train import load_checkpoint
from panda.metrics import seam_ratio, seam_profile, swd, fid_kid, colourfulness

def measure(dest, n, sets):
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    rows, profiles = [], {}
    for name, run_dir in sets.items():
        run_dir = Path(run_dir)
        files = ['shared.pt'] if (run_dir/'shared.pt').is_file() else ['model_l.pt', 'model_r.pt']
        run = json.loads((run_dir/'run.json').read_text()); sm = run['sampler']
        size = run['recipe']['size']
        real = torch.from_numpy(load_images(None, size)).permute(0, 3, 1, 2).contiguous()
        ridx = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:n]
        profiles[f'real {size}'] = dict(x=seam_profile(real).tolist(), y=seam_profile(real, 'y').tolist())
        info = load_checkpoint(run_dir/files[0])[1]
        grid = info['grid']
        for rule in FUSIONS:
            if getattr(FUSIONS[rule], 'shift', None) and (info['method'] != 'shared' or info['cond'] != 'none'): continue
            t0, c0 = time.perf_counter(), os.times()
            x = sample_run([str(run_dir/f) for f in files], out=str(dest/'tmp.png'), n=n, method=sm['method'], steps=sm['n_steps'],
                           eta=sm['eta'], seed=0, precision=run['precision'], ema=sm['weights'] == 'ema', progress=False, fusion=rule)
            wall, user = time.perf_counter()-t0, os.times().user-c0.user
            fk = fid_kid(x, real)
            rows.append(dict(models=name, fusion=rule, seam_ratio=seam_ratio(x, real, grid=grid), swd=swd(x, real[ridx])['swd_mean'],
                             fid=fk['fid'], kid=fk['kid_mean'], colourfulness=colourfulness(x), s_per_image=wall/n, user_s_per_image=user/n))
            profiles[f'{name} | {rule}'] = dict(x=seam_profile(x).tolist(), y=seam_profile(x, 'y').tolist(), seams=list(map(list, grid.seams)),
                                               real=f'real {size}')
            print(rows[-1], flush=True)
    (dest/'tmp.png').unlink(missing_ok=True)
    df = pd.DataFrame(rows)
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    meta = dict(date=datetime.datetime.now().isoformat(timespec='seconds'), command=' '.join(sys.argv), commit=commit, n=n,
                threads=torch.get_num_threads(), real='592 embedded emoji faces at each run size', torch=torch.__version__,
                sets={k: str(v) for k, v in sets.items()})
    write_json(dict(meta=meta, rows=rows, profiles=profiles), dest/'fusion.json')
    with atomic_file(dest/'fusion.csv', 'w') as f: df.to_csv(f, index=False)
    heatmaps(profiles, dest/'seam_heatmaps.png')
    print(df.to_string())

def heatmaps(profiles, path):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
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
    with atomic_file(path) as f: fig.savefig(f, format='png', dpi=80, bbox_inches='tight')
    plt.close(fig)

if __name__ == '__main__':
    dest, n, *sets = sys.argv[1:]
    measure(dest, int(n), dict(o.split('=', 1) for o in sets))
