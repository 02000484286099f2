"""The portal's URLs plus the floor the intake benchmark is measured against."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as portal_urlpatterns

FLOOR_TABLE = "bench_floor"


@require_POST
def floor(request: HttpRequest) -> HttpResponse:
    """The least a form post can cost here: same middleware, one INSERT, a redirect."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body) VALUES (%s)", [request.POST.get("subject", "")])
    return redirect("/")


urlpatterns = [path("bench/floor/", floor), *portal_urlpatterns]
