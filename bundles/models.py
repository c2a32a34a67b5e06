"""Service items (政务服务事项) and the bundles (一件事) built from them.

A bundle is versioned: publishing freezes a version, and an application keeps pointing at
the version it was submitted under. Editing a published bundle means starting a new draft
version (``bundles.services.new_draft_version``).
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from . import dag as dag_utils
from .eligibility import rule_choices
from .fieldtypes import TYPE_LABELS, FieldSpec, spec_from_dict

field_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$",
    _("字段键由小写字母、数字、下划线组成，可用点号分段，如 child.birth_date。"),
)
code_validator = RegexValidator(r"^[a-z0-9_]+$", _("代码只能由小写字母、数字和下划线组成。"))


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
    min_value = models.FloatField(_("最小值"), null=True, blank=True)
    max_value = models.FloatField(_("最大值"), null=True, blank=True)
    item_fields = models.JSONField(
        _("分组子字段"), default=list, blank=True, help_text=_("重复分组类型的子字段定义列表。")
    )
    min_items = models.PositiveSmallIntegerField(_("最少条数"), default=1)
    max_items = models.PositiveSmallIntegerField(_("最多条数"), default=20)
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
        if self.type == "group":
            if not self.item_fields:
                raise ValidationError({"item_fields": _("重复分组必须定义子字段。")})
            try:
                self.spec()
            except (KeyError, TypeError, ValueError) as exc:
                raise ValidationError(
                    {"item_fields": _("子字段定义有误：%(e)s") % {"e": exc}}
                ) from None
        if self.min_items > self.max_items:
            raise ValidationError({"max_items": _("最多条数不能小于最少条数。")})

    def spec(self) -> FieldSpec:
        return FieldSpec(
            key=self.key,
            label=self.label,
            type=self.type,
            required=self.required,
            options=tuple(self.options or ()),
            max_length=self.max_length,
            min_value=self.min_value,
            max_value=self.max_value,
            item_fields=tuple(spec_from_dict(f) for f in self.item_fields or ()),
            min_items=self.min_items,
            max_items=self.max_items,
            section=self.section,
            help_text=self.help_text,
        )


class MaterialType(models.Model):
    """A document an item asks for; uploaded once even when several items need it."""

    code = models.CharField(_("材料代码"), max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(_("材料名称"), max_length=100)
    required = models.BooleanField(_("必须提交"), default=True)
    accepted_types = models.JSONField(
        _("接受的文件类型"), default=list, help_text=_('如 ["pdf", "jpg", "png"]')
    )
    max_size_mb = models.PositiveSmallIntegerField(_("大小上限（MB）"), default=10)
    may_follow_later = models.BooleanField(_("可容缺后补"), default=False)
    e_certificate = models.BooleanField(_("可用电子证照替代"), default=False)
    description = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ServiceItem(models.Model):
    """A government service item handled by one department."""

    code = models.CharField(_("事项代码"), max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(_("事项名称"), max_length=100)
    department = models.ForeignKey(
        "departments.Department", on_delete=models.PROTECT, verbose_name=_("承办部门")
    )
    time_limit_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"), default=5)
    before_days = models.PositiveSmallIntegerField(_("改革前时限（工作日）"), null=True, blank=True)
    description = models.TextField(_("说明"), blank=True)
    fields = models.ManyToManyField(FormField, blank=True, verbose_name=_("需要的表单字段"))
    materials = models.ManyToManyField(MaterialType, blank=True, verbose_name=_("需要的材料"))

    class Meta:
        verbose_name = _("政务服务事项")
        verbose_name_plural = _("政务服务事项")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.department}）" if self.department_id else self.name


class BundleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(state=Bundle.State.PUBLISHED)


DELIVERY_CHOICES = ["mail", "pickup", "electronic"]


class Bundle(FSMModelMixin, models.Model):
    """One version of a 一件事: items, the dependencies between them, which are optional."""

    class Audience(models.TextChoices):
        INDIVIDUAL = "individual", _("个人")
        ENTERPRISE = "enterprise", _("企业")

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        UNPUBLISHED = "unpublished", _("已下架")

    code = models.CharField(_("一件事代码"), max_length=64, validators=[code_validator])
    version = models.PositiveIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    audience = models.CharField(_("服务对象"), max_length=16, choices=Audience.choices)
    life_event = models.CharField(_("主题"), max_length=64, blank=True)
    keywords = models.JSONField(_("关键词"), default=list, blank=True)
    batch = models.CharField(_("所属清单"), max_length=100, blank=True)
    lead_department = models.ForeignKey(
        "departments.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_bundles",
        verbose_name=_("牵头部门"),
    )
    description = models.TextField(_("说明"), blank=True)
    source = models.CharField(
        _("依据"),
        max_length=300,
        blank=True,
        help_text=_("所依据的文件或办事指南；无依据时写 modelled。"),
    )
    savings = models.JSONField(
        _("改革成效"),
        default=dict,
        blank=True,
        help_text=_('改革前后对比，如 {"visits": [4, 1], "materials": [9, 2], "days": [32, 5]}'),
    )
    delivery_options = models.JSONField(_("送达方式"), default=list, blank=True)
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

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT

    @transition(field=state, source=[State.DRAFT, State.UNPUBLISHED], target=State.PUBLISHED)
    def publish(self):
        self.published_at = timezone.now()

    @transition(field=state, source=State.PUBLISHED, target=State.UNPUBLISHED)
    def unpublish(self):
        pass

    def clean(self):
        for option in self.delivery_options or ():
            if option not in DELIVERY_CHOICES:
                raise ValidationError(
                    {
                        "delivery_options": _("送达方式只能是 %(c)s。")
                        % {"c": ", ".join(DELIVERY_CHOICES)}
                    }
                )

    # --- the graph --------------------------------------------------------------------------
    def bundle_items(self) -> list["BundleItem"]:
        return list(
            self.items.select_related("item__department")
            .prefetch_related("depends_on", "item__fields", "item__materials")
            .order_by("position", "id")
        )

    def dag(self, bundle_items=None) -> dict[str, frozenset[str]]:
        bundle_items = self.bundle_items() if bundle_items is None else bundle_items
        return {
            bi.item.code: frozenset(dep.code for dep in bi.depends_on.all()) for bi in bundle_items
        }

    def problems(self) -> list[str]:
        """What stops this bundle from running, in words an administrator can act on."""
        return bundle_problems([(bi.item, list(bi.depends_on.all())) for bi in self.bundle_items()])


def bundle_problems(entries) -> list[str]:
    """Check a bundle given as [(ServiceItem, [ServiceItem it depends on]), ...].

    Shared by the admin (before anything is saved) and by publishing.
    """
    problems = []
    if not entries:
        problems.append(_("一件事至少要包含一个事项。"))
    codes = [item.code for item, _deps in entries]
    seen = set()
    for item, deps in entries:
        if item.code in seen:
            problems.append(_("事项“%(item)s”重复出现。") % {"item": item.name})
        seen.add(item.code)
        for dep in deps:
            if dep.code not in codes:
                problems.append(
                    _(
                        "“%(item)s”的前置事项“%(dep)s”不在本一件事中：请把它加入本一件事，或删去这条依赖。"
                    )
                    % {"item": item.name, "dep": dep.name}
                )
            if dep.code == item.code:
                problems.append(_("“%(item)s”不能依赖它自己。") % {"item": item.name})
        department = item.department
        try:
            department.full_clean(exclude=["code"], validate_unique=False)
        except ValidationError:
            problems.append(
                _(
                    "“%(item)s”的承办部门“%(dept)s”未配置好办理方式（系统对接须填写地址和密钥）：请先在“部门”中补全。"
                )
                % {"item": item.name, "dept": department.name}
            )
    graph = {item.code: {d.code for d in deps if d.code in codes} for item, deps in entries}
    cycle = dag_utils.find_cycle(graph)
    if cycle:
        names = {item.code: item.name for item, _deps in entries}
        problems.append(
            _("事项之间存在循环依赖：%(cycle)s。请删去其中一条依赖。")
            % {"cycle": " → ".join(names[c] for c in cycle)}
        )
    return problems


class BundleItem(models.Model):
    """An item's place in a bundle version: after which items, optional or not."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, verbose_name=_("事项"))
    optional = models.BooleanField(_("选办"), default=False)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    depends_on = models.ManyToManyField(
        ServiceItem,
        blank=True,
        related_name="+",
        verbose_name=_("前置事项"),
        help_text=_("须在本事项之前办结的事项，必须也在本一件事中。"),
    )

    class Meta:
        verbose_name = _("一件事包含的事项")
        verbose_name_plural = _("一件事包含的事项")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "item"], name="unique_item_per_bundle")
        ]

    def __str__(self):
        return self.item.name


class EligibilityRule(models.Model):
    """A condition an applicant must meet to apply for a bundle (e.g. child under one year)."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="eligibility_rules")
    rule = models.CharField(_("规则"), max_length=32, choices=rule_choices)
    field = models.ForeignKey(FormField, on_delete=models.PROTECT, verbose_name=_("字段"))
    value = models.JSONField(_("参数"))
    message = models.CharField(_("不符合时的说明"), max_length=200)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("申请条件")
        verbose_name_plural = _("申请条件")
        ordering = ["position", "id"]

    def __str__(self):
        return self.message

    def clean(self):
        from .eligibility import RULES, RuleError

        if self.rule not in RULES:
            raise ValidationError({"rule": _("未知的规则：%(r)s。") % {"r": self.rule}})
        if self.field_id:
            try:
                RULES[self.rule].check_definition(self.field.type, self.value)
            except RuleError as exc:
                raise ValidationError({"value": str(exc)}) from None
