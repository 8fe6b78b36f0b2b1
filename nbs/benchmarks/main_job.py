"""The main job, measured: `panda_train` with no arguments under `/usr/bin/time -v`, and the quality of its grid.

    python nbs/benchmarks/main_job.py run OUT [panda_train flags]  # time the job into OUT (OUT/time_v.txt), then eval
    python nbs/benchmarks/main_job.py eval OUT_OR_PNG              # quality of OUT/samples.npz, or of a grid PNG

The grid is judged against the embedded emoji faces at 32x32 (592 images): FID and KID (torch-fidelity, all real
images), SWD (the mean over 10 random real subsets of the grid's size, since SWD compares equal-sized sets) and the
colourfulness of both. FID of a 36-image grid is biased upwards by the small sample, equally for every 36-image
grid, so grids compare with each other but not with the 512-sample benchmark figures.
Writes `quality.json` beside the samples.
"""
import sys, subprocess, json, datetime
from pathlib import Path
import numpy as np, torch
from panda.core import write_json
from panda.cli import load_images
from panda.sample import load_image_grid
from panda.metrics import fid_kid, swd, colourfulness

def grid_quality(fake, size=32, n_real_subsets=10, seed=0):
    real = torch.from_numpy(load_images(None, size)).permute(0,3,1,2).contiguous()
    fk = fid_kid(fake, real)
    gen = torch.Generator().manual_seed(seed)
    swds = [swd(fake, real[torch.randperm(len(real), generator=gen)[:len(fake)]], seed=i)['swd_mean'] for i in range(n_real_subsets)]
    return dict(n_fake=len(fake), n_real=len(real), fid=fk['fid'], kid=fk['kid_mean'], kid_std=fk['kid_std'],
                swd=float(np.mean(swds)), swd_sd_over_real_subsets=float(np.std(swds)),
                colourfulness=colourfulness(fake), colourfulness_real=colourfulness(real))

def evaluate(src):
    src = Path(src)
    if src.suffix == '.png': fake, dest = load_image_grid(src, 32), src.with_suffix('.quality.json')
    else: fake, dest = torch.from_numpy(np.load(src/'samples.npz')['images']), src/'quality.json'
    q = dict(source=str(src), date=datetime.datetime.now().isoformat(timespec='seconds'), **grid_quality(fake))
    write_json(q, dest)
    print(json.dumps(q, indent=1))
    return q

if __name__ == '__main__':
    cmd, target, *flags = sys.argv[1:]
    if cmd == 'run':
        out = Path(target); out.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(['/usr/bin/time', '-v', '-o', str(out/'time_v.txt'), 'panda_train', '--out', str(out), *flags])
        if res.returncode: sys.exit(res.returncode)
        print(open(out/'time_v.txt').read())
    elif cmd != 'eval': sys.exit(f"unknown command {cmd!r}: use 'run' or 'eval'")
    evaluate(target)
