from allauth.account.adapter import DefaultAccountAdapter
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
