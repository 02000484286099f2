"""The portal's URLconf plus one page that fails, to see the real 500 answer in a browser."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400
from config.urls import urlpatterns as portal_urlpatterns


def failing_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a deliberate failure for the 500 page's test")


urlpatterns = [*portal_urlpatterns, path("failing-page/", failing_page, name="failing_page")]

__all__ = ["handler400", "urlpatterns"]
