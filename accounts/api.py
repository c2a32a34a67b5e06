from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import text as text_rules

from .validators import clean_mobile, clean_resident_id

User = get_user_model()


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    password = serializers.CharField(write_only=True, max_length=128)
    real_name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=32)
    mobile = serializers.CharField(max_length=20)

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError(_("该用户名已被使用。"))
        return value

    def validate_real_name(self, value):
        try:
            value = text_rules.check(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        if text_rules.is_blank(value):
            raise serializers.ValidationError(_("请填写真实姓名。"))
        return value

    def validate_id_number(self, value):
        try:
            value = clean_resident_id(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        if User.objects.filter(id_number=value).exists():
            raise serializers.ValidationError(_("该身份证号码已注册，请直接登录。"))
        return value

    def validate_mobile(self, value):
        try:
            return clean_mobile(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        candidate = User(username=attrs["username"], first_name=attrs["real_name"])
        try:
            validate_password(attrs["password"], candidate)
        except ValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from None
        return attrs


class RegisterView(APIView):
    """Open a citizen account with real-name details."""

    permission_classes = [permissions.AllowAny]
    throttle_scope = "register"

    @extend_schema(request=RegisterSerializer, responses={201: None})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                user = User.objects.create_user(**data.validated_data)
        except IntegrityError:
            return Response(
                {"detail": _("该用户名或身份证号码已注册。")}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            {"id": user.pk, "username": user.username, "real_name": user.real_name},
            status=status.HTTP_201_CREATED,
        )


class TokenView(ObtainAuthToken):
    """Exchange username and password for a token: send ``Authorization: Token …``."""
