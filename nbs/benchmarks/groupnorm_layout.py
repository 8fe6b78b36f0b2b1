"""Issue 21: GroupNorm's forward and backward on a CPU, NCHW against channels-last, bf16 and fp32, one process.

    python nbs/benchmarks/groupnorm_layout.py [OUT] [--threads 2] [--reps 5]

OUT defaults to nbs/benchmarks/results/peers_cpu/groupnorm_layout.csv. For the activations of the paper UNet's first
level at batch 32 (32x128x64x64, and the 256 channels of its up path's concatenations), each row is the best of
`--reps` timed calls of PyTorch's `native_group_norm` and `native_group_norm_backward` (32 groups, fp32 weights, as
under autocast): on NCHW tensors, on channels-last tensors, and for the backward, channels-last tensors converted to
NCHW, through the NCHW kernel, and the input gradient converted back (what a layout switch around the kernel costs).
Run it on a quiet machine.
"""
import argparse
from pathlib import Path
import pandas as pd, torch
from panda.core import atomic_file, write_json
from panda.report import run_meta
from panda.measure import best_time

def best_ms(f, reps): return best_time(f, 'cpu', reps)*1000

def measure(shape, dtype, reps, groups=32):
    N, C, H, W = shape
    g = torch.Generator().manual_seed(0)
    x, dy = (torch.randn(shape, generator=g).to(dtype) for _ in range(2))
    w, b = torch.randn(C, generator=g), torch.randn(C, generator=g)
    cl = lambda t: t.contiguous(memory_format=torch.channels_last)
    xc, dyc = cl(x), cl(dy)
    _, mean, rstd = torch.native_group_norm(x, w, b, N, C, H*W, groups, 1e-5)
    fwd = lambda xx: torch.native_group_norm(xx, w, b, N, C, H*W, groups, 1e-5)
    bwd = lambda xx, gg: torch.ops.aten.native_group_norm_backward(gg, xx, mean, rstd, w, N, C, H*W, groups, [True, True, True])
    return dict(shape='x'.join(map(str, shape)), dtype=str(dtype).removeprefix('torch.'),
                fwd_nchw_ms=best_ms(lambda: fwd(x), reps), fwd_cl_ms=best_ms(lambda: fwd(xc), reps),
                bwd_nchw_ms=best_ms(lambda: bwd(x, dy), reps), bwd_cl_ms=best_ms(lambda: bwd(xc, dyc), reps),
                bwd_cl_via_nchw_ms=best_ms(lambda: cl(bwd(xc.contiguous(), dyc.contiguous())[0]), reps))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out', nargs='?', default=str(Path(__file__).parent/'results'/'peers_cpu'/'groupnorm_layout.csv'))
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows = [measure(s, d, a.reps) for d in (torch.bfloat16, torch.float32) for s in ((32, 128, 64, 64), (32, 256, 64, 64))]
    df = pd.DataFrame(rows)
    df['bwd_cl_over_nchw'] = df.bwd_cl_ms/df.bwd_nchw_ms
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, 'w') as f: df.to_csv(f, index=False, float_format='%.2f')
    write_json(run_meta(torch_threads=a.threads, reps=a.reps), out.with_suffix('.json'))
    print(df.to_string(float_format=lambda v: f'{v:.1f}'))
