import sys

from adapters.livedoc import main

sys.exit(main())
