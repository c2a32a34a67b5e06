"""Service items (政务服务事项) and the bundles (一件事) built from them."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from . import dag as dag_utils
from .fieldtypes import TYPE_LABELS, FieldSpec

field_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$",
    _("字段键由小写字母、数字、下划线组成，可用点号分段，如 child.birth_date。"),
)


class FormField(models.Model):
    """One entry of the shared field dictionary; an item that needs it names it by key."""

    key = models.CharField(
        _("字段键"), max_length=64, unique=True, validators=[field_key_validator]
    )
    label = models.CharField(_("名称"), max_length=64)
    type = models.CharField(
        _("类型"), max_length=32, choices=list(TYPE_LABELS.items()), default="text"
    )
    required = models.BooleanField(_("必填"), default=True)
    options = models.JSONField(_("可选值"), default=list, blank=True)
    max_length = models.PositiveSmallIntegerField(_("最大长度"), default=200)
    section = models.CharField(_("分组"), max_length=64, blank=True)
    position = models.PositiveIntegerField(_("排序"), default=0)
    help_text = models.CharField(_("填写说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("表单字段")
        verbose_name_plural = _("表单字段（字段字典）")
        ordering = ["position", "key"]

    def __str__(self):
        return f"{self.label} ({self.key})"

    def clean(self):
        if self.type == "choice" and not self.options:
            raise ValidationError({"options": _("选项类型的字段必须列出可选值。")})

    def spec(self) -> FieldSpec:
        return FieldSpec(
            key=self.key,
            label=self.label,
            type=self.type,
            required=self.required,
            options=tuple(self.options or ()),
            max_length=self.max_length,
            section=self.section,
            help_text=self.help_text,
        )


class MaterialType(models.Model):
    """A document an item asks for; uploaded once even when several items need it."""

    code = models.SlugField(_("材料代码"), max_length=64, unique=True)
    name = models.CharField(_("材料名称"), max_length=100)
    required = models.BooleanField(_("必须提交"), default=True)
    accepted_types = models.JSONField(
        _("接受的文件类型"), default=list, help_text=_('如 ["pdf", "jpg", "png"]')
    )
    max_size_mb = models.PositiveSmallIntegerField(_("大小上限（MB）"), default=10)
    may_follow_later = models.BooleanField(_("可容缺后补"), default=False)
    e_certificate = models.BooleanField(_("可用电子证照替代"), default=False)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ServiceItem(models.Model):
    """A government service item handled by one department."""

    code = models.SlugField(_("事项代码"), max_length=64, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    department = models.ForeignKey(
        "departments.Department", on_delete=models.PROTECT, verbose_name=_("承办部门")
    )
    time_limit_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"), default=5)
    description = models.TextField(_("说明"), blank=True)
    fields = models.ManyToManyField(FormField, blank=True, verbose_name=_("需要的表单字段"))
    materials = models.ManyToManyField(MaterialType, blank=True, verbose_name=_("需要的材料"))

    class Meta:
        verbose_name = _("政务服务事项")
        verbose_name_plural = _("政务服务事项")
        ordering = ["code"]

    def __str__(self):
        return self.name


class BundleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(state=Bundle.State.PUBLISHED)


class Bundle(FSMModelMixin, models.Model):
    """One version of a 一件事: items, the dependencies between them, which are optional."""

    class Audience(models.TextChoices):
        INDIVIDUAL = "individual", _("个人")
        ENTERPRISE = "enterprise", _("企业")

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        UNPUBLISHED = "unpublished", _("已下架")

    code = models.SlugField(_("一件事代码"), max_length=64)
    version = models.PositiveIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    audience = models.CharField(_("服务对象"), max_length=16, choices=Audience.choices)
    description = models.TextField(_("说明"), blank=True)
    state = FSMField(_("状态"), default=State.DRAFT, choices=State.choices, protected=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    objects = BundleQuerySet.as_manager()

    class Meta:
        verbose_name = _("一件事")
        verbose_name_plural = _("一件事")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="unique_bundle_version"),
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(state="published"),
                name="one_published_version_per_bundle",
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @transition(field=state, source=[State.DRAFT, State.UNPUBLISHED], target=State.PUBLISHED)
    def publish(self):
        from django.utils import timezone

        self.published_at = timezone.now()

    @transition(field=state, source=State.PUBLISHED, target=State.UNPUBLISHED)
    def unpublish(self):
        pass

    # --- the graph --------------------------------------------------------------------------
    def bundle_items(self) -> list["BundleItem"]:
        return list(
            self.items.select_related("item__department")
            .prefetch_related("depends_on__item", "item__fields", "item__materials")
            .order_by("position", "id")
        )

    def dag(self, bundle_items=None) -> dict[str, frozenset[str]]:
        bundle_items = self.bundle_items() if bundle_items is None else bundle_items
        return {
            bi.item.code: frozenset(dep.item.code for dep in bi.depends_on.all())
            for bi in bundle_items
        }

    def problems(self) -> list[str]:
        """What stops this bundle from running, in words an administrator can act on."""
        bundle_items = self.bundle_items()
        problems = []
        if not bundle_items:
            problems.append(_("一件事至少要包含一个事项。"))
        for bi in bundle_items:
            for dep in bi.depends_on.all():
                if dep.bundle_id != self.pk:
                    problems.append(
                        _("“%(item)s”依赖的“%(dep)s”不在本一件事中。")
                        % {"item": bi.item.name, "dep": dep.item.name}
                    )
            try:
                bi.item.department.full_clean(exclude=["code"])
            except ValidationError:
                problems.append(
                    _("“%(item)s”的承办部门“%(dept)s”未配置好办理方式。")
                    % {"item": bi.item.name, "dept": bi.item.department.name}
                )
        cycle = dag_utils.find_cycle(self.dag(bundle_items))
        if cycle:
            problems.append(_("事项之间存在循环依赖：%(cycle)s。") % {"cycle": " → ".join(cycle)})
        return problems


class BundleItem(models.Model):
    """An item's place in a bundle version: after which items, optional or not."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, verbose_name=_("事项"))
    optional = models.BooleanField(_("选办"), default=False)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents", verbose_name=_("前置事项")
    )

    class Meta:
        verbose_name = _("一件事包含的事项")
        verbose_name_plural = _("一件事包含的事项")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "item"], name="unique_item_per_bundle")
        ]

    def __str__(self):
        return f"{self.bundle.code}: {self.item.name}"
