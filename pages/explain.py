"""Deep link /explain on a fresh server: hands over to app.py (see pages/common.py:leave_legacy_mode).

The page itself is pages/explain_page.py; app.py's st.navigation serves it at /explain.
"""

from pages.common import leave_legacy_mode

leave_legacy_mode()
