"""View decorators for staff pages: anonymous visitors sign in first, the wrong role gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .permissions import is_force_admin, is_officer


def _role_required(allowed: Callable[..., bool], message: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(member=request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


officer_required = _role_required(is_officer, "Only officers can see this page.")
force_admin_required = _role_required(is_force_admin, "Only force admins can see this page.")
