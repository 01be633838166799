"""Documents rendered from the live system (``make docs``) and the course site (``make site``).

This package reads every phase (it sits beside the house, not inside it) and is imported by none.
"""
