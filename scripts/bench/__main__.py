"""python -m scripts.bench [--quick] [--only NAME ...]: every benchmark (scripts.bench.run_all)."""

import sys

from scripts.bench.run_all import main

sys.exit(main())
