"""Placeholder until the page lands."""

import streamlit as st

st.title("sampling")
st.info("This page is being built.")
