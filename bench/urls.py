"""The portal's URLs plus the floors the intake benchmark is measured against."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from bench.models import FloorRow
from config.urls import urlpatterns as portal_urlpatterns


@require_POST
def floor(request: HttpRequest) -> HttpResponse:
    """A bare Django view: same middleware, one row inserted through the ORM, a redirect."""
    FloorRow.objects.create(body=request.POST.get("subject", ""))
    return redirect("/")


@require_POST
def floor_raw(request: HttpRequest) -> HttpResponse:
    """The same with a hand-written INSERT: the ORM's own cost, for reference."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floorrow (body) VALUES (%s)", [request.POST.get("subject", "")])
    return redirect("/")


def floor_page(request: HttpRequest) -> HttpResponse:
    """The staff pages' baseline: the same middleware and session, the bare page layout."""
    return render(request, "base.html")


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/floor-raw/", floor_raw),
    path("bench/floor-page/", floor_page),
    *portal_urlpatterns,
]
