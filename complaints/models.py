"""The complaint dossier, its lifecycle, its timeline and the notification outbox."""

from __future__ import annotations

import hashlib
import operator
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import NotSupportedError, models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Least, Lower, NullIf
from django.db.models.lookups import IsNull
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from common.choices import ChoiceLabels
from common.times import when
from complaints.mailparse import reason_for
from complaints.refusals import stale_form

# Crockford's base 32 without the letters people confuse (I, L, O, U).
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A random, non-sequential reference such as ``KN-7F3K-Q9XM`` (40 bits of randomness)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"KN-{chars[:4]}-{chars[4:]}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def localized(vi: str, en: str) -> str:
    """The Vietnamese or English form of a name stored in both, for the active language."""
    return en if translation.get_language() == "en" else vi


def in_language(language: str, vi: str, en: str) -> str:
    """A text stored in both languages, in `language` (vi or en); the other one if that is empty."""
    first, second = (en, vi) if language == "en" else (vi, en)
    return first or second


class Complexity(models.TextChoices):
    SIMPLE = "simple", _("Simple")
    COMPLEX = "complex", _("Complex")


class BilingualNameMixin(models.Model):
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self.name_vi, self.name_en)


class Category(BilingualNameMixin):
    slug = models.SlugField(_("code"), unique=True)
    retention_years = models.PositiveSmallIntegerField(
        _("retention (years)"),
        null=True,
        blank=True,
        help_text=_(
            "Years the personal data of a closed or withdrawn complaint of this category is kept "
            "before it is anonymised. Empty: the portal's default (RETENTION_DEFAULT_YEARS)."
        ),
    )
    regime = models.ForeignKey(
        "escalation.Regime",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="categories",
        verbose_name=_("regime"),
        help_text=_(
            "The law or regulator whose deadlines its complaints carry beside the service ones. Empty: none."
        ),
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")


class Subcategory(BilingualNameMixin):
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="subcategories", verbose_name=_("category")
    )
    slug = models.SlugField(_("code"))
    default_complexity = models.CharField(
        _("default complexity"), max_length=10, choices=Complexity.choices, default=Complexity.SIMPLE
    )

    class Meta:
        ordering = ["category__position", "position", "pk"]
        verbose_name = _("subcategory")
        verbose_name_plural = _("subcategories")
        constraints = [models.UniqueConstraint(fields=["category", "slug"], name="subcategory_slug_unique")]


class Cause(BilingualNameMixin):
    """Why a complaint arose, as staff found it when resolving it: the taxonomy the dashboard's
    Pareto and the export count by (ISO 10002's analysis of causes). A cause belongs to one
    category, or to none (offered for every category). Editable in the admin."""

    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="causes",
        verbose_name=_("category"),
        help_text=_("Empty: offered for complaints of every category."),
    )
    slug = models.SlugField(_("code"), unique=True)

    class Meta:
        ordering = ["category__position", "position", "pk"]
        verbose_name = _("cause")
        verbose_name_plural = _("causes")


class Outcome(models.TextChoices):
    """Whether the complaint was found justified: what a regulator's return counts as upheld."""

    UPHELD = "upheld", _("Upheld")
    PARTLY_UPHELD = "partly_upheld", _("Partly upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")


# The outcomes a regulator's return counts as upheld (in full or in part).
UPHELD_OUTCOMES = (Outcome.UPHELD, Outcome.PARTLY_UPHELD)


class Remedy(models.TextChoices):
    REFUND = "refund", _("Refund")
    ACCESS_RESTORED = "access_restored", _("Access restored")
    REPLACEMENT = "replacement", _("Replacement")
    APOLOGY = "apology", _("Apology")
    NONE = "none", _("None")


class Currency(models.TextChoices):
    VND = "VND", "VND"
    USD = "USD", "USD"
    GBP = "GBP", "GBP"
    EUR = "EUR", "EUR"


# The category (and its one subcategory) of a complaint nobody has classified yet: one
# opened by an e-mail to the intake address. Seeded inactive (migration 0012), so no form
# offers it; the complainant and staff move the complaint out of it.
UNCLASSIFIED = "unclassified"


class DossierPart(models.TextChoices):
    """A part of the dossier an incomplete complaint still lacks (it was opened by e-mail)."""

    CATEGORY = "category", _("what the problem is about")
    PROVIDER = "provider", _("the service or company")
    OCCURRED_AT = "occurred_at", _("when it happened")
    DESIRED_OUTCOME = "desired_outcome", _("the outcome wanted")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    AWAITING_COMPLAINANT = "awaiting_complainant", _("Waiting for your answer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The statuses staff name otherwise than the complainant reads them (Status's own labels).
STAFF_STATUS_LABELS = {Status.AWAITING_COMPLAINANT: _("Waiting for the complainant")}


# The cases staff work on: the queues hold these, nearest deadline first.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
QUEUE_STATUSES = (Status.NEW, Status.OPEN, Status.AWAITING_COMPLAINANT)
# Cases that ended (their status changes no more): retention counts from then.
ENDED_STATUSES = (Status.CLOSED, Status.WITHDRAWN)
# A case's next deadline: the first response until it is given, then the resolution;
# cases without a policy come last.
QUEUE_DUE = Coalesce(
    Case(When(first_responded_at__isnull=True, then=F("first_response_due_at"))),
    F("resolution_due_at"),
    Value(FAR_FUTURE),
)
# The columns recording a missed deadline: the service's two, and a regime's three.
BREACH_COLUMNS = (
    "first_response_breached_at",
    "resolution_breached_at",
    "acknowledge_breached_at",
    "accept_breached_at",
    "final_response_breached_at",
)
# When a case first missed a deadline (the far future if it never did): the manager
# queue's order, oldest breach first. Coalesced, so SQLite orders it as PostgreSQL does.
BREACHED_AT = Least(*(Coalesce(column, Value(FAR_FUTURE)) for column in BREACH_COLUMNS))

# The only statement of the lifecycle (DESIGN.md): from-status -> the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WITHDRAWN}),
    Status.OPEN: frozenset({Status.AWAITING_COMPLAINANT, Status.RESOLVED, Status.WITHDRAWN}),
    Status.AWAITING_COMPLAINANT: frozenset({Status.OPEN, Status.WITHDRAWN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN, Status.WITHDRAWN}),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}

# The identifiers of an account at the provider, each optional: a case of the same provider that
# gives one of them as another case does is about the same account (complaints.related).
ACCOUNT_FIELDS = ("provider_username", "provider_email", "provider_account_id")


def account_key(field: str) -> NullIf:
    """An identifier of the account at the provider as related cases compare it: in lower case;
    NULL when not given, so that an index holds only the complaints that give it (its condition,
    IS NOT NULL, follows from any equality on it, whatever the statement's parameters)."""
    return NullIf(Lower(field), Value(""))


# How long after resolution the complainant may dispute; after it the case closes itself.
DISPUTE_WINDOW = timedelta(days=14)
# A complainant may send one reminder per this period.
REMINDER_INTERVAL = timedelta(hours=24)


class ComplaintQuerySet(models.QuerySet):
    def open(self) -> ComplaintQuerySet:
        return self.exclude(status__in=[Status.CLOSED, Status.WITHDRAWN])

    def visible_to(
        self, user: object, *, guest_ids: frozenset[int] | set[int] = frozenset()
    ) -> ComplaintQuerySet:
        """The complaints this visitor may see: staff see all; a complainant sees their own
        and those their session was granted through a tracking link."""
        if getattr(user, "is_authenticated", False) and user.is_agent:
            return self.all()
        condition = Q(pk__in=list(guest_ids))
        if getattr(user, "is_authenticated", False):
            condition |= Q(complainant=user)
        return self.filter(condition)

    def owned_by(
        self, user: object, *, guest_ids: frozenset[int] | set[int] = frozenset()
    ) -> ComplaintQuerySet:
        """The complaints this visitor filed (or holds a tracking link for): complainant actions."""
        condition = Q(pk__in=list(guest_ids))
        if getattr(user, "is_authenticated", False):
            condition |= Q(complainant=user)
        return self.filter(condition)

    def escalated_to(self, rank: int) -> ComplaintQuerySet:
        """Open complaints at escalation level `rank` or above, oldest breach first."""
        return (
            self.filter(status__in=QUEUE_STATUSES, escalation_level__gte=max(rank, 1))
            .annotate(breached_at=BREACHED_AT)
            .order_by("breached_at", "submitted_at", "id")
        )

    def matching(self, filters: dict[str, Any]) -> ComplaintQuerySet:
        """The complaints matching the staff filters (the queue's and the export's): category,
        status, complexity, level and breached only, each applied when given."""
        queryset = self
        for name in ("category", "status", "complexity"):
            if filters.get(name):
                queryset = queryset.filter(**{name: filters[name]})
        if filters.get("level") is not None:
            queryset = queryset.filter(escalation_level=filters["level"])
        if filters.get("breached"):
            queryset = queryset.filter(
                reduce(operator.or_, (Q(**{f"{column}__isnull": False}) for column in BREACH_COLUMNS))
            )
        return queryset

    def resolved_before(self, moment: datetime) -> ComplaintQuerySet:
        return self.filter(status=Status.RESOLVED, resolved_at__lte=moment)

    def locked(self, complaint: Complaint, *, version: int | None = None) -> Complaint:
        """Re-read `complaint` under a row lock (the caller's copy may be stale).

        With `version`, raise StaleForm unless the complaint is still at that version: a
        form read before someone else's change must not undo it. Call inside a transaction.
        """
        locked = self.select_for_update().get(pk=complaint.pk)
        if version is not None and locked.version != version:
            raise stale_form()
        return locked


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Being worked on")
    RESOLVED = "resolved", _("Resolved")


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(status=IncidentStatus.OPEN)


class Incident(ChoiceLabels, models.Model):
    """A problem many complainants meet at once (a service's login broken for everyone), declared
    by a team lead or manager: its public page tells complainants it is known, and its updates
    and resolution reach every complainant whose case is linked to it. Each linked complaint
    keeps its own case, timeline and clocks (complaints.services.incidents)."""

    slug = models.SlugField(_("address"), max_length=80, unique=True)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    note_vi = models.TextField(_("public note (Vietnamese)"), max_length=5_000)
    note_en = models.TextField(_("public note (English)"), max_length=5_000)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"), db_index=False
    )
    provider_name = models.CharField(_("service or company"), max_length=150)
    # provider_name as a key (complaints.search.provider_key): a filing matches it whatever its
    # case, diacritics, spaces and web address ("Shop Nhanh", "shopnhanh.vn": "shopnhanh").
    # Written with provider_name.
    provider_key = models.CharField(max_length=150, editable=False)
    started_at = models.DateTimeField(_("started"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("declared by"),
        db_index=False,
    )
    declared_at = models.DateTimeField(_("declared"))
    status = models.CharField(
        _("status"), max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
        db_index=False,
    )
    resolution_vi = models.TextField(_("resolution (Vietnamese)"), max_length=5_000, blank=True)
    resolution_en = models.TextField(_("resolution (English)"), max_length=5_000, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            # The staff list: open ones first, newest first (a few hundred rows in a year).
            models.Index(fields=["status", "-started_at"], name="incident_list_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return in_language(translation.get_language() or "", self.title_vi, self.title_en)

    @property
    def note(self) -> str:
        return in_language(translation.get_language() or "", self.note_vi, self.note_en)

    @property
    def resolution(self) -> str:
        return in_language(translation.get_language() or "", self.resolution_vi, self.resolution_en)

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN


class IncidentUpdate(models.Model):
    """News on an incident, public, in both languages; sent to every linked complainant."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    text_vi = models.TextField(_("update (Vietnamese)"), max_length=5_000)
    text_en = models.TextField(_("update (English)"), max_length=5_000)
    at = models.DateTimeField(_("when"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,
    )

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")

    def __str__(self) -> str:
        return f"{self.incident_id} {when(self.at)}"

    @property
    def text(self) -> str:
        return in_language(translation.get_language() or "", self.text_vi, self.text_en)


class WaveAlertState(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Dismissed")
    DECLARED = "declared", _("Incident declared")
    # Still open when the same service's complaints surged again after a quiet spell: the new
    # wave has an alert of its own.
    SUPERSEDED = "superseded", _("Replaced by a later wave")


class WaveAlertQuerySet(models.QuerySet):
    def open(self) -> WaveAlertQuerySet:
        return self.filter(state=WaveAlertState.OPEN)


class WaveAlert(ChoiceLabels, models.Model):
    """A wave: many more complaints than usual about one provider in one category within an hour,
    noticed by `complaints.services.waves.detect_waves`. The managers are e-mailed once; the staff
    queues show it to team leads and managers while it is open, until one of them dismisses it or
    declares the incident it suggests. A wave that goes on is the same alert (`last_seen_at`)."""

    # The alert's address in URLs (the banner's buttons, the e-mail's link).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # wave_alert_pair_idx leads with it, so the foreign key needs no index of its own.
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"), db_index=False
    )
    # The spelling most of the wave's complaints used, and the name as a key
    # (complaints.search.provider_key), as an incident's is: what the wave's complaints were
    # grouped by.
    provider_name = models.CharField(_("service or company"), max_length=150)
    provider_key = models.CharField(max_length=150)
    # The hour the wave was noticed in: [window_start, window_start + 1 h), its complaints `count`,
    # and `baseline`, the mean count of the same hour of the week in the weeks before.
    window_start = models.DateTimeField(_("since"))
    count = models.PositiveIntegerField(_("complaints in the hour"))
    baseline = models.FloatField(_("usual at that hour"))
    created_at = models.DateTimeField(_("noticed"))
    # The last check that still saw the wave: while it is recent, the wave is this alert's.
    last_seen_at = models.DateTimeField(_("last seen"))
    state = models.CharField(
        _("state"), max_length=12, choices=WaveAlertState.choices, default=WaveAlertState.OPEN
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
        db_index=False,  # a few alerts a week: PROTECT's look-up reads them all
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    # The incident declared from it (or declared for its category and provider while it was open).
    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wave_alerts",
        verbose_name=_("incident"),
        db_index=False,  # as handled_by
    )

    objects = WaveAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("wave alert")
        verbose_name_plural = _("wave alerts")
        constraints = [
            # One open alert per category and provider: a second check of the same wave, or two
            # checks at once, cannot alert it twice. Also the banner's list of the open ones.
            models.UniqueConstraint(
                fields=["category", "provider_key"],
                condition=Q(state="open"),
                name="wave_alert_open_once",
            ),
        ]
        indexes = [
            # detect_waves: a category and provider's latest alert (is the wave still the same?).
            models.Index(fields=["category", "provider_key", "last_seen_at"], name="wave_alert_pair_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name} ({self.category_id}) {when(self.window_start)}: {self.count}"

    @property
    def is_open(self) -> bool:
        return self.state == WaveAlertState.OPEN


class Language(models.TextChoices):
    VI = "vi", "Tiếng Việt"
    EN = "en", "English"


class Complaint(ChoiceLabels, models.Model):
    reference = models.CharField(
        _("reference"), max_length=16, unique=True, default=new_reference, editable=False
    )
    # Set from the intake form's hidden token: a reload or double click finds the same complaint.
    submission_key = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    complainant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("complainant account"),
        db_index=False,  # complaint_mine_idx leads with it
    )

    # What
    category = models.ForeignKey(Category, on_delete=models.PROTECT, verbose_name=_("category"))
    # Not indexed on its own: nothing lists complaints by subcategory alone, and the staff
    # queues bring composite indexes of their own.
    subcategory = models.ForeignKey(
        Subcategory, on_delete=models.PROTECT, verbose_name=_("subcategory"), db_index=False
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    desired_outcome = models.TextField(_("desired outcome"), max_length=2_000)
    # When
    occurred_at = models.DateTimeField(_("when it happened"))
    first_reported_at = models.DateTimeField(_("first reported to the provider"), null=True, blank=True)
    # Who
    contact_name = models.CharField(_("name"), max_length=150)
    contact_email = models.EmailField(_("e-mail"), max_length=254)
    contact_phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("preferred language"), max_length=8, choices=Language.choices)
    # Account at the provider
    provider_name = models.CharField(_("service or company"), max_length=150)
    provider_username = models.CharField(_("username at the provider"), max_length=150, blank=True)
    provider_email = models.CharField(_("login e-mail at the provider"), max_length=254, blank=True)
    provider_account_id = models.CharField(_("account or order number"), max_length=150, blank=True)
    # What was tried
    steps_taken = models.TextField(_("steps already taken"), max_length=5_000, blank=True)

    # Handling
    complexity = models.CharField(_("complexity"), max_length=10, choices=Complexity.choices)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_complaints",
        verbose_name=_("assignee"),
        db_index=False,  # the staff queues come with their own composite indexes
    )
    submitted_at = models.DateTimeField(_("submitted"))
    status_changed_at = models.DateTimeField(_("status changed"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    resolution_summary = models.TextField(_("resolution"), blank=True)
    # What staff found when resolving (required then; a dispute and a new resolution replace them).
    cause = models.ForeignKey(
        Cause, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("cause")
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    remedy = models.CharField(_("remedy"), max_length=16, choices=Remedy.choices, blank=True)
    remedy_amount = models.DecimalField(
        _("refund amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    remedy_currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, blank=True, default="", db_default=""
    )
    last_reminder_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), max_length=2_000, blank=True)
    # An incomplete complaint (opened by an e-mail, without the form) lacks `missing_parts`
    # (DossierPart values) since then; both are cleared when its complainant completes it.
    # Only a complaint marked incomplete may lack its provider or its desired outcome.
    incomplete_since = models.DateTimeField(_("incomplete since"), null=True, blank=True)
    missing_parts = models.JSONField(
        _("missing parts"), default=list, db_default=Value([], output_field=models.JSONField()), blank=True
    )
    # The complainant's consent to the processing of their data: when, and to which wording
    # of the privacy notice (ConsentWording.version). Empty on a complaint opened by e-mail
    # and not yet completed, and on those filed before the portal asked.
    consent_version = models.CharField(
        _("consent wording"), max_length=40, blank=True, default="", db_default=""
    )
    consent_given_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    # Withdrawn by the complainant: the case ended then, and its personal data goes at once
    # (or as soon as a legal hold is lifted).
    consent_withdrawn_at = models.DateTimeField(_("consent withdrawn"), null=True, blank=True)
    # A restriction requested by the complainant (a privacy request) freezes processing until
    # lifted: no notice about the case goes out, no dossier or export includes it.
    processing_restricted_at = models.DateTimeField(_("processing restricted"), null=True, blank=True)
    # Retention: a legal hold (with its reason) keeps the personal data past its category's
    # retention period; anonymised_at says when it was erased (complaints.services.retention).
    legal_hold_reason = models.TextField(
        _("legal hold"), blank=True, max_length=2_000, default="", db_default=""
    )
    legal_hold_since = models.DateTimeField(_("legal hold since"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    # Bumped by every service that changes the complaint: a stale staff form is refused.
    version = models.PositiveIntegerField(default=1)

    # The SLA clock: stored, not recomputed per query, written only by escalation (clock, sweep, moves).
    clock_started_at = models.DateTimeField(_("clock started"), null=True, blank=True)
    clock_paused_at = models.DateTimeField(_("clock paused"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(
        _("first response deadline missed"), null=True, blank=True
    )
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(_("resolution deadline missed"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    level_since = models.DateTimeField(null=True, blank=True)
    # The regulatory clock beside it (escalation.clock): the regime of the complaint's category
    # when it was filed or reclassified, when staff accepted the case (it left "new"), and the
    # regime's deadlines, each counted as the regime counts it.
    regime = models.ForeignKey(
        "escalation.Regime",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("regime"),
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # When the regime's acknowledgement of receipt was issued (with the notice of receipt).
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    # The first resolution: the final response a regime asks for (a dispute reopens the case
    # and clears `resolved_at`, not this).
    final_response_at = models.DateTimeField(_("final response sent"), null=True, blank=True)
    acknowledge_due_at = models.DateTimeField(_("acknowledgement due"), null=True, blank=True)
    accept_due_at = models.DateTimeField(_("acceptance due"), null=True, blank=True)
    final_response_due_at = models.DateTimeField(_("final response due"), null=True, blank=True)
    # When staff are warned of each (set with it), and, set by the sweep as for the service
    # deadlines, when each was warned of and when it was missed.
    acknowledge_warning_at = models.DateTimeField(null=True, blank=True)
    accept_warning_at = models.DateTimeField(null=True, blank=True)
    final_response_warning_at = models.DateTimeField(null=True, blank=True)
    acknowledge_warned_at = models.DateTimeField(null=True, blank=True)
    acknowledge_breached_at = models.DateTimeField(_("acknowledgement missed"), null=True, blank=True)
    accept_warned_at = models.DateTimeField(null=True, blank=True)
    accept_breached_at = models.DateTimeField(_("acceptance missed"), null=True, blank=True)
    final_response_warned_at = models.DateTimeField(null=True, blank=True)
    final_response_breached_at = models.DateTimeField(_("final response missed"), null=True, blank=True)
    # The earliest next warning, deadline or climb; NULL when nothing is pending.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Reference, subject, description and contact e-mail folded (complaints.search): staff
    # search ignores case and diacritics. Written with the fields it is made of.
    search_text = models.TextField(default="", db_default="", editable=False)
    # provider_name as a key (complaints.search.provider_key), as Incident.provider_key: related
    # cases (complaints.related) and the wave detector match the provider by it. Written with
    # provider_name.
    provider_key = models.CharField(max_length=150, default="", db_default="", editable=False)
    # The subject and the start of the description folded (complaints.search.related_text): what
    # related cases are compared by. Written with the fields it is made of.
    related_text = models.TextField(default="", db_default="", editable=False)
    # The incident the complaint is one of (complaints.services.incidents), if any: its updates
    # and resolution reach the complainant. Indexed by complaint_incident_idx.
    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("incident"),
        db_index=False,
    )

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            # "My complaints", newest first.
            models.Index(
                fields=["complainant", "-submitted_at"],
                name="complaint_mine_idx",
                condition=Q(complainant__isnull=False),  # guests have no list to show
            ),
            # escalation.sweep.sweep: what is due is one probe of this small index,
            # whatever the size of the table.
            models.Index(
                fields=["next_check_at"],
                name="complaint_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
            # The staff queues, nearest deadline first, paged by (deadline, id): the case
            # being worked, per assignee, and all of them (unassigned, a team's).
            models.Index(
                F("assignee"),
                QUEUE_DUE,
                F("id"),
                name="complaint_queue_assignee_idx",
                condition=Q(status__in=QUEUE_STATUSES),
            ),
            models.Index(
                QUEUE_DUE,
                F("id"),
                name="complaint_queue_idx",
                condition=Q(status__in=QUEUE_STATUSES),
            ),
            # The manager queue, oldest breach first, paged by (breach, submitted, id).
            models.Index(
                BREACHED_AT,
                F("submitted_at"),
                F("id"),
                name="complaint_escalated_idx",
                condition=Q(status__in=QUEUE_STATUSES, escalation_level__gt=0),
            ),
            # The SLA dashboard's window (the last weeks of submissions).
            models.Index(fields=["submitted_at"], name="complaint_submitted_idx"),
            # The dashboard's breaches per week and open cases per level, index-only.
            models.Index(
                fields=["first_response_breached_at"],
                name="complaint_fr_breached_idx",
                condition=Q(first_response_breached_at__isnull=False),
            ),
            models.Index(
                fields=["resolution_breached_at"],
                name="complaint_res_breached_idx",
                condition=Q(resolution_breached_at__isnull=False),
            ),
            models.Index(
                fields=["escalation_level"],
                name="complaint_open_level_idx",
                condition=Q(status__in=QUEUE_STATUSES),
            ),
            # The compliance report's list of the deadlines missed in a period (staff.compliance.
            # breaches), oldest first: one range of each, complaints under no regime left out.
            # (Its figures are the tallies of complaints.report_tallies.)
            *(
                models.Index(
                    fields=[column],
                    name=f"complaint_rg_{short}_idx",
                    condition=Q(regime__isnull=False, **{f"{column}__isnull": False}),
                )
                for short, column in (
                    ("ack_miss", "acknowledge_breached_at"),
                    ("accept_miss", "accept_breached_at"),
                    ("final_miss", "final_response_breached_at"),
                )
            ),
            # The compliance report's acknowledgements still pending (staff.compliance): those not
            # given whose deadline is still ahead, one range of this small index; everything else
            # about acknowledgements comes from the tallies.
            models.Index(
                fields=["acknowledge_due_at"],
                name="complaint_ack_pending_idx",
                condition=Q(
                    regime__isnull=False, acknowledged_at__isnull=True, acknowledge_due_at__isnull=False
                ),
            ),
            # The retention sweep: ended cases not yet anonymised, oldest end first.
            models.Index(
                fields=["status_changed_at"],
                name="complaint_retention_idx",
                condition=Q(status__in=ENDED_STATUSES, anonymised_at__isnull=True),
            ),
            # An incident's linked cases (its page; its updates' notices and timeline entries,
            # set-wise), and PROTECT's look-up; most complaints belong to none and stay out.
            models.Index(
                fields=["incident", "id"], name="complaint_incident_idx", condition=Q(incident__isnull=False)
            ),
            # Related cases (complaints.related): those of the same provider nearest in time to
            # a case, within the window around its filing, read from both sides of it...
            models.Index(fields=["provider_key", "submitted_at"], name="complaint_provider_time_idx"),
            # ... and those giving the same account at the same provider, newest first: one index
            # per identifier, each holding only the complaints that give it.
            *(
                models.Index(
                    F("provider_key"),
                    account_key(field),
                    F("submitted_at"),
                    name=f"complaint_account_{short}_idx",
                    condition=Q(IsNull(account_key(field), False)),
                )
                for short, field in zip(("user", "email", "id"), ACCOUNT_FIELDS, strict=True)
            ),
            # Cases whose complainant withdrew consent and whose data still waits (a hold).
            models.Index(
                fields=["consent_withdrawn_at"],
                name="complaint_withdrawn_idx",
                condition=Q(consent_withdrawn_at__isnull=False, anonymised_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="complaint_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(incomplete_since__isnull=False)
                | Q(anonymised_at__isnull=False)
                | (~Q(provider_name="") & ~Q(desired_outcome="")),
                name="complaint_complete_unless_marked",
            ),
            # A refund names its amount and currency; no other remedy has an amount.
            models.CheckConstraint(
                condition=Q(remedy=Remedy.REFUND, remedy_amount__gt=0) & ~Q(remedy_currency="")
                | ~Q(remedy=Remedy.REFUND) & Q(remedy_amount__isnull=True),
                name="complaint_refund_has_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.CLOSED, Status.WITHDRAWN)

    @property
    def is_incomplete(self) -> bool:
        return self.incomplete_since is not None

    @property
    def missing_labels(self) -> list[str]:
        """What the dossier still lacks, in the active language."""
        return [str(DossierPart(part).label) for part in self.missing_parts if part in DossierPart.values]

    def can_transition_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def apply_status(self, status: str, *, now: datetime) -> list[str]:
        """Set the status and the timestamps that go with it; return the changed fields (no save)."""
        self.status = status
        self.status_changed_at = now
        fields = ["status", "status_changed_at"]
        if status == Status.RESOLVED:
            self.resolved_at = now
            fields.append("resolved_at")
        elif status == Status.CLOSED:
            self.closed_at = now
            fields.append("closed_at")
        elif status == Status.OPEN and self.resolved_at is not None:
            # Reopened by a dispute: the earlier resolution no longer stands.
            self.resolved_at = None
            fields.append("resolved_at")
        return fields

    def dispute_deadline(self) -> datetime | None:
        if self.status != Status.RESOLVED or self.resolved_at is None:
            return None
        return self.resolved_at + DISPUTE_WINDOW

    def can_dispute(self, now: datetime) -> bool:
        deadline = self.dispute_deadline()
        return deadline is not None and now < deadline

    def next_reminder_at(self) -> datetime | None:
        return None if self.last_reminder_at is None else self.last_reminder_at + REMINDER_INTERVAL

    def can_remind(self, now: datetime) -> bool:
        if self.status not in (Status.NEW, Status.OPEN):
            return False
        next_at = self.next_reminder_at()
        return next_at is None or now >= next_at

    @property
    def can_rate(self) -> bool:
        return self.status in (Status.RESOLVED, Status.CLOSED) and self.rating is None


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Complaint submitted")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    REPLY = "reply", _("Reply")
    INTERNAL_NOTE = "internal_note", _("Internal note")
    EVIDENCE_ADDED = "evidence_added", _("Evidence added")
    CONTACT_LOGGED = "contact_logged", _("Contact with the provider recorded")
    INFO_REQUESTED = "info_requested", _("Information requested")
    REMINDER = "reminder", _("Reminder sent")
    ESCALATION_REQUESTED = "escalation_requested", _("Escalation requested")
    SLA_WARNING = "sla_warning", _("Deadline approaching")
    SLA_BREACHED = "sla_breached", _("Deadline missed")
    ESCALATED = "escalated", _("Escalated")
    DE_ESCALATED = "de_escalated", _("De-escalated")
    STATUS_CHANGED = "status_changed", _("Status changed")
    RESOLVED = "resolved", _("Resolved")
    DISPUTED = "disputed", _("Resolution disputed")
    CLOSED = "closed", _("Closed")
    RATED = "rated", _("Handling rated")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    MAIL_BOUNCED = "mail_bounced", _("E-mail not delivered")
    COMPLETED = "completed", _("Complaint completed")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    CONTACT_CORRECTED = "contact_corrected", _("Contact details corrected")
    PRIVACY_REQUEST = "privacy_request", _("Request about personal data")
    PRIVACY_REQUEST_ANSWERED = "privacy_request_answered", _("Request about personal data answered")
    ANONYMISED = "anonymised", _("Personal data erased")
    LETTER_SENT = "letter_sent", _("Letter sent")
    INCIDENT_LINKED = "incident_linked", _("Linked to a known problem")
    INCIDENT_UPDATE = "incident_update", _("News on the known problem")
    INCIDENT_RESOLVED = "incident_resolved", _("Known problem resolved")
    CASE_LINKED = "case_linked", _("Linked to another case")
    CASE_UNLINKED = "case_unlinked", _("Link to another case removed")


class ActorRole(models.TextChoices):
    COMPLAINANT = "complainant", _("Complainant")
    STAFF = "staff", _("Support team")
    SYSTEM = "system", _("System")


class ComplaintEvent(ChoiceLabels, models.Model):
    """One entry of a complaint's timeline. Append-only: never edited, never deleted."""

    # event_timeline_idx leads with the complaint, so the foreign key needs no index of its own.
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Who acted, as the timeline should say it when there is no account (a guest, the system).
    actor_role = models.CharField(max_length=16, choices=ActorRole.choices)
    created_at = models.DateTimeField()
    public = models.BooleanField(default=True)
    body = models.TextField(blank=True, max_length=10_000)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["complaint", "created_at"], name="event_timeline_idx"),
            # The compliance report's letters sent in a period (staff.compliance.late_letters).
            models.Index(
                fields=["created_at"], name="event_letter_sent_idx", condition=Q(kind="letter_sent")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {when(self.created_at)}"


class ComplaintRelation(models.Model):
    """Two cases staff linked to each other (the same person's second complaint, one problem told
    twice): each case page lists the other among its linked cases, and each link and its removal
    is an internal entry on both timelines (complaints.services.relations). Symmetric, so stored
    once: the lower id first."""

    # complaint_relation_once leads with `low`, complaint_relation_high_idx with `high`.
    low = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="+", db_index=False)
    high = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(_("linked"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("linked by"),
    )

    class Meta:
        verbose_name = _("link between cases")
        verbose_name_plural = _("links between cases")
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="complaint_relation_once"),
            models.CheckConstraint(condition=Q(low__lt=F("high")), name="complaint_relation_ordered"),
        ]
        indexes = [models.Index(fields=["high", "low"], name="complaint_relation_high_idx")]

    def __str__(self) -> str:
        return f"{self.low_id} ↔ {self.high_id}"

    @staticmethod
    def pair(first: int, second: int) -> tuple[int, int]:
        """Two cases' ids as a relation stores them: the lower first."""
        return (first, second) if first < second else (second, first)


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social media")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


class ContactAttempt(ChoiceLabels, models.Model):
    """An earlier contact the complainant had with the provider's own support."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(_("channel"), max_length=16, choices=ContactChannel.choices)
    contacted_at = models.DateTimeField(_("when"))
    with_whom = models.CharField(_("with whom"), max_length=150, blank=True)
    their_reference = models.CharField(_("their reference"), max_length=150, blank=True)
    summary = models.TextField(_("what was said"), max_length=5_000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["contacted_at", "pk"]
        verbose_name = _("contact with the provider")
        verbose_name_plural = _("contacts with the provider")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {when(self.contacted_at)}"


class TrackingToken(models.Model):
    """A guest's tracking link. Only the SHA-256 of the 256-bit token is stored."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="tracking_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.complaint_id} → {when(self.expires_at)}"


class ReplyToken(models.Model):
    """The token in a notice's Reply-To address (`<local>+<token>@<domain>`, complaints.replies),
    bound to one complaint and the one recipient the notice went to: their e-mail address,
    and the staff member when the notice went to one. Only the SHA-256 of the 160-bit token
    is stored. A revoked token no longer lets a reply onto the case."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="reply_tokens")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # nothing looks tokens up by person, as with Notification.recipient
    )
    email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.email}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Sent, then returned by the recipient's mail server (a delivery failure report).
    BOUNCED = "bounced", _("Returned undelivered")


class Notification(ChoiceLabels, models.Model):
    """The outbox: a notice written in the same transaction as the change it reports.

    `deliver_outbox` sends each row once, outside any request or sweep transaction.
    """

    # Delivery looks rows up by next_attempt_at; nothing lists a complaint's notices.
    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    email = models.EmailField(max_length=254)
    template = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The e-mail's Message-ID, angle brackets included, given when the notice is queued (so
    # a resend after a crash carries the same one). Empty on notices queued before there was one.
    message_id = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [
            # deliver_outbox: pending rows due now, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=Q(status="pending"),
            ),
            # complaints.replies.notice_for_message_ids: the notice a reply's In-Reply-To or
            # References names.
            models.Index(fields=["message_id"], name="notification_message_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} -> {self.email} ({self.status})"


class CannedReply(models.Model):
    """A prepared answer staff can send as a reply, written in both languages."""

    title_vi = models.CharField(_("title (Vietnamese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    body_vi = models.TextField(_("text (Vietnamese)"), max_length=10_000)
    body_en = models.TextField(_("text (English)"), max_length=10_000)
    active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["ordering", "pk"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The title in the reader's (active) language; the other one if that is empty."""
        return in_language(translation.get_language() or "", self.title_vi, self.title_en)

    def body_for(self, language: str) -> str:
        """The text in `language` (vi or en); the other one if that is empty."""
        return in_language(language, self.body_vi, self.body_en)


# Where received messages are stored as they came (the evidence storage), by InboundMessage.raw_key.
INBOUND_PREFIX = "inbound"


class InboundDoor(models.TextChoices):
    IMAP = "imap", _("Mailbox (IMAP)")
    WEBHOOK = "webhook", _("Mail provider")
    FOLDER = "folder", _("Folder")
    REVIEW = "review", _("Review")


class InboundStatus(models.TextChoices):
    LANDED = "landed", _("Added to its case")
    REVIEW = "review", _("Waiting for review")
    ATTACHED = "attached", _("Attached to a case by staff")
    DISCARDED = "discarded", _("Discarded")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    BOUNCE = "bounce", _("Delivery failure report")


class ReviewReason(models.TextChoices):
    """Why an e-mail waits for a person instead of landing on a case."""

    NO_MATCH = "no_match", _("It matches no case.")
    UNKNOWN_TOKEN = "unknown_token", _("Its reply address is unknown or was revoked.")
    WRONG_SENDER = "wrong_sender", _("It was not sent from the address the case wrote to.")
    NO_TOKEN = "no_token", _("It names a case but was not sent to that case's reply address.")
    AUTH_FAILED = "auth_failed", _("The receiving mail server could not verify its sender (DMARC or SPF).")
    MALFORMED = "malformed", _("It could not be read.")
    REFUSED = "refused", _("Its case does not take replies now.")
    RATE_LIMITED = "rate_limited", _("Its sender sent more messages than the hourly limit.")
    EMPTY = "empty", _("It holds no new text and no file.")


class InboundMessage(ChoiceLabels, models.Model):
    """One e-mail received, by whichever door, recorded once (by Message-ID, else by the
    SHA-256 of its bytes) before anything is done with it. The raw message is kept in
    storage (`raw_key`); what became of it is `status`, and why it waits for a person,
    `reason`."""

    door = models.CharField(max_length=8, choices=InboundDoor.choices)
    message_id = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, unique=True)
    raw_key = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    # The new text as the pipeline read it (quotes and signature stripped), for review.
    text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=InboundStatus.choices)
    reason = models.CharField(max_length=16, choices=ReviewReason.choices, blank=True)
    detail = models.TextField(blank=True)
    # Why it could not be read, as the parser's code and numbers: shown in the reader's language.
    problem = models.JSONField(default=dict, blank=True)
    # The case it landed on, or the one it seems to be about (for review).
    complaint = models.ForeignKey(
        Complaint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    event = models.ForeignKey(
        ComplaintEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="inbound_message_id_once"
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
            models.Index(fields=["from_address", "received_at"], name="inbound_sender_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address} {self.subject!r} ({self.status})"

    @property
    def problem_text(self) -> str:
        """Why the message could not be read, in the active language ("" if it could)."""
        if not self.problem:
            return ""
        return str(reason_for(self.problem.get("code", ""), self.problem.get("params", {})))


class ConsentWording(models.Model):
    """A wording of the privacy notice a complainant consented to, as shown in each language.

    `version` is a digest of both texts: a new wording is a new version, written the first
    time someone consents to it, so the wording behind any complaint's consent can be shown.
    """

    version = models.CharField(max_length=40, unique=True)
    text_vi = models.TextField()
    text_en = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("privacy notice wording")
        verbose_name_plural = _("privacy notice wordings")

    def __str__(self) -> str:
        return self.version


class PrivacyRequestKind(models.TextChoices):
    ACCESS = "access", _("Access to my data")
    CORRECTION = "correction", _("Correction of my data")
    ERASURE = "erasure", _("Erasure of my data")
    RESTRICTION = "restriction", _("Restriction of the processing of my data")
    OBJECTION = "objection", _("Objection to the processing of my data")


class PrivacyRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class PrivacyRequest(ChoiceLabels, models.Model):
    """A person's request about their personal data, made from a complaint's page: its own
    kind of case for the privacy officers, with a deadline (complaints.services.privacy)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="privacy_requests")
    kind = models.CharField(_("request"), max_length=16, choices=PrivacyRequestKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=PrivacyRequestStatus.choices, default=PrivacyRequestStatus.OPEN
    )
    details = models.TextField(_("details"), max_length=5_000, blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(_("e-mail"), max_length=254)
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("due"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer = models.TextField(_("answer"), max_length=5_000, blank=True)

    class Meta:
        verbose_name = _("request about personal data")
        verbose_name_plural = _("requests about personal data")
        indexes = [
            # The privacy officers' queue: open requests, nearest deadline first.
            models.Index(fields=["due_at", "id"], name="privacy_open_idx", condition=Q(status="open")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.complaint_id})"


class AccessKind(models.TextChoices):
    """What a reader did with a case's personal data (an entry of the access log)."""

    CASE_VIEW = "case_view", _("Opened the case")
    ORIGINAL = "original", _("Downloaded an original file")
    COPY = "copy", _("Downloaded a cleaned copy")
    DOSSIER = "dossier", _("Downloaded the dossier (ZIP)")
    EXPORT = "export", _("Exported it in a CSV file")


class AccessRole(models.TextChoices):
    """The reader's role at the time: their highest staff role, else the complainant's."""

    AGENT = "agent", _("Agent")
    TEAM_LEAD = "team_lead", _("Team lead")
    MANAGER = "manager", _("Manager")
    PRIVACY_OFFICER = "privacy_officer", _("Privacy officer")
    ADMINISTRATOR = "administrator", _("Administrator")
    COMPLAINANT = "complainant", _("Complainant")


APPEND_ONLY = "The access log is append-only: its entries are never changed or deleted."


class AccessRecordQuerySet(models.QuerySet):
    """Entries are only ever added: a bulk update or delete through the ORM is refused
    (and PostgreSQL refuses one by any other road: migration complaints/0013's trigger)."""

    def update(self, **kwargs: Any) -> int:
        raise NotSupportedError(APPEND_ONLY)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise NotSupportedError(APPEND_ONLY)

    delete.queryset_only = True  # type: ignore[attr-defined]  # as Django's own: no Manager.delete()


class AccessRecord(ChoiceLabels, models.Model):
    """One reading of a case: who (the account, none for a guest), in which role, what (a view,
    a download, the dossier, an export), when and from which address. Append-only: written by
    `complaints.accesslog`, never changed, never deleted; it names accounts, cases and files
    with PROTECT, so none of those can be deleted from under it either."""

    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("what"), max_length=16, choices=AccessKind.choices)
    # access_case_idx leads with the complaint, so the foreign key needs no index of its own.
    complaint = models.ForeignKey(
        Complaint, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("complaint")
    )
    evidence = models.ForeignKey(
        "evidence.Evidence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("file"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("account"),
    )
    role = models.CharField(_("role"), max_length=16, choices=AccessRole.choices)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            # The whole log, newest first (staff:access_log), paged by (at, id) read backwards.
            models.Index(fields=["at", "id"], name="access_time_idx"),
            # One case's log, newest first (staff:case_access), and handled_by_roles.
            models.Index(fields=["complaint", "at", "id"], name="access_case_idx"),
            # What one person read; also PROTECT's look-up when an account is deleted.
            models.Index(fields=["user", "at"], name="access_user_idx"),
            # A file's downloads, and PROTECT's look-up when a file is deleted; case views and
            # exports name no file and stay out of it.
            models.Index(
                fields=["evidence"], name="access_evidence_idx", condition=Q(evidence__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.role} {when(self.at)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise NotSupportedError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise NotSupportedError(APPEND_ONLY)


class TallyKind(models.TextChoices):
    """What a tally counts (never shown: the dashboard names its own figures)."""

    SUBMITTED = "submitted"  # complaints submitted, per category and week, with their targets
    FIRST_RESPONSE_BREACHES = "first_response_breaches"  # first-response deadlines missed, per week
    RESOLUTION_BREACHES = "resolution_breaches"  # resolution deadlines missed, per week
    OPEN = "open"  # open complaints (the queue statuses), per escalation level
    CAUSES = "causes"  # resolved complaints, per week of resolution, category and cause


class Tally(models.Model):
    """A change to the SLA dashboard's counts, written by PostgreSQL itself: triggers on the
    complaints table add one row per (kind, week, category, level, cause) a statement changed, with
    the difference (see complaints.tallies). Summed, the rows give the dashboard's figures;
    a periodic task folds them into one row per key. Nothing in Python writes them."""

    kind = models.CharField(max_length=24, choices=TallyKind.choices)
    # The Monday of the ISO week in settings.TIME_ZONE: of submission for SUBMITTED, of the
    # breach for the breaches; none for OPEN.
    week = models.DateField(null=True)
    # A plain number (no foreign key): a tally must never lock or hold up a category.
    category_id = models.BigIntegerField(null=True)
    level = models.SmallIntegerField(null=True)
    cause_id = models.BigIntegerField(null=True)
    complaints = models.BigIntegerField(default=0)
    first_response_decided = models.BigIntegerField(default=0)
    first_response_met = models.BigIntegerField(default=0)
    resolution_decided = models.BigIntegerField(default=0)
    resolution_met = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("dashboard tally")
        verbose_name_plural = _("dashboard tallies")

    def __str__(self) -> str:
        return f"{self.kind} {self.week or ''} {self.category_id or ''} {self.level or ''}: {self.complaints}"


class ReportTallyKind(models.TextChoices):
    """What a compliance report tally counts, and the day it is kept by (never shown)."""

    RECEIVED = "received"  # complaints received, with their acknowledgements: by day of receipt
    ACKNOWLEDGE = "acknowledge"  # a regime's deadlines decided: by day met, or day missed
    ACCEPT = "accept"
    FINAL_RESPONSE = "final_response"
    CLOSED = "closed"  # final responses sent: by day sent (and, if soon after, day of receipt)


class ReportTally(models.Model):
    """A change to the compliance report's counts, written by PostgreSQL itself: triggers on the
    complaints table add one row per key a statement changed, with the difference (see
    complaints.report_tallies). Summed, the rows give the report's figures; a periodic task
    folds them into one row per key. Nothing in Python writes them."""

    kind = models.CharField(max_length=16, choices=ReportTallyKind.choices)
    # The day in settings.TIME_ZONE (as the report's periods are) of what was counted: receipt,
    # the deadline met or missed, the final response sent.
    day = models.DateField(null=True)
    # A plain number (no foreign key): a tally must never lock or hold up a regime.
    regime_id = models.BigIntegerField()
    # CLOSED only, and only for a final response sent within report_tallies.RECENT_DAYS days of
    # receipt: the days of receipt and of the response in the regime calendar's time zone
    # (`calendar_zone`), from which the report tells whether it came within 3 business days.
    received_on = models.DateField(null=True)
    closed_on = models.DateField(null=True)
    calendar_zone = models.CharField(max_length=64, blank=True, default="")
    received = models.BigIntegerField(default=0)
    acknowledge_due = models.BigIntegerField(default=0)
    acknowledged_in_time = models.BigIntegerField(default=0)
    acknowledged_late = models.BigIntegerField(default=0)
    met = models.BigIntegerField(default=0)
    missed = models.BigIntegerField(default=0)
    breached = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    closed_in_deadline = models.BigIntegerField(default=0)
    closed_with_outcome = models.BigIntegerField(default=0)
    upheld = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("compliance report tally")
        verbose_name_plural = _("compliance report tallies")
        indexes = [
            # complaint.report_tallies.read: the days of a period.
            models.Index(fields=["day"], name="report_tally_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.day or ''} {self.regime_id}"
