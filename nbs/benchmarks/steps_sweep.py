"""Issue 10, part 3: quality against the number of sampling steps, for plain DDPM and for the averaged samplers, on the CPU.

    python nbs/benchmarks/steps_sweep.py DEST N NAME=RUN_DIR[:FUSION] [NAME=RUN_DIR[:FUSION] ...] [--steps 10,20,50,100,250] [--etas 0]
                                         [--seeds 0]

Each RUN_DIR is the folder of a `panda_train` run: `ddpm.pt` (plain DDPM, `--method ddpm`), `model_l.pt`/`model_r.pt`
(PANDA's two window models) or `shared.pt` (the shared window model); FUSION is the rule of `panda.sample.FUSIONS` that
makes the windows one step (default: 'uniform', the paper's). Every set samples the same N images (the same seed, so
the same starting noise for every sampler and step count) with DDIM at each of `--steps` for each DDIM `--etas`
(0: deterministic, the DDIM paper's fast sampler; 1: stochastic like DDPM), and with the ancestral DDPM sampler over all
1000 steps, the reference. Each row is measured against the 592 embedded faces at the run's size: FID and KID (all 592),
SWD (256 real faces), the seam ratio at the windows' edges (`seam_ratio(grid=)`; for plain DDPM at the edges of the
first windowed set's layout, where a windowed sampler would put them) and the time per image, wall and user (CPU).
The speed-up is the 1000-step row's wall time over the row's; `fid_vs_1000` is the row's FID over the 1000-step FID.
The 1000-step reference runs for seed 0. Other `--seeds` (e.g. `--steps 50 --etas 1 --seeds 1,2,3,4` into the same
DEST) add rows of other images at the same settings: their spread is the noise of one FID figure at this N.

Rows are written as they finish (`DEST/steps.csv`, `steps.json`, atomically), and a rerun skips the rows that are there:
a killed sweep continues where it stopped. At the end: `steps.png` (FID, KID, SWD and seam ratio against steps, the
1000-step DDPM as a dotted line) and `samples.png` (the first 8 images of every row, one row of pictures per sampler and
step count). Run nothing else heavy meanwhile: the times are the measurement.
"""
import json, argparse
from pathlib import Path
import numpy as np, pandas as pd
from panda.core import write_json, atomic_file, as_uint8
from panda.pipeline import Pipeline
from panda.measure import Timer
from panda.report import real_images, quality, run_meta, save_figure

def _key(r): return (r['sampler'], r['method'], int(r['steps']), float(r['eta']), int(r.get('seed', 0)))

def sweep(dest, n, sets, steps=(10, 20, 50, 100, 250), etas=(0.,), seeds=(0,)):
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    (dest/'previews').mkdir(exist_ok=True)
    old = json.loads((dest/'steps.json').read_text()) if (dest/'steps.json').is_file() else None
    if old and old['meta']['n'] != n: raise ValueError(f"{dest} holds a sweep of n={old['meta']['n']} images, not {n}: give another DEST.")
    rows = old['rows'] if old else []
    done = {_key(r) for r in rows}
    meta = run_meta(n=n, real='592 embedded emoji faces at each run size',
                    sets={**(old['meta']['sets'] if old else {}), **{k: str(v) for k, v in sets.items()}})  # every set in DEST
    meta['started'] = old['meta'].get('started', old['meta']['date']) if old else meta['date']
    meta['commands'] = (old['meta'].get('commands', [old['meta']['command']]) if old else []) + [meta['command']]  # every invocation
    runs = {name: (Path(spec.split(':')[0]), spec.split(':')[1] if ':' in spec else 'uniform') for name, spec in sets.items()}
    pipes = {name: Pipeline.from_run(run_dir) for name, (run_dir, _) in runs.items()}  # every run checked before any work
    ref_grid = next((p.grid for p in pipes.values() if p.method != 'ddpm'), None)  # plain DDPM's seams: where windows would put them
    for name, (run_dir, fusion) in runs.items():
        pipe = pipes[name]
        windowed = pipe.method != 'ddpm'
        grid = pipe.grid if windowed else ref_grid
        real = real_images(size=pipe.size[0])
        todo = [(m, k, e, sd) for sd in seeds for m, k, e in [('ddpm', 1000, 1.)]*(sd == 0) + [('ddim', s, e) for e in etas for s in steps]]
        for method, k, eta, seed in todo:
            if (name, method, k, eta, seed) in done: continue
            with Timer() as tm: x = as_uint8(pipe(n, seed=seed, sampler=method, steps=k, eta=eta, fusion=fusion if windowed else None))
            q = quality(x, real, grid=grid, fid=True, swd_n=256)
            row = dict(sampler=name, method=method, steps=k, eta=eta, seed=seed, fusion=fusion if windowed else None, fid=q['fid'],
                       kid=q['kid'], kid_std=q['kid_std'], swd=q['swd'], seam_ratio=q['seam_ratio_layout'] if grid is not None else None,
                       s_per_image=tm.elapsed/n, user_s_per_image=tm.user/n, run=str(run_dir), precision=pipe.defaults['precision'],
                       commit=meta['commit'])
            if seed == 0: np.save(dest/'previews'/f'{name}_{method}{k}_eta{eta:g}.npy', x[:8].numpy())
            rows.append(row); done.add(_key(row))
            _write(dest, meta, rows)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    df = _write(dest, meta, rows)
    plot(df, dest/'steps.png'); previews(df, dest)
    print(df.drop(columns=['run', 'commit'], errors='ignore').to_string())

def _write(dest, meta, rows):
    "Add the speed-up and FID ratio against each sampler's 1000-step row, and write csv and json atomically"
    df = pd.DataFrame(rows)
    df['seed'] = df['seed'].fillna(0).astype(int) if 'seed' in df else 0
    ref = df[(df.method == 'ddpm') & (df.seed == 0)].set_index('sampler')
    df['speedup'] = [ref.s_per_image.get(s, np.nan)/t for s, t in zip(df.sampler, df.s_per_image)]
    df['fid_vs_1000'] = [f/ref.fid.get(s, np.nan) for s, f in zip(df.sampler, df.fid)]
    write_json(dict(meta=meta, rows=json.loads(df.to_json(orient='records'))), dest/'steps.json')
    with atomic_file(dest/'steps.csv', 'w') as f: df.to_csv(f, index=False)
    return df

def plot(df, path):
    "FID, KID, SWD and seam ratio against steps (seed 0), with the spread over seeds as error bars where there are several"
    import matplotlib.pyplot as plt
    spread = df.groupby(['sampler', 'method', 'steps', 'eta']).filter(lambda g: len(g) > 1)
    df = df[df.seed == 0]
    cols = [('fid', 'FID (lower is better)'), ('kid', 'KID'), ('swd', 'SWD'), ('seam_ratio', 'seam ratio (1: as in the data)')]
    fig, axs = plt.subplots(1, len(cols), figsize=(5*len(cols), 4.6))
    for (c, title), ax in zip(cols, axs):
        for i, s in enumerate(df.sampler.unique()):
            d = df[df.sampler == s]; col = f'C{i}'
            for eta, ls in ((0., '-'), (1., '--')):
                e = d[(d.method == 'ddim') & (d.eta == eta)].sort_values('steps')
                if len(e): ax.plot(e.steps, e[c], ls, marker='o', color=col, label=f'{s}, DDIM eta {eta:g}')
                sp = spread[(spread.sampler == s) & (spread.method == 'ddim') & (spread.eta == eta)].groupby('steps')[c]
                if len(sp): ax.errorbar(sp.mean().index, sp.mean(), sp.std(), color=col, capsize=4, ls='none', marker='x')
            r = d[d.method == 'ddpm']
            if len(r): ax.axhline(float(r[c].iloc[0]), color=col, ls=':', lw=1.2, label=f'{s}, DDPM 1000 steps')
        ax.set_xscale('log'); ax.set_xlabel('sampling steps'); ax.set_title(title, fontsize=10)
    fig.legend(*axs[0].get_legend_handles_labels(), fontsize=7, loc='lower center', ncol=5, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    save_figure(fig, path)

def previews(df, dest):
    "One line of 8 images for each row of the sweep (seed 0), labelled with the sampler, steps and FID"
    import matplotlib.pyplot as plt
    df = df[df.seed == 0]
    fig, axs = plt.subplots(len(df), 1, figsize=(5.2, 0.62*len(df)), squeeze=False)
    for ax, r in zip(axs[:, 0], df.itertuples()):
        x = np.load(dest/'previews'/f'{r.sampler}_{r.method}{r.steps}_eta{r.eta:g}.npy')
        ax.imshow(np.concatenate(list(x.transpose(0, 2, 3, 1)), axis=1), interpolation='nearest'); ax.set_xticks([]); ax.set_yticks([])
        ax.set_ylabel(f'{r.sampler}\n{r.method.upper()} {r.steps}' + (f' eta {r.eta:g}' if r.method == 'ddim' else '') + f'\nFID {r.fid:.0f}',
                      rotation=0, ha='right', va='center', fontsize=6)
    fig.subplots_adjust(left=0.2, right=0.99, top=0.995, bottom=0.005, hspace=0.08)
    save_figure(fig, dest/'samples.png')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('dest'); p.add_argument('n', type=int); p.add_argument('sets', nargs='+', help='NAME=RUN_DIR[:FUSION]')
    p.add_argument('--steps', default='10,20,50,100,250'); p.add_argument('--etas', default='0'); p.add_argument('--seeds', default='0')
    a = p.parse_args()
    sweep(a.dest, a.n, dict(o.split('=', 1) for o in a.sets), tuple(int(s) for s in a.steps.split(',')),
          tuple(float(e) for e in a.etas.split(',')), tuple(int(s) for s in a.seeds.split(',')))
