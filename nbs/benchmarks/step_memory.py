"""Peak tensor memory of one training step and one inference step of a UNet, full image against a PANDA window.

    python nbs/benchmarks/step_memory.py [--device cpu|cuda] > nbs/benchmarks/results/step_memory_<device>.txt

Measured with `panda.measure.MemoryProbe` (CPU: torch profiler allocation records + resident tensors; CUDA: torch's
allocator), one Adam step after a first one (so the optimizer state exists), fp32, batch 32.
"""
import argparse, contextlib, time
import torch
from panda.unet import make_unet
from panda.learner import paper_adam, eps_loss
from panda.measure import MemoryProbe, device_info
from panda.report import run_meta

def step(m, opt, x, t, eps, probe=None, args=()): # args: more model inputs (a shared model's offsets and canvas)
    ph = probe.phase if probe is not None else (lambda n: contextlib.nullcontext())
    with ph('forward'): loss = eps_loss(m(x, t, *args), eps)
    with ph('backward'): loss.backward()
    with ph('step'): opt.step()
    opt.zero_grad()

def measure(preset, H, W, bs, dev):
    torch.manual_seed(0)
    m = make_unet(preset).to(dev); opt = paper_adam(list(m.parameters()), lr=1e-4)
    x, t = torch.randn(bs, 3, H, W, device=dev), torch.randint(0, 1000, (bs,), device=dev)
    eps = torch.randn_like(x)
    step(m, opt, x, t, eps)
    with MemoryProbe(dev, resident=(m, opt, x, t, eps)) as p: step(m, opt, x, t, eps, p)
    train = p.result
    opt = None; m.zero_grad(set_to_none=True); m.requires_grad_(False)
    with torch.no_grad(), MemoryProbe(dev, resident=(m, x, t)) as p:
        with p.phase('sample'): e = m(x, t)
    return train, p.result

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--device', default='cpu'); a = ap.parse_args()
    dev = torch.device(a.device)
    m = run_meta()
    print(f"# {m['date']} {m['host']} {device_info(dev)['name']} torch {m['torch']}; command: {m['command']}; commit {m['commit']}")
    res = {}
    for preset, size, window in (('paper', (64, 64), (64, 48)), ('tiny', (32, 32), (32, 24))):
        for name, (H, W) in (('full', size), ('window', window)):
            t0 = time.time()
            tr, sa = measure(preset, H, W, 32, dev)
            res[preset, name] = tr['peak_gib'], sa['peak_gib']
            print(f"{preset:5} {name:6} {H}x{W} bs 32: train peak {tr['peak_gib']:.3f} GiB "
                  f"(forward {tr['phases_gib']['forward']:.3f}, backward {tr['phases_gib']['backward']:.3f}, "
                  f"step {tr['phases_gib']['step']:.3f}, resident {tr['resident_gib']:.3f}); "
                  f"inference step {sa['peak_gib']:.3f} GiB [{tr['method']}] ({time.time()-t0:.0f} s)")
        (tf, sf), (tw, sw) = res[preset, 'full'], res[preset, 'window']
        print(f"{preset:5} window/full: train {tw/tf:.3f}, inference (one window's model) {sw/sf:.3f}")
