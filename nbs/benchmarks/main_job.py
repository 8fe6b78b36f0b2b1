"""The main job, measured: `panda_train` with no arguments under `/usr/bin/time -v`, and the quality of its grid.

    python nbs/benchmarks/main_job.py run OUT [panda_train flags]  # time the job into OUT (OUT/time_v.txt), then eval
    python nbs/benchmarks/main_job.py eval OUT_OR_PNG              # quality of OUT/samples.npz, or of a grid PNG
    python nbs/benchmarks/main_job.py seeds OUT [N]                # quality of N grids (seeds 0..N-1, default 5) from OUT's checkpoints

The grid is judged against the embedded emoji faces at 32x32 (592 images): FID and KID (torch-fidelity, all real
images), SWD (the mean over 10 random real subsets of the grid's size, since SWD compares equal-sized sets) and the
colourfulness of both. FID of a 36-image grid is biased upwards by the small sample, equally for every 36-image
grid, so grids compare with each other but not with the 512-sample benchmark figures.
Writes `quality.json` beside the samples.

One 36-image grid is a noisy measurement: grids of the same checkpoints with other seeds differ by about 10 in FID (sd)
and 5 in SWD. `seeds` samples N grids from a run's checkpoints with the run's own sampler settings (`run.json`; seed 0
is the run's grid) and writes `quality_seeds.json`: each grid's figures and their mean and sd, which is what two
recipes should be compared by.
"""
import sys, subprocess, json, datetime, time
from pathlib import Path
import numpy as np, torch
from panda.core import write_json, as_uint8
from panda.sample import load_image_grid, save_image_grid
from panda.pipeline import Pipeline
from panda.metrics import swd
from panda.report import real_images, quality

def grid_quality(fake, size=32, n_real_subsets=10, seed=0):
    real = real_images(size=size)
    q = quality(fake, real, fid=True)
    gen = torch.Generator().manual_seed(seed)
    swds = [swd(fake, real[torch.randperm(len(real), generator=gen)[:len(fake)]], seed=i)['swd_mean'] for i in range(n_real_subsets)]
    return dict(n_fake=len(fake), n_real=len(real), fid=q['fid'], kid=q['kid'], kid_std=q['kid_std'],
                swd=float(np.mean(swds)), swd_sd_over_real_subsets=float(np.std(swds)),
                colourfulness=q['colourfulness'], colourfulness_real=q['colourfulness_real'])

def evaluate(src):
    src = Path(src)
    if src.suffix == '.png': fake, dest = load_image_grid(src, 32), src.with_suffix('.quality.json')
    else: fake, dest = torch.from_numpy(np.load(src/'samples.npz')['images']), src/'quality.json'
    q = dict(source=str(src), date=datetime.datetime.now().isoformat(timespec='seconds'), **grid_quality(fake))
    write_json(q, dest)
    print(json.dumps(q, indent=1))
    return q

def seeds(out, n=5):
    out = Path(out); run = json.loads((out/'run.json').read_text())
    sm = run['sampler']                                   # for the grid's size and the record; the pipeline samples as the run did
    pipe = Pipeline.from_run(out)
    grids = []
    for seed in range(n):
        t = time.time()
        x = pipe(sm['n'], seed=seed)
        save_image_grid(x, out/f'grid_seed{seed}.png')
        q = grid_quality(as_uint8(x)); q.update(seed=seed, sample_seconds=round(time.time()-t, 1)); grids.append(q)
        print(seed, {k: round(q[k], 3) for k in ('fid', 'kid', 'swd', 'colourfulness')}, flush=True)
    summary = {f'{k}_{f.__name__}': float(f([g[k] for g in grids])) for k in ('fid', 'kid', 'swd', 'colourfulness') for f in (np.mean, np.std)}
    res = dict(source=str(out), date=datetime.datetime.now().isoformat(timespec='seconds'), n_grids=n, sampler=sm,
               precision=pipe.defaults['precision'], **summary, grids=grids)
    write_json(res, out/'quality_seeds.json')
    print(json.dumps(summary, indent=1))
    return res

if __name__ == '__main__':
    cmd, target, *flags = sys.argv[1:]
    if cmd == 'run':
        out = Path(target); out.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(['/usr/bin/time', '-v', '-o', str(out/'time_v.txt'), 'panda_train', '--out', str(out), *flags])
        if res.returncode: sys.exit(res.returncode)
        print(open(out/'time_v.txt').read())
    elif cmd == 'seeds': seeds(target, *map(int, flags)); sys.exit()
    elif cmd != 'eval': sys.exit(f"unknown command {cmd!r}: use 'run', 'eval' or 'seeds'")
    evaluate(target)
