"""The simulator's lesson: its self-check (`make check-simulator`), run the way every phase's is."""
