"""Issue 21, part 2: PANDA's UNet against diffusers' `UNet2DModel` of the same shape, in one process, with the roofline.

    python nbs/benchmarks/peers.py run [OUT] [--unets tiny,paper] [--bs 32] [--threads 2] [--steps 3] [--formats contiguous,channels_last]
    python nbs/benchmarks/peers.py table [OUT]                                                           # the speed ratios
    python nbs/benchmarks/peers.py profile [OUT] [--unets paper] [--precision bf16] [--phase train] [--formats channels_last]
    add --malloc_cache to either: glibc keeps freed memory for both libraries (`panda.learner.set_malloc_cache`)
    run also takes --precisions fp32,bf16 --phases train,infer (subsets) and --compile (both libraries under torch.compile)

OUT defaults to nbs/benchmarks/results/peers_cpu (install the peer with `pip install -e ".[peers]"`). For each UNet
preset (tiny: 32x32 images; paper: 64x64, the DDPM UNet of Ho et al.), each precision (fp32; bf16 under
`torch.autocast`, as panda_train runs it) and each phase (train: forward, MSE loss, backward and an Adam step;
infer: a forward under `torch.no_grad`), both libraries' networks run the same batch of `--bs` images, built from
the same settings: channels, levels, residual blocks per level (the up path one more, in both), single-head
self-attention at the same levels and in the middle, GroupNorm with 32 groups, a sinusoidal time embedding of 4x
the base channels. Each row is the median of `--steps` timed steps after one warm-up step, beside the step's FLOPs
(`panda.measure.count_flops`: matrix products and convolutions, forward and backward), the achieved TFLOP/s and its
fraction of the roofline (the faster of a matmul and a oneDNN 1x1 convolution of 2048x2048) measured in the same process and precision (`panda.measure.matmul_roofline`), wall
and CPU user seconds. Rows are appended to OUT/peers.csv as they finish; a `run` again skips rows recorded. The
two libraries alternate within each (unet, precision, phase, memory format), so both see the same machine state.
Each memory format (`--formats`: contiguous NCHW, and channels_last, NHWC weights and inputs, as `--speed
channels_last` trains) is applied to both libraries alike; `table` gives the ratio within each format and between each
library's fastest format.

`profile` runs one warm step of each library under `torch.profiler` and writes, per (unet, precision, phase,
format), the operators' self CPU time side by side (OUT/profile_<unet>_<precision>_<phase>_<format>.csv, milliseconds,
largest first): where each library spends its step, to say why a row is fast or slow.

`--malloc_cache` sets glibc's allocator thresholds for the whole process, so both libraries run with it (recorded in
peers_meta.json as `malloc_cache`, the mmap threshold set; null when off).

Run it on a quiet machine: nothing heavy beside it (the times are the machine's, compared as ratios in one process).
"""
import sys, argparse, statistics
from pathlib import Path
import pandas as pd, torch
from panda.core import write_json, atomic_file
from panda.report import run_meta
from panda.unet import make_unet, unet_config
from panda.measure import count_flops, matmul_roofline, achieved, Timer
from panda.learner import set_malloc_cache
sys.path.insert(0, str(Path(__file__).parent))
from speed import steps_of, FORMATS   # the step closures and memory formats of the speed benchmark

OUT = Path(__file__).parent/'results'/'peers_cpu'
SIZES = {'tiny': 32, 'paper': 64}
PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16}

def diffusers_twin(preset:str):
    "diffusers' UNet2DModel built from the settings of PANDA's UNet `preset` (a clear error when the extra is missing)"
    try: from diffusers import UNet2DModel
    except ImportError: sys.exit('peers.py needs diffusers: pip install -e ".[peers]" (or pip install diffusers).')
    c = unet_config(preset)
    chans = [c['base_ch']*m for m in c['ch_mult']]
    attn = {chans[l] for l in c['attn_levels']} | {chans[-1]}
    if len(attn) != 1: raise ValueError(f"{preset}: attention at levels of different widths {sorted(attn)} cannot be one head each in UNet2DModel")
    down = tuple('AttnDownBlock2D' if l in c['attn_levels'] else 'DownBlock2D' for l in range(len(chans)))
    up = tuple('AttnUpBlock2D' if l in c['attn_levels'] else 'UpBlock2D' for l in reversed(range(len(chans))))
    return UNet2DModel(sample_size=SIZES[preset], in_channels=c['in_ch'], out_channels=c['in_ch'], layers_per_block=c['n_res'],
                       block_out_channels=tuple(chans), down_block_types=down, up_block_types=up, norm_num_groups=32,
                       attention_head_dim=attn.pop(), dropout=c['dropout'], time_embedding_type='positional',
                       flip_sin_to_cos=False, freq_shift=1)

class _Diffusers(torch.nn.Module):
    "`UNet2DModel` called as PANDA's UNet is: (x_t, t) -> the prediction tensor"
    def __init__(self, m): super().__init__(); self.m = m
    def forward(self, x, t): return self.m(x, t).sample

def nets(preset):
    torch.manual_seed(0); ours = make_unet(preset)
    torch.manual_seed(0); theirs = _Diffusers(diffusers_twin(preset))
    return {'panda': ours, 'diffusers': theirs}

def step_fn(net, phase, prec, bs, size, fmt='contiguous'):
    "A closure running one step of `phase` on a fixed batch, and the closure whose FLOPs are counted (`speed.steps_of`'s)"
    net.train() if phase == 'train' else net.eval()
    train, fwd_bwd, sample, _ = steps_of(net.to(memory_format=FORMATS[fmt]), torch.device('cpu'), prec, 3, size, size, bs, fmt, set_to_none=False)
    return (train, fwd_bwd) if phase == 'train' else (sample, sample)

def measure(lib, net, preset, phase, prec, bs, steps, roof, fmt='contiguous', compiled=False):
    size = SIZES[preset]
    f, counted = step_fn(net, phase, prec, bs, size, fmt)
    flops = count_flops(counted)                               # eager: FlopCounterMode does not see into a compiled graph
    if compiled and getattr(net, '_compiled_call_impl', None) is None: net.compile()
    with Timer('cpu') as tw: f()                               # warm-up; compiled, the compilation for this phase and precision
    ts, us = [], []
    for _ in range(steps):
        with Timer('cpu') as tm: f()
        ts.append(tm.elapsed); us.append(tm.user)
    s = statistics.median(ts)
    a = achieved(flops, s, roof)
    return dict(unet=preset, size=size, bs=bs, phase=phase, precision=prec, memory_format=fmt, lib=lib, params=sum(p.numel() for p in net.parameters()),
                step_s=s, step_s_min=min(ts), step_user_s=statistics.median(us), steps=steps, flops=flops, tflops=a['tflops'],
                roofline_tflops=roof, roofline_frac=a['roofline_frac'], compiled=compiled, warmup_s=tw.elapsed)

def run(out, unets, bs, threads, steps, formats=tuple(FORMATS), malloc_cache=None, precisions=tuple(PRECISIONS), phases=('train', 'infer'), compiled=False):
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    csv = out/'peers.csv'
    rows = pd.read_csv(csv).to_dict('records') if csv.is_file() else []
    if any(bool(r.get('compiled', False)) != compiled for r in rows):
        sys.exit(f"peers.py: {csv} holds rows {'not ' if compiled else ''}compiled; this run is {'' if compiled else 'not '}compiled: use another OUT.")
    done = {(r['unet'], r['phase'], r['precision'], r.get('memory_format', 'contiguous'), r['lib']) for r in rows}
    roofs = {p: matmul_roofline('cpu', d, n=2048) for p, d in PRECISIONS.items()}
    for p, r in roofs.items(): print(f"roofline {p}: {r['tflops']*1000:.0f} GFLOP/s (2048x2048 product, {r['kernel']})", flush=True)
    for preset in unets:
        ns = nets(preset)
        for prec in precisions:
          for fmt in formats:
            for phase in phases:
                for lib, net in ns.items():
                    if (preset, phase, prec, fmt, lib) in done: continue
                    row = measure(lib, net, preset, phase, prec, bs, steps, roofs[prec]['tflops'], fmt, compiled)
                    rows.append(row)
                    with atomic_file(csv, 'w') as f: pd.DataFrame(rows).to_csv(f, index=False)   # each row as it finishes
                    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    write_json(run_meta(torch_threads=threads, bs=bs, steps=steps, formats=list(formats), roofline=roofs, malloc_cache=malloc_cache, compiled=compiled), out/'peers_meta.json')
    table(out)

def table(out):
    df = pd.read_csv(out/'peers.csv')
    if 'memory_format' not in df: df['memory_format'] = 'contiguous'
    w = df.pivot_table(index=['unet', 'phase', 'precision', 'memory_format'], columns='lib', values=['step_s', 'tflops', 'roofline_frac'])
    if ('step_s', 'diffusers') in w and ('step_s', 'panda') in w:
        w[('speedup', 'panda_vs_diffusers')] = w[('step_s', 'diffusers')]/w[('step_s', 'panda')]
    print(w.to_string(float_format=lambda v: f'{v:.3f}'))
    with atomic_file(out/'ratios.csv', 'w') as f: w.to_csv(f)
    # each library at its fastest memory format: what a user of each would get, tuned
    i = df.groupby(['unet', 'phase', 'precision', 'lib'])['step_s'].idxmin()
    b = df.loc[i].pivot_table(index=['unet', 'phase', 'precision'], columns='lib', values='step_s', aggfunc='first')
    fm = df.loc[i].pivot_table(index=['unet', 'phase', 'precision'], columns='lib', values='memory_format', aggfunc='first')
    b = b.join(fm.add_suffix('_format'))
    if {'diffusers', 'panda'} <= set(b.columns): b['speedup'] = b['diffusers']/b['panda']
    print(b.to_string(float_format=lambda v: f'{v:.3f}'))
    with atomic_file(out/'best.csv', 'w') as f: b.to_csv(f)
    return w

def profile(out, unets, prec, phase, formats, threads, bs, top=25):
    "Self CPU milliseconds per operator of one warm step of each library, side by side, largest first"
    from torch.profiler import profile as _profile, ProfilerActivity
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    for preset in unets:
        ns = nets(preset)
        for fmt in formats:
            cols = {}
            for lib, net in ns.items():
                f, _ = step_fn(net, phase, prec, bs, SIZES[preset], fmt)
                f()                                                        # warm-up
                with _profile(activities=[ProfilerActivity.CPU]) as prof: f()
                cols[lib] = pd.Series({e.key: e.self_cpu_time_total/1000 for e in prof.key_averages()})
            df = pd.DataFrame(cols).fillna(0.)
            df = df.sort_values('panda', ascending=False)
            df.loc['total'] = df.sum()
            df.index.name = 'op'
            with atomic_file(out/f'profile_{preset}_{prec}_{phase}_{fmt}.csv', 'w') as fh: df.to_csv(fh, float_format='%.1f')
            print(f'{preset} {prec} {phase} {fmt} (self CPU ms)'); print(pd.concat([df.head(top), df.tail(1)]).to_string(float_format=lambda v: f'{v:.1f}'))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['run', 'table', 'profile'])
    p.add_argument('out', nargs='?', default=str(OUT))
    p.add_argument('--unets', default='tiny,paper')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--formats', default=None, help='memory formats, comma-separated: contiguous, channels_last (run: both; profile: channels_last)')
    p.add_argument('--precision', default='bf16', choices=list(PRECISIONS), help='profile: the precision profiled')
    p.add_argument('--phase', default='train', choices=['train', 'infer'], help='profile: the phase profiled')
    p.add_argument('--precisions', default=','.join(PRECISIONS), help='run: the precisions, comma-separated')
    p.add_argument('--phases', default='train,infer', help='run: the phases, comma-separated')
    p.add_argument('--compile', action='store_true', help='run: both libraries compiled (torch.compile), the first step of each row (the compilation) recorded as warmup_s')
    p.add_argument('--malloc_cache', action='store_true', help="glibc keeps freed memory, for both libraries (panda's --speed malloc_cache)")
    a = p.parse_args()
    mc = None
    if a.malloc_cache and (mc := set_malloc_cache()) is None: sys.exit('peers.py --malloc_cache: this C library is not glibc.')
    fs = (a.formats or (','.join(FORMATS) if a.what == 'run' else 'channels_last')).split(',')
    if any(f not in FORMATS for f in fs): sys.exit(f"peers.py: unknown memory formats in {a.formats!r}: choose from {list(FORMATS)}")
    us = a.unets.split(',')
    bad = [u for u in us if u not in SIZES]
    if bad: sys.exit(f"peers.py: unknown UNets {bad}: choose from {list(SIZES)}")
    precs, phases = a.precisions.split(','), a.phases.split(',')
    if bad := [x for x in precs if x not in PRECISIONS] + [x for x in phases if x not in ('train', 'infer')]:
        sys.exit(f"peers.py: unknown precisions or phases {bad}: choose from {list(PRECISIONS)} and ['train', 'infer']")
    if a.what == 'run': run(Path(a.out), us, a.bs, a.threads, a.steps, fs, mc, precs, phases, a.compile)
    elif a.what == 'profile': profile(Path(a.out), us if a.unets != 'tiny,paper' else ['paper'], a.precision, a.phase, fs, a.threads, a.bs)
    else: table(Path(a.out))
