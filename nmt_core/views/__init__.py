"""Per-page data shaping: traces, checkpoints and configs in, plain values and DataFrames out.

No streamlit and no figures here; the pages wire these to widgets, and nmt_core.figures draws them.
"""
