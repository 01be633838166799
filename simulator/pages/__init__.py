"""The simulator's pages, one module per page; ``simulator/app.py`` puts them in the navigation.

Each page module renders only when Streamlit runs it (``__name__ == "__main__"``), so importing
one has no side effects.
"""
