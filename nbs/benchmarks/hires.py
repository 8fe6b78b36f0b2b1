"""Issue 20, part 4: the shared model at 64x64 through nine 32x32 windows against a 64x64 DDPM with the same UNet, at equal wall clock.

    python nbs/benchmarks/hires.py run [OUT] [--budget 2400] [--cond coords+canvas] [--threads 1]   # train (or continue) both, record their rows
    python nbs/benchmarks/hires.py table [OUT]                                               # the ratios, the curves, the grids side by side

OUT defaults to nbs/benchmarks/results/converge_hires. Both methods are `panda_train` runs with `--recipe converge` (the
cpu recipe's tiny UNet, a constant learning rate of 1e-3) on the 592 faces at 64x64, each trained for `--budget`
seconds of training wall time (`--time_budget`: its training batches; evaluations and checkpoints not counted), about
40 minutes each on one thread, and evaluated as they go with 256 samples (`--eval_every auto`: evaluating costs about
10% of training). The shared model is one UNet for every window of a 4x4 grid of 16 px tiles, 2x2-tile windows, stride
one tile (nine 32x32 windows), with the conditioning `--cond` (default 'coords+canvas', the one the converge rows of the shared variants chose).

At the end each is measured at K = 296 samples against the 592 faces at 64x64, with the floor at the same counts, and
its row is appended to OUT/hires.csv at once. A third run, `shared64_steps`, trains the shared model again from scratch
for DDPM's number of steps (its epochs: DDPM's recorded steps over its steps per epoch, rounded), so that `table` gives the
shared/DDPM ratios at equal wall clock (ddpm64 against shared64) and at equal steps (ddpm64 against shared64_steps), both
at K = 296, with the grids side by side.
Targets (the issue): FID at most 1.15 times DDPM's at equal wall clock, at no more than 0.35 of its training memory.
Run one at a time, nothing heavy beside it; a run stopped is continued by the next `run` (`panda_train --resume`).
"""
import sys, os, json, subprocess, argparse, shutil
from pathlib import Path
import pandas as pd, torch
sys.path.insert(0, str(Path(__file__).parent))
from converge import eval_rows, memory, _panda_train, append_row   # the converge benchmark's curve reader, memory measurement, row writer
from panda.core import as_uint8, write_json
from panda.report import real_images, run_meta, save_figure
from panda.pipeline import Pipeline
from panda.evaluate import RealSet, evaluate_samples, plot_quality

OUT = Path(__file__).parent/'results'/'converge_hires'
K = 296
SHARED = ['--method', 'shared', '--grid', '4x4', '--window', '2x2']
METHODS = {'ddpm64': ['--method', 'ddpm'], 'shared64': SHARED, 'shared64_steps': SHARED}
QUALITY = ('n', 'n_real', 'kid', 'fid', 'swd', 'seam_ratio', 'seam_ratio_layout', 'copies_px', 'n_novel', 'kid_novel',
           'floor_fid', 'floor_kid', 'floor_fid_heldout', 'floor_copies_px')

def equal_epochs(out):
    "The epochs that give the shared model DDPM's number of steps: DDPM's recorded steps over its steps per epoch"
    rows = eval_rows(out/'ddpm64')   # the first evaluation comes after the first epoch: its step is the steps per epoch
    return max(1, round(rows[-1]['step']/(rows[0]['step']/rows[0]['epoch'])))

def flags(method, out, budget, cond):
    extra = ['--cond', cond] if method.startswith('shared') else []
    length = (['--epochs', str(equal_epochs(out))] if method == 'shared64_steps' else
              ['--time_budget', str(budget), '--epochs', '100000'])
    return METHODS[method] + extra + length + ['--recipe', 'converge', '--size', '64', '--eval_every', 'auto',
                                               '--n_samples', '36', '--workers', '1']

def train(method, out, budget, cond, threads):
    "Train (or continue) `method` in out/method; returns its run record"
    d = out/method
    rec = json.loads((d/'run.json').read_text()) if (d/'run.json').is_file() else None
    if rec is not None and rec.get('status') == 'finished': return rec
    cmd = [_panda_train()] + (['--resume', str(d)] if rec is not None else flags(method, out, budget, cond) + ['--out', str(d)])
    print(' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)})
    return json.loads((d/'run.json').read_text())

def measure(method, out, real):
    "The row of `method`: its steps and training time from its evaluation log, memory, and quality at K samples against the floor"
    d = out/method
    rows = eval_rows(d)
    pipe = Pipeline.from_run(d)
    x = as_uint8(pipe(K, seed=0))
    q = evaluate_samples(x, real, pipe.grid, seed=0)
    last = rows[-1] if rows else {}
    return dict(method=method, steps=int(last.get('step', 0)), images_seen=last.get('images_seen'), n_evals=len(rows),
                train_s=last.get('train_s'), train_user_s=last.get('train_user_s'),   # training batches, across resumes (the evaluation log's)
                **memory(d, METHODS[method]), **{k: q[k] for k in QUALITY})

def run(out, budget, cond, threads):
    out.mkdir(parents=True, exist_ok=True)
    csv = out/'hires.csv'
    done = set(pd.read_csv(csv).method) if csv.is_file() else set()
    torch.set_num_threads(threads)
    real = RealSet(real_images(size=64))
    for m in METHODS:
        if m in done: print(f"{m}: recorded in {csv}, skipped"); continue
        train(m, out, budget, cond, threads)
        row = measure(m, out, real)
        append_row(csv, row)
        write_json(run_meta(torch_threads_per_process=threads, method=m, budget_s=budget), out/f'{m}_meta.json')
        print({k: row[k] for k in ('method', 'steps', 'kid', 'fid', 'floor_fid', 'train_mem_gib')}, flush=True)
    table(out)

def table(out):
    runs = {m: r for m in METHODS if (out/m).is_dir() and (r := eval_rows(out/m))}
    if runs: save_figure(plot_quality(runs, None, 'hires: 64x64, KID, FID, SWD while training (256 samples each)'), out/'hires_curves.png')
    csv = out/'hires.csv'
    if not csv.is_file(): return
    df = pd.read_csv(csv).set_index('method')
    print(df.to_string())
    if {'ddpm64', 'shared64'} <= set(df.index):
        d, s = df.loc['ddpm64'], df.loc['shared64']
        r = {f'{k}_ratio': s[k]/d[k] for k in ('fid', 'kid', 'swd', 'train_mem_gib', 'sample_mem_gib', 'train_s')}
        if 'shared64_steps' in df.index:
            e = df.loc['shared64_steps']
            r.update(equal_steps_steps=int(e['steps']), **{f'equal_steps_{k}_ratio': e[k]/d[k] for k in ('fid', 'kid', 'swd', 'train_s')})
        print(r)
        write_json(r, out/'ratios.json')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, len(df.index), figsize=(6*len(df.index), 6), squeeze=False)
    for ax, m in zip(axs[0], df.index):
        g = sorted((out/m).glob('samples*.png'))
        if g: ax.imshow(plt.imread(g[-1]))
        ax.set_title(f"{m}: FID {df.loc[m, 'fid']:.1f}, {int(df.loc[m, 'steps'])} steps"); ax.axis('off')
    save_figure(fig, out/'hires_grids.png')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['run', 'table'])
    p.add_argument('out', nargs='?', default=str(OUT))
    p.add_argument('--budget', type=float, default=2400., help='seconds of training wall time per method (--time_budget)')
    p.add_argument('--cond', default='coords+canvas', help="the shared model's conditioning (panda.shared.CONDS), chosen from the converge rows")
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    if a.what == 'run': run(Path(a.out), a.budget, a.cond, a.threads)
    else: table(Path(a.out))
