"""The words of a duration ("2 days, 4 hours"), as the staff pages show SLA time left or over.

Django 5.2's `timesince` asks for "%(num)d day" and its siblings, which Django's own
Vietnamese catalogue does not have yet (it still has "%d day"). Marked here, they are
extracted into locale/vi and translated there; nothing imports this module.
"""

from django.utils.translation import ngettext_lazy

DURATION_WORDS = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)
