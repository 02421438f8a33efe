"""Random-duality / replica predictions for the injectivity of random ReLU layers.

Work in progress; see ``docs/theory.md``.
"""
