"""What the app runs: networks, sha256-checked weights, device choice, inference engine.

torch imported lazily; no Qt.
"""
