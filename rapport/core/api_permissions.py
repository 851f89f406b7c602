"""Deny by default. Kept apart from `api.py` because DRF imports it while DRF itself loads."""

from rest_framework import permissions


class DenyAll(permissions.BasePermission):
    """The default permission: an endpoint that declares nothing allows nothing."""

    def has_permission(self, request, view) -> bool:
        return False
