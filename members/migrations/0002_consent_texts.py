from django.db import migrations

SERVICE_TEXT = (
    "I agree that My Community Voice may keep my name, address, email address and (if I give "
    "it) my phone number, to send me the messages I choose and to let me reply to them. I can "
    "download everything held about me, change what I hear about, or delete my account at any "
    "time from my settings."
)
ORGANISATION_TEXT = (
    "I agree that {organisation} may see my name, address and contact details and send me "
    "messages through My Community Voice. I can withdraw this at any time."
)


def forwards(apps, schema_editor):
    ConsentText = apps.get_model("members", "ConsentText")
    ConsentText.objects.get_or_create(purpose="service", version=1, defaults={"text": SERVICE_TEXT})
    ConsentText.objects.get_or_create(purpose="organisation", version=1, defaults={"text": ORGANISATION_TEXT})


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
