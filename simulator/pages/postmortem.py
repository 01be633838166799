"""Postmortem: placeholder until its API lands."""

from __future__ import annotations

import streamlit as st


def render() -> None:
    st.title("Postmortem")


if __name__ == "__main__":
    render()
