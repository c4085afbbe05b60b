"""The map pages: areas (officers) and a resident's own place. The API is in groups/area_api.py."""

from django.urls import path

from . import area_views

app_name = "areas"

urlpatterns = [
    path("areas/", area_views.area_list, name="list"),
    path("areas/draw/", area_views.area_draw_page, name="draw"),
    path("areas/responsibility/", area_views.responsibility, name="responsibility"),
    path("areas/<int:pk>/", area_views.area_detail, name="detail"),
    path("me/location/", area_views.my_location, name="my_location"),
]
