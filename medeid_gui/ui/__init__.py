"""Qt layer: widgets, dialogs, main window, Qt workers. The only layer importing PySide6/pyqtgraph/superqt."""
