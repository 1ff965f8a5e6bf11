"""Flask extensions, created once and ``init_app``-ed by :func:`web.init_web`."""

from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
#: a session cookie replayed from elsewhere is marked non-fresh (sensitive pages could ask again)
login_manager.session_protection = "basic"
csrf = CSRFProtect()
