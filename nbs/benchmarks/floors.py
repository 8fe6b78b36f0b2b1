"""What real images score against real images: the floor of every quality figure, at the sample counts the benchmarks use.

    python nbs/benchmarks/floors.py [OUT]   # OUT defaults to nbs/benchmarks/results/floors

For each size (32x32, 64x64) and sample count n, n of the 592 embedded faces drawn at random (seed 0) are measured
as a model's n samples would be (`panda.evaluate.RealSet.floor`): FID and KID against all 592 faces (the counts a
model's samples are measured at; the n faces are among them, so this is the optimistic floor), and against the other
592 - n faces only (held out: what a model that draws new faces from the same distribution could score, at the
smaller real count); SWD against as many of the others; the memorisation share against the others. A perfect model
scores near these figures, not near 0. Writes OUT/floors.csv and OUT/meta.json.
"""
import sys, time
from pathlib import Path
import pandas as pd
from panda.core import write_json
from panda.report import real_images, run_meta
from panda.evaluate import RealSet

OUT = Path(__file__).parent/'results'/'floors'
COUNTS = (36, 128, 256, 296, 512)

def main(out=OUT):
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    rows, t0 = [], time.time()
    for size in (32, 64):
        real = RealSet(real_images(size=size))
        for n in COUNTS:
            f = real.floor(n, seed=0)
            rows.append(dict(size=size, n=n, n_real=len(real), **{k: v for k, v in f.items() if k != 'floor_n'}))
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    tmp = out/'floors.csv.tmp'; pd.DataFrame(rows).to_csv(tmp, index=False); tmp.replace(out/'floors.csv')
    write_json(run_meta(seconds=round(time.time()-t0, 1), data='embedded emoji faces (592)', seed=0), out/'meta.json')

if __name__ == '__main__': main(*sys.argv[1:])
