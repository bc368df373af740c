"""Placeholder until the page lands."""

import streamlit as st

st.title("step")
st.info("This page is being built.")
