"""Own profile and own API tokens pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import forms, services
from ..models import ApiToken, User
from ._common import _call, _message_call, can_request_accounts


@login_required
def profile(request):
    user = request.user
    profile_form = forms.ProfileForm(
        initial={
            "display_name": user.display_name,
            "phone": user.phone,
            "language": user.language,
            "timezone": user.timezone,
        }
    )
    password_form = forms.PasswordChangeForm(user=user)
    if request.method == "POST" and request.POST.get("section") == "password":
        password_form = forms.PasswordChangeForm(request.POST, user=user)
        if password_form.is_valid() and _call(
            password_form,
            services.user_set_password,
            actor=user,
            user=user,
            password=password_form.cleaned_data["password"],
        ):
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("identity:profile")
    elif request.method == "POST":
        profile_form = forms.ProfileForm(request.POST)
        if profile_form.is_valid():
            fresh = User.objects.get(pk=user.pk)
            if _call(
                profile_form,
                services.user_update,
                actor=user,
                user=fresh,
                **profile_form.cleaned_data,
            ):
                messages.success(request, _("Your profile has been saved."))
                return redirect("identity:profile")
    return render(
        request,
        "identity/profile.html",
        {
            "profile_form": profile_form,
            "password_form": password_form,
            "can_request": can_request_accounts(user),
        },
    )


@login_required
def tokens(request):
    form = forms.TokenForm()
    secret = None
    if request.method == "POST":
        form = forms.TokenForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["days"]
            result = _call(
                form,
                services.token_create,
                actor=request.user,
                name=form.cleaned_data["name"],
                days=days if days is not None else settings.API_TOKEN_DEFAULT_DAYS,
            )
            if result:
                _token, secret = result
                form = forms.TokenForm()
    return render(
        request,
        "identity/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        },
    )


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    _message_call(request, services.token_revoke, actor=request.user, token=token)
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return redirect("identity:tokens")
