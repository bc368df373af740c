"""Placeholder until the page lands."""

import streamlit as st

st.title("evaluate")
st.info("This page is being built.")
