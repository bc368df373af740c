"""Deep link /step on a fresh server: hands over to app.py (see pages/common.py:leave_legacy_mode).

The page itself is pages/step_page.py; app.py's st.navigation serves it at /step.
"""

from pages.common import leave_legacy_mode

leave_legacy_mode()
