"""Issue 21: what `--speed malloc_cache` (glibc keeps freed memory) does to a training step on a CPU.

    python nbs/benchmarks/malloc_cache.py [OUT] [--unet paper] [--precisions bf16] [--format channels_last] [--rounds 3] [--steps 2] [--bs 32]

OUT defaults to nbs/benchmarks/results/malloc_cache_cpu. The training step of `peers.py` (forward, MSE loss, backward,
Adam) for PANDA's UNet, and diffusers' twin when diffusers is installed, with glibc's default allocator and with
`panda.learner.set_malloc_cache`. An allocator's state cannot be put back once changed (glibc's adaptive mmap threshold
stays off once set), so each measurement is a fresh child process: one untimed step, then `--steps` timed ones, for
each library; the children alternate between the settings, round after round, one at a time, so both settings see the
same machine. Rows (every timed step: wall and CPU user seconds) go to OUT/steps.csv as each child ends; OUT/summary.csv
has the medians and the speed-up (default over cached), OUT/meta.json the run's record. Run it on a quiet machine.
"""
import sys, json, argparse, subprocess
from pathlib import Path
import pandas as pd, torch
sys.path.insert(0, str(Path(__file__).parent))
from peers import nets, step_fn, SIZES, PRECISIONS
from speed import FORMATS
from panda.core import atomic_file, write_json
from panda.report import run_meta
from panda.learner import set_malloc_cache
from panda.measure import Timer

def child(unet, prec, fmt, steps, bs, cached, threads):
    "One process's measurement: a JSON line per timed step"
    torch.set_num_threads(threads)
    if cached and set_malloc_cache() is None: sys.exit('malloc_cache.py: this C library is not glibc, so there is nothing to compare.')
    try: ns = nets(unet)
    except SystemExit: torch.manual_seed(0); from panda.unet import make_unet; ns = {'panda': make_unet(unet)}  # no diffusers: PANDA alone
    for lib, net in ns.items():
        f = step_fn(net, 'train', prec, bs, SIZES[unet], fmt)[0]; f()
        for i in range(steps):
            with Timer(torch.device('cpu')) as t: f()
            print(json.dumps(dict(lib=lib, step=i, step_s=t.elapsed, step_user_s=t.user)), flush=True)

def run(out, unet, precs, fmt, rounds, steps, bs, threads):
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for prec in precs:
        for r in range(rounds):
            for cached in (False, True):
                cmd = [sys.executable, __file__, '_child', '--unet', unet, '--precisions', prec, '--format', fmt, '--steps', str(steps),
                       '--bs', str(bs), '--threads', str(threads)] + (['--cached'] if cached else [])
                res = subprocess.run(cmd, capture_output=True, text=True, check=True)
                for line in res.stdout.splitlines():
                    if line.startswith('{'): rows.append(dict(unet=unet, precision=prec, memory_format=fmt, bs=bs, malloc_cache=cached, round=r, **json.loads(line)))
                with atomic_file(out/'steps.csv', 'w') as f: pd.DataFrame(rows).to_csv(f, index=False)
                print(*rows[-2:], sep='\n', flush=True)
    df = pd.DataFrame(rows)
    s = df.groupby(['unet', 'precision', 'memory_format', 'lib', 'malloc_cache']).agg(step_s=('step_s', 'median'), step_user_s=('step_user_s', 'median')).unstack('malloc_cache')
    s.columns = ['default_s', 'cached_s', 'default_user_s', 'cached_user_s']; s['speedup'] = s.default_s/s.cached_s
    with atomic_file(out/'summary.csv', 'w') as f: s.to_csv(f)
    write_json(run_meta(torch_threads=threads, rounds=rounds, steps=steps, bs=bs), out/'meta.json')
    print(s.to_string(float_format=lambda v: f'{v:.3f}'))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out', nargs='?', default=str(Path(__file__).parent/'results'/'malloc_cache_cpu'))
    p.add_argument('--unet', default='paper', choices=list(SIZES))
    p.add_argument('--precisions', default='bf16')
    p.add_argument('--format', default='channels_last', choices=list(FORMATS))
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--cached', action='store_true', help=argparse.SUPPRESS)
    a = p.parse_args()
    precs = a.precisions.split(',')
    if bad := [x for x in precs if x not in PRECISIONS]: sys.exit(f'malloc_cache.py: unknown precisions {bad}: choose from {list(PRECISIONS)}')
    if a.out == '_child': child(a.unet, precs[0], a.format, a.steps, a.bs, a.cached, a.threads)
    else: run(Path(a.out), a.unet, precs, a.format, a.rounds, a.steps, a.bs, a.threads)
