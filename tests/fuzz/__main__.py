"""`python -m tests.fuzz`: see tests/fuzz/run.py."""

from tests.fuzz.run import main

raise SystemExit(main())
