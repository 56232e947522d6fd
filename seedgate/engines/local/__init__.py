"""The local GPU engine: open-weights video models (Wan, LTX, SkyReels) run through diffusers.

Only `engine.py` imports torch and diffusers; the rest (config, weight checks, catalog narrowing, frame maths) is
plain Python so that API nodes and the default install can read an operator's local-models file without them.
"""
