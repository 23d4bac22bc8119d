"""Example models shipped with sigbatch, for the demo and the docs."""
