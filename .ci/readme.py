#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb (markdown cells as they are, shown code cells as Python blocks, their
image outputs as PNG files under nbs/images/). `nbdev_readme` does the same job but needs Quarto; this needs
nothing. Run from the repository root after executing index.ipynb: `python .ci/readme.py`."""
import json, base64, hashlib, re
from pathlib import Path

def main():
    nb = json.loads(Path('nbs/index.ipynb').read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            src = re.sub(r'\]\((images/)', r'](nbs/\1', src)
            if src.startswith('# ') or src.startswith('> '): src = src  # title and summary as they are
            out.append(src)
        elif c['cell_type'] == 'code' and not src.lstrip().startswith('#| hide'):
            out.append('```python\n' + src + '\n```')
            for o in c.get('outputs', []):
                png = o.get('data', {}).get('image/png')
                if png:
                    data = base64.b64decode(png)
                    fn = Path('nbs/images')/f'index_{hashlib.sha1(data).hexdigest()[:10]}.png'
                    fn.parent.mkdir(exist_ok=True); fn.write_bytes(data)
                    out.append(f'![]({fn.as_posix()})')
    Path('README.md').write_text('\n\n'.join(out) + '\n')

if __name__ == '__main__': main()
