"""Placeholder until the page lands."""

import streamlit as st

st.title("beam")
st.info("This page is being built.")
