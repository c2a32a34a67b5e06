from rest_framework import permissions, serializers, viewsets

from .models import Bundle, BundleItem, MaterialType
from .services import bundle_form_schema


class MaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialType
        fields = [
            "code",
            "name",
            "required",
            "accepted_types",
            "max_size_mb",
            "may_follow_later",
            "e_certificate",
        ]


class BundleItemSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    department = serializers.SerializerMethodField()
    depends_on = serializers.SerializerMethodField()
    time_limit_days = serializers.IntegerField(source="item.time_limit_days")
    materials = MaterialSerializer(source="item.materials", many=True)

    class Meta:
        model = BundleItem
        fields = [
            "code",
            "name",
            "department",
            "depends_on",
            "optional",
            "time_limit_days",
            "materials",
        ]

    def get_department(self, bundle_item) -> dict:
        department = bundle_item.item.department
        return {"code": department.code, "name": department.name}

    def get_depends_on(self, bundle_item) -> list[str]:
        return sorted(dep.code for dep in bundle_item.depends_on.all())


class BundleSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    materials = serializers.SerializerMethodField()
    form_schema = serializers.SerializerMethodField()

    class Meta:
        model = Bundle
        fields = [
            "code",
            "version",
            "name",
            "audience",
            "description",
            "published_at",
            "items",
            "materials",
            "form_schema",
        ]

    def get_items(self, bundle) -> list[dict]:
        return BundleItemSerializer(bundle.bundle_items(), many=True).data

    def get_materials(self, bundle) -> list[dict]:
        seen = {}
        for bundle_item in bundle.bundle_items():
            for material in bundle_item.item.materials.all():
                seen.setdefault(material.code, material)
        return MaterialSerializer(seen.values(), many=True).data

    def get_form_schema(self, bundle) -> dict:
        return bundle_form_schema(bundle)


class BundleViewSet(viewsets.ReadOnlyModelViewSet):
    """Published bundles: their items, materials and one application form."""

    permission_classes = [permissions.AllowAny]
    serializer_class = BundleSerializer
    lookup_field = "code"
    lookup_value_converter = "code"
    queryset = Bundle.objects.published().order_by("code")
