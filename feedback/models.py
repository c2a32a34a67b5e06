"""好差评 (ratings of a finished application) and follow-ups: low ratings and 办不成事 reports."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Rating(models.Model):
    """One rating per application, by its applicant, once it has ended (国办发〔2019〕51号)."""

    class Score(models.IntegerChoices):
        VERY_SATISFIED = 5, _("非常满意")
        SATISFIED = 4, _("满意")
        BASICALLY_SATISFIED = 3, _("基本满意")
        DISSATISFIED = 2, _("不满意")
        VERY_DISSATISFIED = 1, _("非常不满意")

    application = models.OneToOneField(
        "applications.Application", on_delete=models.CASCADE, related_name="rating"
    )
    score = models.PositiveSmallIntegerField(_("评价"), choices=Score.choices)
    comment = models.TextField(_("意见"), blank=True, max_length=1000)
    created_at = models.DateTimeField(_("评价时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价（好差评）")

    def __str__(self):
        return self.get_score_display()

    @property
    def is_poor(self) -> bool:
        """不满意 and 非常不满意 are a 差评: someone must follow it up."""
        return self.score <= self.Score.DISSATISFIED


class FollowUp(models.Model):
    """Something a supervisor must answer: a 差评, or a report that a thing could not be done."""

    class Kind(models.TextChoices):
        POOR_RATING = "poor_rating", _("差评回访")
        CANNOT_GET_DONE = "cannot_get_done", _("办不成事反映")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ANSWERED = "answered", _("已答复")

    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_ups_reported"
    )
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    department = models.ForeignKey(
        "departments.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("负责的部门；空表示由中心督办。"),
    )
    description = models.TextField(_("情况说明"), max_length=2000)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    deadline = models.DateField(_("办理期限"), null=True, blank=True)
    deadline_note = models.CharField(_("期限说明"), max_length=200, blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups_handled",
    )
    created_at = models.DateTimeField(_("反映时间"), auto_now_add=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["status", "deadline", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"
