import sys

from lfd_tcmen.cli import main

sys.exit(main())
