from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .permissions import MFA_REQUIRED_MESSAGE, mfa_satisfied

# What an officer without MFA may still reach: logging in and out, setting up MFA,
# and the static files those pages need.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/favicon.ico")


class StaffMFARequiredMiddleware:
    """Take officers, force admins and superusers without MFA to set it up first.

    Nothing else works for them until they have: HTML pages redirect to the set-up
    page and the API answers 403 with the reason. Token-authenticated API calls are
    held by the DRF permission `IsAuthenticatedWithRequiredMFA`, which checks the same.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.path.startswith(_OPEN_PREFIXES) and not mfa_satisfied(member=user):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MFA_REQUIRED_MESSAGE}, status=403)
            messages.warning(
                request,
                "Officers and force admins must set up two-factor authentication before going on.",
            )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
