"""The console's cookie names: the session (the signed token) and the signed-out person's CSRF value."""

SESSION = "greenfab_session"
CSRF_ANONYMOUS = "greenfab_csrf"
