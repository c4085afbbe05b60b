"""The replies pages (namespace `replies`). Every route has an entry in tests/matrix/replies.py."""

from django.urls import path

from . import views

app_name = "replies"

urlpatterns = [
    # Residents: their conversations, and the forms under each message they were sent.
    path("replies/mine/", views.mine, name="mine"),
    path("replies/mine/<int:pk>/", views.mine_thread, name="mine_thread"),
    path("replies/message/<int:dispatch_pk>/reply/", views.reply, name="reply"),
    path("replies/message/<int:dispatch_pk>/rate/", views.rate, name="rate"),
    # Officers: their organisation's reply inbox.
    path("replies/", views.inbox, name="inbox"),
    path("replies/settings/", views.reply_settings, name="settings"),
    path("replies/<int:pk>/", views.thread, name="thread"),
    path("replies/<int:pk>/answer/", views.answer, name="answer"),
    path("replies/<int:pk>/assign/", views.assign, name="assign"),
    path("replies/<int:pk>/close/", views.close, name="close"),
    path("replies/<int:pk>/reopen/", views.reopen, name="reopen"),
]
