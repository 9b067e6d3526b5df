"""Unrolled's helper package: the code behind the notebooks.

Modules (import the one you need; importing ``helpers`` itself loads nothing heavy):
live (widget base), training (loops, loss curve), checks (exercise checks),
gradcheck, report (headline figures), envcheck (environment check), numbers (number-phrase
data), onestep (the seed's one-step DAG), tiny (notebook 00's 1-unit RNN) and one module
per later notebook.
"""
__version__ = "0.1.0"
