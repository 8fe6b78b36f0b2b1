"""Diagnosis of the colour failure, on the two models `colour_check.py` trained (run it first): colourfulness of 64
samples with and without clipping the predicted x0, and with DDIM eta=1; and, at t = T-1 from pure noise, the chroma of
the predicted x0 and how far the per-channel mean of the predicted noise is from that of the true noise.
    python nbs/benchmarks/colour_diagnosis.py > nbs/benchmarks/results/colour_check/diagnosis.json
"""
import torch, json
from panda.sample import sample
from panda.pipeline import Pipeline
from panda.core import as_uint8
from panda.metrics import colourfulness
from panda.ddpm import predict_x0
torch.set_num_threads(2)
res = {}
for pred in ('eps', 'v'):
    pipe = Pipeline.from_checkpoints(f'nbs/benchmarks/results/colour_check/ddpm_{pred}/ddpm.pt')  # EMA weights where stored
    eps_fn, sched, size = pipe.eps_fn(), pipe.sched, pipe.size
    for name, kw in {'ddim50 clip': dict(sampler='ddim', n_steps=50, clip=True), 'ddim50 no clip': dict(sampler='ddim', n_steps=50, clip=False),
                     'ddim50 eta1 clip': dict(sampler='ddim', n_steps=50, eta=1., clip=True)}.items():
        x = sample(eps_fn, 64, size, sched, bs=64, seed=0, progress=False, **kw)
        res[f'{pred} {name}'] = round(colourfulness(as_uint8(x)), 4)
    # the x0 predicted at t = T-1 from pure noise: its chroma (per-pixel |R-G|+|G-B| in [-1,1] units /2)
    g = torch.Generator().manual_seed(0); xT = torch.randn(64, 3, *size, generator=g)
    with torch.no_grad():
        for t in (999,):                                  # from pure noise, as sampling starts
            tt, x_t = torch.full((64,), t), xT
            e = eps_fn(x_t, tt); x0 = predict_x0(sched, x_t, tt, e)
            m = e.mean((2,3))  # per-image per-channel mean of eps
            res[f'{pred} t={t} x0 chroma (unclipped, [-1,1] units)'] = round(float(((x0[:,0]-x0[:,1]).abs()+(x0[:,1]-x0[:,2]).abs()).mean()), 3)
            res[f'{pred} t={t} |mean eps - mean noise| per channel'] = round(float((m - xT.mean((2,3))).abs().mean()), 4)
print(json.dumps(res, indent=1))
