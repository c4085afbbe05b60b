from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """allauth, told about MCV: officers and residents, and the footer every email carries."""

    def send_mail(self, template_prefix, email, context):
        # allauth's messages carry the signed settings link too (see
        # templates/account/email/base_message.txt), when they are about a member.
        user = context.get("user")
        if user is not None and getattr(user, "pk", None) and user.is_active:
            from .links import preferences_link_url

            context = {**context, "preferences_url": preferences_link_url(member=user)}
        context.setdefault("SITE_NAME", settings.SITE_NAME)
        return super().send_mail(template_prefix, email, context)


class MFAAdapter(DefaultMFAAdapter):
    """Officers, force admins and superusers must keep their authenticator app."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": (
            "Officers and force admins must use two-factor authentication, so it cannot be turned off. "
            "To move to a new phone, use a recovery code to sign in and set up the app again, "
            "or ask your force admin."
        ),
    }

    def can_delete_authenticator(self, authenticator) -> bool:
        if authenticator.type == authenticator.Type.TOTP and authenticator.user.must_use_mfa:
            return False
        return super().can_delete_authenticator(authenticator)
