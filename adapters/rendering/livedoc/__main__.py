import sys

from adapters.rendering.livedoc import main

sys.exit(main())
