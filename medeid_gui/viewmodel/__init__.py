"""The desktop application's state without Qt: what is open, shown and chosen.

Why a package of its own (napari's ViewerModel is the example): the main window used to hold the
current series, frame, per-series privacy levels and display windows beside its layout and
worker wiring, so none of it could be tested without a display. Here it is plain Python with a
tiny callback mechanism; the Qt widgets observe it and call into it. Nothing in this package
imports PySide6, pyqtgraph or superqt, and nothing heavy (pydicom, torch) at import time.
"""
