"""Issue 21, parts 4 and 5: the step against batch size, precision and compilation, with FLOPs and the roofline.

    python nbs/benchmarks/speed.py run [OUT] [--device cpu] [--unets tiny,paper] [--models ddpm,panda,shared]
                                       [--bs 32,64,128,256] [--precisions fp32,bf16] [--modes eager] [--formats contiguous]
                                       [--steps 3] [--threads 2] [--budget_s SECONDS] [--malloc_cache]
    python nbs/benchmarks/speed.py table [OUT]

OUT defaults to nbs/benchmarks/results/speed_<device>. Each row is one (UNet preset, model, precision, mode, memory
format, batch size): the network a method trains, on the batch it trains on, measured for

- a training step: forward, MSE loss, backward and PyTorch's Adam (`fused=True` on CUDA, as `--speed fused_adam`),
- a sampling step: one forward under `torch.no_grad` at the same batch size,

as the median of `--steps` timed steps after warm-up steps (a compiled mode's first step, the compilation, is recorded
apart as `compile_s`), with images per second, the step's FLOPs (`panda.measure.count_flops`, counted once per network
at the smallest batch and scaled by the batch size: they are linear in it), the achieved TFLOP/s and its fraction of
the roofline measured in the same process and precision (`panda.measure.matmul_roofline`: on a CPU the faster of a
matmul and a oneDNN 1x1 convolution), and the peak tensor
memory of the training step (`torch.cuda.max_memory_allocated` on a GPU, `panda.measure.MemoryProbe` on a CPU).

The models: `ddpm`, the UNet on the full image (32x32 for tiny, 64x64 for paper); `panda`, one of PANDA's window models
(three of the four strips: 32x24 or 64x48); `shared`, the shared model's UNet on a 2x2-tile window of a 4x4 grid (half
the image each way) with the 5 channels of its default conditioning (coordinates and the pooled canvas).
Precisions: `fp32` (strict: TF32 off for matmuls and convolutions), `tf32` (CUDA only), `bf16` (autocast, as
`panda_train --precision bf16`), `bf16_lowp` (the same with GroupNorm in bf16 on CUDA, where autocast would run it in
fp32, as `panda_train --speed lowp_norm`; on a CPU the same as `bf16`). Modes: `eager`, `compiled` (`model.compile()`), `cudagraphs` (CUDA only:
`model.compile(mode='reduce-overhead')`, the compiled passes recorded as CUDA graphs and replayed, as
`panda_train --speed cuda_graphs`; each step marked with `torch.compiler.cudagraph_mark_step_begin`). Formats: `contiguous`, `channels_last`.

Rows are appended to OUT/speed.csv as they finish (atomically); a `run` again skips rows recorded, so a run stopped
(or cut by `--budget_s`, which stops before a row that would start after that many seconds) is continued by the next.
Run it on a quiet machine: the times are the machine's, compared as ratios within one run.
"""
import sys, time, argparse, statistics, itertools, math
from pathlib import Path
import pandas as pd, torch, torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))
from converge import append_row   # atomic CSV rows, shared by the benchmark scripts
from panda.core import write_json
from panda.learner import set_malloc_cache
from panda.report import run_meta
from panda.unet import make_unet, lowp_norm
from panda.shared import cond_channels
from panda.measure import count_flops, matmul_roofline, achieved, Timer, MemoryProbe, reset_memory

SIZES = {'tiny': 32, 'paper': 64}
PRECISIONS = {'fp32': None, 'tf32': None, 'bf16': torch.bfloat16, 'bf16_lowp': torch.bfloat16}
FORMATS = {'contiguous': torch.contiguous_format, 'channels_last': torch.channels_last}
COND = 'coords+canvas'   # the shared model's default conditioning

def shape(model, preset):
    "(input channels, height, width) of `model`'s batches for UNet `preset`"
    s = SIZES[preset]
    return {'ddpm': (3, s, s), 'panda': (3, s, 3*s//4), 'shared': (3 + cond_channels(COND, 3), s//2, s//2)}[model]

def build(model, preset, dev, fmt):
    torch.manual_seed(0)
    cond = cond_channels(COND, 3) if model == 'shared' else 0
    return make_unet(preset, cond_ch=cond).to(dev).to(memory_format=FORMATS[fmt])

def set_precision(prec):
    "Global matmul and convolution settings of `prec`: strict fp32, TF32, or fp32 under a bf16 autocast"
    tf32 = prec == 'tf32'
    torch.set_float32_matmul_precision('high' if tf32 else 'highest')
    torch.backends.cudnn.allow_tf32 = tf32

def steps_of(net, dev, prec, c, h, w, bs, fmt, set_to_none=True):
    "Closures for one training step, its forward and backward (what FLOPs are counted of), and one sampling step"
    g = torch.Generator().manual_seed(0)
    mf = FORMATS[fmt]
    x = torch.randn(bs, c, h, w, generator=g).to(dev).contiguous(memory_format=mf)
    eps = torch.randn(bs, 3, h, w, generator=g).to(dev).contiguous(memory_format=mf)
    t = torch.randint(0, 1000, (bs,), generator=g).to(dev)
    dtype = PRECISIONS[prec]
    ac = lambda: torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, fused=dev.type == 'cuda' or None)
    def fwd_bwd():
        with ac(): loss = F.mse_loss(net(x, t).float(), eps.float())
        loss.backward()
    def train(): fwd_bwd(); opt.step(); opt.zero_grad(set_to_none=set_to_none)
    def sample():
        with torch.no_grad(), ac(): net(x, t)
    return train, fwd_bwd, sample, opt

def marked(f):
    "`f` as a new step for CUDA graph trees: the outputs of the step before it may be overwritten"
    def step(): torch.compiler.cudagraph_mark_step_begin(); f()
    return step

def timed(f, dev, n):
    "Median wall and user seconds of `n` calls of `f`"
    ts, us = [], []
    for _ in range(n):
        with Timer(dev) as tm: f()
        ts.append(tm.elapsed); us.append(tm.user)
    return statistics.median(ts), statistics.median(us)

def peak_train_gib(train, dev, net, opt):
    "Peak tensor memory of one training step (GiB): the allocator's on CUDA, the profiler's on a CPU (`MemoryProbe`)"
    reset_memory(dev)
    with MemoryProbe(dev, resident=[net, opt], label='train step') as p: train()
    return p.result['peak_gib']

def count(model, preset, dev, bs):
    "FLOPs of the eager training step's forward and backward, and of a sampling step, at batch `bs`"
    c, h, w = shape(model, preset)
    _, fwd_bwd, sample, _ = steps_of(build(model, preset, dev, 'contiguous').train(), dev, 'fp32', c, h, w, bs, 'contiguous')
    return count_flops(fwd_bwd), count_flops(sample), bs

def measure(preset, model, prec, mode, fmt, bs, dev, steps, flops_at, roofs, memory=True):
    c, h, w = shape(model, preset)
    set_precision(prec)
    net = build(model, preset, dev, fmt).train()
    if prec == 'bf16_lowp': lowp_norm(net)   # as --speed lowp_norm
    compile_s = math.nan
    if mode != 'eager': net.compile(mode='reduce-overhead' if mode == 'cudagraphs' else None)
    train, fwd_bwd, sample, opt = steps_of(net, dev, prec, c, h, w, bs, fmt)
    if mode == 'cudagraphs': train, sample = marked(train), marked(sample)
    with Timer(dev) as tm: train()                      # warm-up; a compiled mode compiles here
    if mode != 'eager': compile_s = tm.elapsed
    for _ in range(2 if mode == 'cudagraphs' else 1): train()   # CUDA graphs are recorded on a later call than the compiling one
    key = (preset, model)
    if key not in flops_at: flops_at[key] = count(model, preset, dev, bs)   # at the first (smallest) batch: linear in the batch
    tf, sf, b0 = flops_at[key]
    train_flops, sample_flops = tf*bs/b0, sf*bs/b0
    train_s, train_user_s = timed(train, dev, steps)
    mem = peak_train_gib(train, dev, net, opt) if memory else math.nan
    net.eval()
    for _ in range(3 if mode == 'cudagraphs' else 1): sample()   # evaluation mode compiles (and records) a graph of its own
    sample_s, _ = timed(sample, dev, steps)
    roof = roofs[prec]['tflops']
    ta, sa = achieved(train_flops, train_s, roof), achieved(sample_flops, sample_s, roof)
    del net, train, fwd_bwd, sample, opt; reset_memory(dev)
    return dict(unet=preset, model=model, precision=prec, mode=mode, memory_format=fmt, bs=bs, height=h, width=w, in_ch=c,
                train_s=train_s, train_user_s=train_user_s, train_images_per_s=bs/train_s, train_flops=train_flops,
                train_tflops=ta['tflops'], train_roofline_frac=ta['roofline_frac'], train_mem_gib=mem,
                sample_s=sample_s, sample_images_per_s=bs/sample_s, sample_flops=sample_flops, sample_tflops=sa['tflops'],
                sample_roofline_frac=sa['roofline_frac'], compile_s=compile_s, roofline_tflops=roof, steps=steps, device=dev.type)

def run(out, dev, unets, models, bss, precs, modes, formats, steps, threads, budget_s=None, memory=True, malloc_cache=None):
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if dev.type == 'cpu': torch.set_num_threads(threads)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    csv = out/'speed.csv'
    rows = pd.read_csv(csv).to_dict('records') if csv.is_file() else []
    KEY = ('unet', 'model', 'precision', 'mode', 'memory_format', 'bs')
    mixed = {r.get('malloc_cache') for r in rows} - {malloc_cache}
    if any(not (isinstance(m, float) and math.isnan(m)) for m in mixed):   # NaN: rows recorded before the column existed, without it
        sys.exit(f"speed.py: {csv} holds rows measured with malloc_cache={sorted(map(str, mixed))}, this run has {malloc_cache}: "
                 "use another OUT, or the same --malloc_cache setting.")
    done = {tuple(r[k] for k in KEY) for r in rows}
    roofs = {}
    for p in precs:
        set_precision(p)
        roofs[p] = matmul_roofline(dev, PRECISIONS[p] or torch.float32)
        print(f"roofline {p}: {roofs[p]['tflops']:.3f} TFLOP/s", flush=True)
    write_json(run_meta(device=str(dev), torch_threads=threads if dev.type == 'cpu' else None, steps=steps, roofline=roofs,
                        cudnn_benchmark=dev.type == 'cuda', malloc_cache=malloc_cache), out/'speed_meta.json')
    flops_at = {}
    for preset, model, prec, mode, fmt in itertools.product(unets, models, precs, modes, formats):
        for bs in sorted(bss):
            if (preset, model, prec, mode, fmt, bs) in done: continue
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                print(f"--budget_s {budget_s} spent: stopping before {preset} {model} {prec} {mode} {fmt} bs {bs}; run again to continue", flush=True)
                return table(out)
            try: row = measure(preset, model, prec, mode, fmt, bs, dev, steps, flops_at, roofs, memory)
            except torch.OutOfMemoryError as e:
                print(f"{preset} {model} {prec} {mode} {fmt} bs {bs}: out of memory ({str(e)[:80]}); larger batches skipped", flush=True)
                reset_memory(dev); break
            row["malloc_cache"] = malloc_cache; rows.append(row)
            append_row(csv, row)   # each row as it finishes
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k in KEY + ('train_s', 'train_images_per_s', 'train_tflops', 'train_roofline_frac', 'train_mem_gib', 'sample_s', 'compile_s')}, flush=True)
    return table(out)

def table(out):
    csv = out/'speed.csv'
    if not csv.is_file(): return None
    df = pd.read_csv(csv)
    cols = ['train_s', 'train_images_per_s', 'train_tflops', 'train_roofline_frac', 'train_mem_gib', 'sample_images_per_s', 'compile_s']
    t = df.set_index(['unet', 'model', 'precision', 'mode', 'memory_format', 'bs'])[cols].sort_index()
    print(t.to_string(float_format=lambda v: f'{v:.4g}'))
    return t

def parse_list(s, allowed=None, kind=str):
    xs = [kind(v) for v in s.split(',') if v.strip()]
    bad = [x for x in xs if allowed is not None and x not in allowed]
    if bad: sys.exit(f"speed.py: unknown {bad}: choose from {list(allowed)}")
    return xs

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['run', 'table'])
    p.add_argument('out', nargs='?', default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--unets', default='tiny,paper')
    p.add_argument('--models', default='ddpm,panda,shared')
    p.add_argument('--bs', default='32,64,128,256')
    p.add_argument('--precisions', default='fp32,bf16')
    p.add_argument('--modes', default='eager')
    p.add_argument('--formats', default='contiguous')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--budget_s', type=float, default=None, help='start no row after this many seconds (a device call has a limit)')
    p.add_argument('--no_memory', action='store_true', help='skip the memory step (on a CPU it runs the step once more under the profiler)')
    p.add_argument('--malloc_cache', action='store_true', help="glibc keeps freed memory (panda's --speed malloc_cache), recorded in every row")
    a = p.parse_args()
    mc = None
    if a.malloc_cache and (mc := set_malloc_cache()) is None: sys.exit('speed.py --malloc_cache: this C library is not glibc.')
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available(): sys.exit("speed.py: --device cuda, but no CUDA device is available here.")
    out = Path(a.out) if a.out else Path(__file__).parent/'results'/f'speed_{dev.type}'
    precs = parse_list(a.precisions, PRECISIONS)
    if 'tf32' in precs and dev.type != 'cuda': sys.exit("speed.py: tf32 is a CUDA setting: drop it from --precisions on a CPU.")
    modes = parse_list(a.modes, ('eager', 'compiled', 'cudagraphs'))
    if 'cudagraphs' in modes and dev.type != 'cuda': sys.exit("speed.py: cudagraphs (CUDA graphs) is a CUDA mode: drop it from --modes on a CPU.")
    if a.what == 'table': table(out)
    else: run(out, dev, parse_list(a.unets, SIZES), parse_list(a.models, ('ddpm', 'panda', 'shared')), parse_list(a.bs, kind=int),
              precs, modes, parse_list(a.formats, FORMATS), a.steps, a.threads, a.budget_s,
              memory=not a.no_memory, malloc_cache=mc)
