"""The surveys pages (namespace `surveys`). Every route has an entry in tests/matrix/surveys.py."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    # Residents
    path("surveys/", views.resident_list, name="list"),
    path("surveys/<int:pk>/", views.answer, name="answer"),
    path("surveys/<int:pk>/thanks/", views.thanks, name="thanks"),
    path("surveys/<int:pk>/results/", views.published_results, name="published_results"),
    path("surveys/<int:pk>/private/<str:key>/", views.private_link, name="private_link"),
    # Officers
    path("surveys/manage/", views.manage_list, name="manage_list"),
    path("surveys/manage/new/", views.create, name="create"),
    path("surveys/manage/<int:pk>/", views.build, name="build"),
    path("surveys/manage/<int:pk>/questions/new/", views.question_create, name="question_create"),
    path("surveys/manage/<int:pk>/questions/order/", views.questions_order, name="questions_order"),
    path("surveys/manage/<int:pk>/questions/<int:qid>/", views.question_edit, name="question_edit"),
    path("surveys/manage/<int:pk>/questions/<int:qid>/delete/", views.question_delete, name="question_delete"),
    path("surveys/manage/<int:pk>/questions/<int:qid>/move/", views.question_move, name="question_move"),
    path("surveys/manage/<int:pk>/preview/", views.preview, name="preview"),
    path("surveys/manage/<int:pk>/publish/", views.publish, name="publish"),
    path("surveys/manage/<int:pk>/close/", views.close, name="close"),
    path("surveys/manage/<int:pk>/closing-time/", views.closing_time, name="closing_time"),
    path("surveys/manage/<int:pk>/delete/", views.delete, name="delete"),
    path("surveys/manage/<int:pk>/results/", views.results, name="results"),
    path("surveys/manage/<int:pk>/results.csv", views.results_csv, name="results_csv"),
    path("surveys/manage/<int:pk>/questions/<int:qid>/chart.svg", views.chart_svg, name="chart_svg"),
    path("surveys/manage/<int:pk>/questions/<int:qid>/answers/", views.text_answers, name="text_answers"),
    path("surveys/manage/<int:pk>/answers/<int:aid>/moderate/", views.moderate, name="moderate"),
    path("surveys/manage/<int:pk>/summary/", views.summary, name="summary"),
    # Quick polls
    path("surveys/manage/polls/", views.poll_manage, name="poll_manage"),
    path("polls/<int:pk>/", views.poll, name="poll"),
    path("polls/<int:pk>/vote/", views.poll_vote, name="poll_vote"),
    path("polls/answer/<str:token>/", views.poll_link, name="poll_link"),
]
