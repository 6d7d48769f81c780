from medeid_gui.cli import main

raise SystemExit(main())
