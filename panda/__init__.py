__version__ = "0.1.0"

import warnings as _warnings
# fastai 2.8.7 scripts its activation functions with `torch.jit.script` when imported, which torch >= 2.10 deprecates with a
# FutureWarning that every `panda` command would print; the warning is fastai's, not the user's to act on.
_warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
