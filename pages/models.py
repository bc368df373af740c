"""Deep link /models on a fresh server: hands over to app.py (see pages/common.py:leave_legacy_mode).

The page itself is pages/models_page.py; app.py's st.navigation serves it at /models.
"""

from pages.common import leave_legacy_mode

leave_legacy_mode()
