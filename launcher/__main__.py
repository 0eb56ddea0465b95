"""python -m launcher [--data-dir DIR]: load the data into the embedded PostgreSQL.

With --data-dir (or DATA_DIR), DIR/titles and DIR/ratings are the real Kaggle catalogues and
ratings; without it, a small synthetic data set is generated under .data/demo and loaded.
"""

import argparse
import os
import sys
from pathlib import Path

from common import embedded
from loader.__main__ import main as loader_main
from loader.demo import write_demo


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("DATA_DIR") or None)
    args = parser.parse_args()
    home = embedded.data_home()
    url = os.environ.get("DATABASE_URL") or embedded.start(home / "pg")
    if args.data_dir:
        data = args.data_dir.resolve()
    else:
        data = home / "demo"
        if not (data / "titles").is_dir():
            write_demo(data)
            print(f"generated a SYNTHETIC demo data set in {data}")
    return loader_main(
        [
            "--titles-dir",
            str(data / "titles"),
            "--ratings-dir",
            str(data / "ratings"),
            "--database-url",
            url,
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
