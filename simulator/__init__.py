"""The simulator: incident drills on the running capstone system, postmortems, interview practice.

It sits on top of every phase and imports from them; nothing imports it.
"""
