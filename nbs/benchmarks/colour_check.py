"""The colour check of issue 7: train plain DDPM on greyscale copies of the embedded faces, sample, and measure how
much colour the samples have (`panda.metrics.colourfulness`: 0 for greyscale; the training images are exactly 0).

    python nbs/benchmarks/colour_check.py --out nbs/benchmarks/results/colour_check [--epochs 60] [--predictions eps v]

For each prediction target (eps, the paper's; v) it trains one model with the `cpu` recipe (EMA 0.995 kept) through
`panda.cli.train_run`, then samples `n` images from the same checkpoint with the raw and the EMA weights, with
deterministic DDIM-50 (and, with `--samplers ddim ddpm`, the 1000-step ancestral sampler), and records colourfulness,
SWD against the greyscale training images, and the time. Results: `results.json` (device, date, commit, command) in `--out`.
"""
import argparse, os, time
from pathlib import Path
from panda.core import as_uint8, write_json
from panda.config import RunConfig
from panda.cli import train_run
from panda.sample import save_image_grid
from panda.pipeline import Pipeline
from panda.metrics import colourfulness, swd
from panda.measure import device_info
from panda.report import real_images, run_meta

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='colour_check'); ap.add_argument('--epochs', type=int, default=60)
    ap.add_argument('--predictions', nargs='+', default=['eps', 'v']); ap.add_argument('--n', type=int, default=128)
    ap.add_argument('--samplers', nargs='+', default=['ddim'])  # 'ddpm' too: 1000 steps, ~20x the time
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    real = real_images(grey=True)
    rec = dict(meta=run_meta(device=device_info('cpu'), epochs=a.epochs, n=a.n, real_colourfulness=colourfulness(real)), runs={})
    for pred in a.predictions:
        run = out/f'ddpm_{pred}'
        t0, c0 = time.time(), os.times().user
        train_run(RunConfig(method='ddpm', grey=True, prediction=pred, epochs=a.epochs, out=run, n_samples=16, sampler='ddim',
                            sample_steps=50, device='cpu'), progress=False)
        train_s, train_user = time.time()-t0, os.times().user-c0
        for weights in ('raw', 'ema'):
            pipe = Pipeline.from_checkpoints([run/'ddpm.pt'], use_ema=weights == 'ema', device='cpu')
            for sampler in a.samplers:
                t0 = time.time()
                x = pipe(a.n, seed=0, sampler=sampler, steps=50, eta=0., bs=a.n, precision='fp32')
                save_image_grid(x[:256], run/f'samples_{weights}_{sampler}.png')
                x = as_uint8(x)
                r = dict(prediction=pred, weights=weights, sampler=sampler if sampler == 'ddpm' else 'ddim50-eta0',
                         colourfulness=colourfulness(x), swd=swd(x, real[:a.n])['swd_mean'], sample_s=round(time.time()-t0, 1),
                         train_s=round(train_s, 1), train_user_s=round(train_user, 1))
                rec['runs'][f'{pred}/{weights}/{sampler}'] = r
                print(r, flush=True)
                write_json(rec, out/'results.json')

if __name__ == '__main__': main()
