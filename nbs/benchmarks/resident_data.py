"""Issue 21, part 3: the training loader with the images resident on the device (`--speed resident_data`) against
fastai's per-image loader, per batch, in one process, beside the step it feeds.

    python nbs/benchmarks/resident_data.py run [OUT] [--device cpu] [--sizes 32,64] [--bs 32,128] [--epochs 3]
                                               [--rounds 3] [--threads 2]
    python nbs/benchmarks/resident_data.py table [OUT]

OUT defaults to nbs/benchmarks/results/resident_data_<device>. For each image size and batch size both loaders are
built from the embedded faces as `panda_train` builds them (`get_dls(..., flip=True)`, the same seed), checked to give
the same batches, then timed over `--epochs` whole epochs each (every batch read, put on the device, converted to
float and flipped; the device synchronised at both ends), the two alternating for `--rounds` rounds: the median seconds
per batch, wall and CPU user time. Beside them, for scale, the tiny UNet's fp32 training step at the same batch
(forward, MSE, backward, Adam; `speed.py`'s step, median of 3): the loader's share of a step is
loader / (loader + step). Rows are appended to OUT/resident_data.csv as they finish; a run again skips those recorded.
"""
import sys, argparse, statistics
from pathlib import Path
import pandas as pd, torch
sys.path.insert(0, str(Path(__file__).parent))
from converge import append_row
from speed import steps_of, timed, parse_list
from panda.core import write_json, resize_images
from panda.data import load_emoji_faces, get_dls, ResidentDL
from panda.report import run_meta
from panda.unet import make_unet
from panda.measure import Timer

def epochs_per_batch(dl, dev, epochs):
    "Wall and user seconds per batch over `epochs` epochs of `dl`"
    n = 0
    with Timer(dev) as tm:
        for _ in range(epochs):
            for (x0,) in dl: n += 1
    return tm.elapsed / n, tm.user / n

def measure(size, bs, dev, epochs, rounds):
    faces = resize_images(load_emoji_faces(), size)
    plain, res = [get_dls(faces, bs=bs, seed=0, flip=True, device=dev, resident=r) for r in (False, True)]
    assert isinstance(res.train, ResidentDL) and not isinstance(plain.train, ResidentDL)
    for a, b in zip(plain.train, res.train): assert torch.equal(a[0], b[0]), 'the loaders differ'   # one epoch: the same batches
    times = {'plain': [], 'resident': []}
    for _ in range(rounds):
        for k, d in (('plain', plain), ('resident', res)): times[k].append(epochs_per_batch(d.train, dev, epochs))
    torch.manual_seed(0)
    net = make_unet('tiny').to(dev).train()
    train, *_ = steps_of(net, dev, 'fp32', 3, size, size, bs, 'contiguous')
    train(); train()
    step_s, step_user_s = timed(train, dev, 3)
    row = dict(size=size, bs=bs, n_batches=len(plain.train), device=dev.type, epochs=epochs, rounds=rounds, step_s=step_s, step_user_s=step_user_s)
    for k, ts in times.items():
        row[f'{k}_s'] = statistics.median(t for t, _ in ts)
        row[f'{k}_user_s'] = statistics.median(u for _, u in ts)
        row[f'{k}_share'] = row[f'{k}_s'] / (row[f'{k}_s'] + step_s)
    row['speedup'] = row['plain_s'] / row['resident_s']
    return row

def run(out, dev, sizes, bss, epochs, rounds, threads):
    out.mkdir(parents=True, exist_ok=True)
    if dev.type == 'cpu': torch.set_num_threads(threads)
    csv = out/'resident_data.csv'
    done = {(r['size'], r['bs']) for r in pd.read_csv(csv).to_dict('records')} if csv.is_file() else set()
    write_json(run_meta(device=str(dev), torch_threads=threads if dev.type == 'cpu' else None, epochs=epochs, rounds=rounds), out/'resident_data_meta.json')
    for size in sizes:
        for bs in bss:
            if (size, bs) in done: continue
            row = measure(size, bs, dev, epochs, rounds)
            append_row(csv, row)
            print({k: (f'{v:.4g}' if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return table(out)

def table(out):
    csv = out/'resident_data.csv'
    if not csv.is_file(): return None
    t = pd.read_csv(csv).set_index(['size', 'bs'])[['plain_s', 'resident_s', 'speedup', 'plain_user_s', 'resident_user_s', 'step_s', 'plain_share', 'resident_share']]
    print(t.to_string(float_format=lambda v: f'{v:.4g}'))
    return t

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['run', 'table'])
    p.add_argument('out', nargs='?', default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--sizes', default='32,64')
    p.add_argument('--bs', default='32,128')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available(): sys.exit("resident_data.py: --device cuda, but no CUDA device is available here.")
    out = Path(a.out) if a.out else Path(__file__).parent/'results'/f'resident_data_{dev.type}'
    if a.what == 'table': table(out)
    else: run(out, dev, parse_list(a.sizes, kind=int), parse_list(a.bs, kind=int), a.epochs, a.rounds, a.threads)
