"""The simulator's Streamlit app: ``make simulator`` runs it on http://127.0.0.1:8501.

Four pages in one navigation: Drill, Postmortem, Interview, Progress. Each page is its own
module under ``simulator/pages``; everything they show is read from the state directory.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"
PAGES = (
    ("drill.py", "Drill", ":material/local_fire_department:"),
    ("postmortem.py", "Postmortem", ":material/description:"),
    ("interview.py", "Interview", ":material/record_voice_over:"),
    ("progress.py", "Progress", ":material/insights:"),
)


def main() -> None:
    from phase1_foundations.logs import configure_logging
    from phase1_foundations.settings import ConfigError

    st.set_page_config(page_title="MLOps Path simulator", layout="wide")
    try:
        configure_logging("simulator")  # MLflow's lines to <state>/logs/simulator.log
        pages = [
            st.Page(PAGES_DIR / name, title=title, icon=icon, default=index == 0)
            for index, (name, title, icon) in enumerate(PAGES)
        ]
        st.navigation(pages).run()
    except ConfigError as error:  # a setting or params.yaml: the line that names it, no traceback
        st.error(f"error: {error}")
        st.caption("Fix it, then reload the page.")


if __name__ == "__main__":
    main()
