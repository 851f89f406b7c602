def axes_username(request, credentials) -> str | None:
    """The login name django-axes counts failures against (web form, API and CLI alike)."""
    credentials = credentials or {}
    for key in ("username", "email", "login"):
        if credentials.get(key):
            return str(credentials[key]).strip().lower()
    if request is not None and hasattr(request, "POST"):
        login = request.POST.get("login") or request.POST.get("username")
        if login:
            return login.strip().lower()
    return None
