"""Deep link /translate on a fresh server: hands over to app.py (see pages/common.py:leave_legacy_mode).

The page itself is pages/translate_page.py; app.py's st.navigation serves it at / and at /translate.
"""

from pages.common import leave_legacy_mode

leave_legacy_mode()
