"""Accounts over the API: registration (with its SMS code), tokens, logout — the same rules
as the web pages (accounts.forms, accounts.services)."""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import get_token_model
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.throttling import throttle

from . import second_factor, services
from .forms import RegistrationForm


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=128)
    real_name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=32)
    mobile = serializers.CharField(max_length=20)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    credit_code = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="",
        help_text=_("以企业经办人身份注册时填写"),
    )  # fmt: skip
    enterprise_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


#: The web form's field names, as the API calls them.
API_NAMES = {"password1": "password", "password2": "password"}


class RegisterView(APIView):
    """Open a citizen account, step one: a code goes by SMS to complete it (step two)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [throttle("register")]

    @extend_schema(
        request=RegisterSerializer,
        responses={
            202: inline_serializer(
                "RegistrationStarted",
                {"verification": serializers.UUIDField(), "detail": serializers.CharField()},
            )
        },
    )
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        form = RegistrationForm(
            {
                **{k: v for k, v in values.items() if k != "password"},
                "password1": values["password"],
                "password2": values["password"],
                "account_type": "enterprise" if values["credit_code"] else "individual",
            }
        )
        if not form.is_valid():
            errors = {API_NAMES.get(k, k): list(v) for k, v in form.errors.items()}
            return Response(
                {"detail": next(iter(errors.values()))[0], "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        verification, sent = services.start_registration(form.registration_data())
        return Response(
            {"verification": verification.pk, "detail": sent}, status=status.HTTP_202_ACCEPTED
        )


class VerifySerializer(serializers.Serializer):
    verification = serializers.UUIDField()
    code = serializers.CharField(max_length=6)


class RegisterVerifyView(APIView):
    """Open a citizen account, step two: the code from the SMS."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [throttle("register")]

    @extend_schema(
        request=VerifySerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "real_name": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request):
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.complete_registration(
                data.validated_data["verification"], data.validated_data["code"]
            )
        except services.AccountRefused as exc:
            return Response(
                {"detail": exc.messages[0], "errors": exc.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"id": user.pk, "username": user.username, "real_name": user.real_name},
            status=status.HTTP_201_CREATED,
        )


class TokenSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=6, required=False, allow_blank=True, default="",
        help_text=_("开启两步验证的账户（管理员必须开启）：身份验证器上的6位验证码"),
    )  # fmt: skip


class TokenView(APIView):
    """Exchange username and password (and, where set up, the one-time code) for a token:
    send ``Authorization: Token …``. Tokens expire; logout and a password change end them."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [throttle("login")]

    @extend_schema(
        request=TokenSerializer,
        responses={
            200: inline_serializer(
                "Token", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            )
        },
    )
    def post(self, request):
        data = TokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, so that django-axes counts and locks API logins like web ones.
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            return Response(
                {"detail": _("用户名或密码不正确。")}, status=status.HTTP_400_BAD_REQUEST
            )
        if second_factor.required(user):
            if second_factor.confirmed_device(user) is None:
                return Response(
                    {
                        "detail": _("管理员账户须先在网页上设置两步验证。"),
                        "errors": {"otp": ["required"]},
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if second_factor.check_token(user, data.validated_data["otp"]) is None:
                return Response(
                    {
                        "detail": _("请填写正确的两步验证码。"),
                        "errors": {"otp": [_("验证码不正确。")]},
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
        token, key = get_token_model().objects.create(user=user)
        # A login like the web's: django-axes resets the failure count, last_login is set.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": key, "expiry": token.expiry})


class LogoutView(APIView):
    """End the token this request carries."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.auth is not None and hasattr(request.auth, "delete"):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """End every token of the account (all devices)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        from .tokens import revoke_all

        revoke_all(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
