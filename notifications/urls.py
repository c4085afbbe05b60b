from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.message, name="message"),
    # Web push: the service worker must be served from the root to control every page.
    path("sw.js", views.service_worker, name="service_worker"),
    path("push/subscriptions/", views.push_subscriptions, name="push_subscriptions"),
    # Called by the service worker (static/js/sw.js names this path) when the push service renews a subscription.
    path("push/renew/", views.push_subscription_renew, name="push_subscription_renew"),
    path("push/subscriptions/<int:pk>/remove/", views.push_subscription_remove, name="push_subscription_remove"),
]
