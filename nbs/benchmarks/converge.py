"""Table 1 at convergence, on a CPU: each method trained until its KID stops improving, then measured at its plateau.

    python nbs/benchmarks/converge.py run [OUT] [--methods ddpm,panda,...] [--threads 1]   # train (or continue) each method, record its row
    python nbs/benchmarks/converge.py table [OUT]                                            # Table 1 at the plateau and the curves' figure

OUT defaults to nbs/benchmarks/results/converge_cpu. Each method is one `panda_train` run in OUT/<method>, with the
`cpu` recipe's network and data (the tiny UNet on the 592 embedded faces at 32x32, batch 32, EMA 0.995, v-prediction,
min-SNR-5), a constant learning rate (`--lr_schedule constant --lr 1e-3`: a one-cycle schedule ends its run at its own
length, so its curve flattens wherever the run was told to end) and up to `--epochs` epochs, evaluated every
`EVAL_EVERY` steps with 256 samples of the run's sampler (DDIM-25, eta 1; `panda.evaluate.EvalCB`).

The stopping rule (`panda.evaluate.plateau`): with at least 6 evaluations, a run has plateaued when the best KID of the
last third of its evaluations is less than 5% better than the best KID before them. DDPM and the shared models stop
there (`--stop_plateau`); PANDA's two window models train separately, so PANDA trains for the same number of epochs
DDPM needed (or `--epochs`) and the rule is read from its curve. The plateau is reached at the first evaluation within
5% of the best KID of the curve (`plateau_reached`): the time and images seen to reach it are read from that row.

At the end of each run the method is measured at K = 296 samples (the run's sampler, seed 0) against the 592 faces,
with the floor at the same counts (296 real faces against all 592, and against the other 296), and its row is
appended to OUT/converge.csv at once. A run interrupted (Ctrl-C, a lost session) continues where it stopped on the
next `run`: `panda_train --resume` continues the method's folder, and methods with a row are skipped.

Run one at a time, nothing heavy beside it: the time columns are wall and CPU user seconds of this machine.
"""
import sys, os, json, subprocess, argparse, datetime, shutil, copy, contextlib
from pathlib import Path
import numpy as np, pandas as pd, torch
from panda.core import write_json, as_uint8, atomic_file
from panda.report import real_images, run_meta, save_figure
from panda.pipeline import Pipeline
from panda.evaluate import RealSet, evaluate_samples, plot_quality, plateau, plateau_reached
from panda.measure import MemoryProbe
from panda.learner import paper_adam
from step_memory import step as train_step   # the one measured training step of step_memory.py, beside this script
from panda.shared import SharedUNet

HERE = Path(__file__).parent
OUT = HERE/'results'/'converge_cpu'
EVAL_EVERY = 850    # training steps between evaluations: 50 epochs of the 562 training faces at batch 32
METHODS = {         # panda_train flags of each method beside the common ones
    'ddpm': ['--method', 'ddpm'],
    'panda': ['--method', 'panda'],
    # One model for every window, half-width windows (32x16 in the 32x32 faces, 3 of them; 0.54 of DDPM's training memory):
    'shared': ['--method', 'shared', '--grid', '1x4', '--window', '1x2', '--cond', 'coords'],                # told where its window lies
    'shared_canvas': ['--method', 'shared', '--grid', '1x4', '--window', '1x2', '--cond', 'coords+canvas'],  # and shown the pooled canvas
    'shared_full': ['--method', 'shared', '--grid', '1x4', '--window', '1x2', '--cond', 'coords', '--full_p', '0.25'],  # a quarter of batches full images
}
COMMON = ['--recipe', 'cpu', '--lr_schedule', 'constant', '--lr', '1e-3', '--eval_every', str(EVAL_EVERY), '--eval_n', '256',
          '--n_samples', '36']
K = 296

def _panda_train(): return shutil.which('panda_train') or str(Path(sys.executable).parent/'panda_train')

def train(method, out, epochs, threads):
    "Train (or continue) `method` in out/method with panda_train; returns the run record"
    d = out/method
    rec = json.loads((d/'run.json').read_text()) if (d/'run.json').is_file() else None
    if rec is not None and rec.get('status') == 'finished': return rec
    # PANDA's two window models train side by side, one thread each: the last one's evaluations then use the other's
    # checkpoint of about the same step (`partner_steps`), and its curve is PANDA's at equal steps per model
    flags = METHODS[method] + COMMON + ['--epochs', str(epochs), '--out', str(d), '--workers', '2' if method == 'panda' else '1']
    if method != 'panda': flags += ['--stop_plateau']
    cmd = [_panda_train()] + (['--resume', str(d)] if rec is not None else flags)
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    print(' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)
    return json.loads((d/'run.json').read_text())

def eval_rows(d):
    "The evaluation curve of the run in `d` (the model that evaluates: ddpm, shared, or PANDA's last window)"
    f = sorted(Path(d).glob('*_eval.csv'))
    return pd.read_csv(f[-1]).to_dict('records') if f else []

def train_memory(model, shape, bs=32, full=None):
    "Peak tensor memory (GiB, `MemoryProbe` on the CPU) of one Adam step of `model` on a batch of `bs` inputs of `shape` (h, w)"
    torch.manual_seed(0)
    m = copy.deepcopy(model).train().requires_grad_(True)
    opt = paper_adam(list(m.parameters()), lr=1e-4)
    x, t = torch.randn(bs, 3, *shape), torch.randint(0, 1000, (bs,))
    args = ()
    if isinstance(m, SharedUNet):
        args = (torch.zeros(bs, 2, dtype=torch.long),) + ((torch.randn(bs, 3, *full),) if m.takes_canvas else ())
    eps = torch.randn_like(x)
    train_step(m, opt, x, t, eps, args=args)
    with MemoryProbe('cpu', resident=(m, opt, x, t, eps) + args) as p: train_step(m, opt, x, t, eps, p, args)
    return p.result['peak_gib']

def memory(d, flags):
    "Training memory (the largest step a model of the method takes: a window, or a full image for DDPM and --full_p batches) and sampling memory (one sampling step of 64 images) in GiB"
    pipe = Pipeline.from_run(d)
    full = tuple(pipe.size)
    shape = full if pipe.grid is None else tuple(pipe.grid.window_size)
    tr = max(train_memory(m, shape, full=full) for m in pipe.models)
    if '--full_p' in flags: tr = max(tr, train_memory(pipe.models[0], full, full=full))
    with torch.no_grad(), MemoryProbe('cpu', resident=tuple(pipe.models)) as p: pipe(64, seed=0, max_steps=1)
    return dict(train_mem_gib=tr, sample_mem_gib=p.result['peak_gib'])

def measure(method, out, rec, real):
    "The row of `method`: its plateau from its curve, and its quality at K samples against the floor"
    d = out/method
    rows = eval_rows(d)
    kids = [r['kid'] for r in rows]
    i = plateau_reached(kids)
    pipe = Pipeline.from_run(d)
    x = as_uint8(pipe(K, seed=0))
    q = evaluate_samples(x, real, pipe.grid, seed=0)
    models = rec['models']
    last = rows[-1] if rows else {}
    return dict(method=method, epochs=int(last.get('epoch', 0)), steps=int(last.get('step', 0)), plateau_by_rule=plateau(kids),
                n_evals=len(rows), plateau_step=rows[i]['step'] if i is not None else None,
                plateau_images_seen=rows[i]['images_seen'] if i is not None else None,
                plateau_train_user_s=rows[i]['train_user_s'] if i is not None else None,
                plateau_train_s=rows[i]['train_s'] if i is not None else None,
                best_eval_kid=min(kids) if kids else None,
                **train_time(rows, len(models)), n_models=len(models),
                **memory(d, METHODS[method]),
                **{k: q[k] for k in ('n', 'n_real', 'kid', 'kid_std', 'fid', 'swd', 'seam_ratio', 'seam_ratio_layout', 'copies_px', 'n_novel', 'kid_novel', 'fid_novel',
                                     'copies_inc', 'floor_fid', 'floor_kid', 'floor_fid_heldout', 'floor_kid_heldout', 'floor_copies_px',
                                     'floor_copies_inc')})

def train_time(rows, n_models) -> dict:
    """Training wall and CPU user seconds of all a method's models, read from its evaluation log: the training batches only
    (no validation, evaluations or checkpoints), accumulated across resumes (`run.json`'s figures are the last invocation's).
    PANDA's curve is its evaluating window model's: both models' are `n_models` times that (they train the same steps)."""
    last = rows[-1] if rows else {}
    return dict(train_s_total=last.get('train_s', float('nan'))*n_models, train_user_s_total=last.get('train_user_s', float('nan'))*n_models)

def write_csv(df, csv, index=False):
    "Write the frame `df` to `csv` atomically (`panda.core.atomic_file`)"
    with atomic_file(csv, 'w') as f: df.to_csv(f, index=index)

def append_row(csv, row:dict):
    "Append `row` to the rows of `csv` (made if missing), atomically: a run stopped mid-write keeps the rows it had"
    write_csv(pd.DataFrame((pd.read_csv(csv).to_dict('records') if csv.is_file() else []) + [row]), csv)

def fill_train_time(csv, out):
    "Rows recorded by a version of this script that took the time totals from `run.json` (the last invocation only) get them from the logs"
    if not csv.is_file(): return
    df = pd.read_csv(csv)
    for i, r in df.iterrows():
        for k, v in train_time(eval_rows(out/r['method']), int(r['n_models'])).items(): df.loc[i, k] = v
    write_csv(df, csv)

def fill_memory(csv, out):
    "Rows recorded by a version of this script without the memory columns get them, measured from their runs"
    if not csv.is_file(): return
    df = pd.read_csv(csv)
    miss = [i for i, r in df.iterrows() if 'train_mem_gib' not in df or r.get('train_mem_gib') != r.get('train_mem_gib')]
    if not miss: return
    for i in miss:
        for k, v in memory(out/df.loc[i, 'method'], METHODS[df.loc[i, 'method']]).items(): df.loc[i, k] = v
    write_csv(df, csv)

def run(out, methods, epochs, threads):
    out.mkdir(parents=True, exist_ok=True)
    csv = out/'converge.csv'
    done = set(pd.read_csv(csv).method) if csv.is_file() else set()
    torch.set_num_threads(threads)
    real = RealSet(real_images(size=32))
    fill_memory(csv, out); fill_train_time(csv, out)
    for m in methods:
        if m in done: print(f"{m}: recorded in {csv}, skipped"); continue
        ep = epochs
        if m == 'panda' and csv.is_file() and 'ddpm' in done:   # PANDA: the epochs DDPM needed to reach its plateau, per model
            ep = int(pd.read_csv(csv).set_index('method').loc['ddpm', 'epochs'])
        rec = train(m, out, ep, threads)
        row = measure(m, out, rec, real)
        append_row(csv, row)
        write_json(run_meta(torch_threads_per_process=threads, method=m), out/f'{m}_meta.json')
        print({k: row[k] for k in ('method', 'epochs', 'kid', 'fid', 'floor_fid', 'copies_px')}, flush=True)
    table(out)

def at_compute(rows, cpu_s, n_models):
    "The last evaluation of a curve whose training CPU seconds, all its models together, are at most `cpu_s`"
    ok = [r for r in rows if r['train_user_s'] * n_models <= cpu_s * 1.02]
    return ok[-1] if ok else None

def ratios(out):
    """Each method against DDPM at the plateau: memory, time and quality at equal steps per model; and at equal total
    compute, both ways: the method's curve at DDPM's total CPU seconds (where it trained longer), and DDPM's curve at the
    method's (where it trained less), read from the evaluations (256 samples each) with their FID ratio"""
    df = pd.read_csv(out/'converge.csv').set_index('method')
    if 'ddpm' not in df.index: return None
    d = df.loc['ddpm']
    res, dd = [], eval_rows(out/'ddpm')
    for m, r in df.iterrows():
        row = dict(method=m, **{f'{k}_ratio': r[k]/d[k] for k in ('train_mem_gib', 'sample_mem_gib', 'fid', 'kid', 'swd', 'train_user_s_total')
                                if k in df and d[k] == d[k] and d[k] != 0})
        n = r['n_models'] if m == 'panda' else 1    # PANDA's models train side by side: its curve's CPU seconds are one model's
        me = eval_rows(out/m)
        e = at_compute(me, d['train_user_s_total'], n)
        if e is not None: row.update(eval_step_at_ddpm_cpu=e['step'], eval_kid_at_ddpm_cpu=e['kid'], eval_fid_at_ddpm_cpu=e['fid'])
        cpu = min(r['train_user_s_total'], d['train_user_s_total'])   # equal compute: the lesser of the two totals
        a, b = at_compute(me, cpu, n), at_compute(dd, cpu, 1)
        if a is not None and b is not None:
            row.update(equal_cpu_s=cpu, equal_cpu_step=a['step'], equal_cpu_ddpm_step=b['step'], equal_cpu_fid=a['fid'],
                       equal_cpu_ddpm_fid=b['fid'], equal_cpu_fid_ratio=a['fid']/b['fid'], equal_cpu_kid_ratio=a['kid']/b['kid'])
        res.append(row)
    return pd.DataFrame(res).set_index('method')

def table(out):
    "The curves of every method in one figure, and the ratios to DDPM"
    fill_train_time(out/'converge.csv', out)
    runs = {m: eval_rows(out/m) for m in METHODS if (out/m).is_dir()}
    runs = {m: r for m, r in runs.items() if r}
    # PANDA's curve is measured by its last window model, whose CPU seconds are its own: both models' are about twice that
    runs = {m: [dict(r, train_user_s=r['train_user_s']*(2 if m == 'panda' else 1)) for r in rs] for m, rs in runs.items()}
    if runs: save_figure(plot_quality(runs, None, 'converge: KID, FID, SWD while training (256 samples each)'), out/'converge_curves.png')
    if (out/'converge.csv').is_file():
        print(pd.read_csv(out/'converge.csv').to_string())
        r = ratios(out)
        if r is not None:
            print(r.to_string())
            write_csv(r, out/'ratios.csv', index=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['run', 'table'])
    p.add_argument('out', nargs='?', default=str(OUT))
    p.add_argument('--methods', default=','.join(METHODS))
    p.add_argument('--epochs', type=int, default=1000, help='the most epochs a method trains (DDPM and shared models stop at their plateau)')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    ms = a.methods.split(',')
    bad = [m for m in ms if m not in METHODS]
    if bad: sys.exit(f"converge.py: unknown methods {bad}: choose from {list(METHODS)}")
    if a.what == 'run': run(Path(a.out), ms, a.epochs, a.threads)
    else: table(Path(a.out))
