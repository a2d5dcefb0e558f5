import sys

from snnmap.cli import main

sys.exit(main())
